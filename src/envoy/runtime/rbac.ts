// RBAC as Envoy evaluates envoy.config.rbac.v3: source/extensions/filters/common/rbac/engine_impl.cc
// (RoleBasedAccessControlEngineImpl::handleAction / checkPolicyMatch: policies in name order, the first that matches)
// and matchers.cc (AndMatcher, OrMatcher, NotMatcher, HeaderMatcher, PathMatcher, IPMatcher, PortMatcher,
// AuthenticatedMatcher, MetadataMatcher, PolicyMatcher: any permission and any principal).
import { BlockList, isIP } from 'node:net';
import type { CidrRange, Permission, Policy, Principal, Rbac } from '../model/index.ts';
import { matchHeader, matchMetadata, matchString, type DynamicMetadata, type Headers } from './matchers.ts';
import { pathWithoutQuery } from './routes.ts';

/** What RBAC sees of a request and its connection. */
export interface RbacFacts {
  /** Request headers by lower-case name, pseudo-headers (:method, :path, :authority) included. */
  headers: Headers;
  /** The local (destination) address and port of the downstream connection. */
  destinationIp?: string;
  destinationPort?: number;
  /** The downstream connection's peer address. */
  directRemoteIp?: string;
  /** The client address after trusted X-Forwarded-For hops; the direct peer unless given. */
  remoteIp?: string;
  /** The mTLS peer's URI SAN (spiffe://…); undefined when the connection is not mutual TLS. */
  peerPrincipal?: string;
  requestedServerName?: string;
  metadata?: DynamicMetadata;
}

export interface RbacDecision {
  allowed: boolean;
  /** The policy that matched (the reason for an ALLOW or a DENY), if any. */
  matchedPolicy?: string;
}

/** RoleBasedAccessControlEngineImpl::handleAction: ALLOW needs a matching policy, DENY refuses on one, LOG allows. */
export function evaluateRbac(rbac: Rbac, facts: RbacFacts): RbacDecision {
  // In name order, as Object.keys(...).sort() orders them (UTF-16 code units).
  const policies = Object.entries(rbac.policies ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const matchedPolicy = policies.find(([, policy]) => matchPolicy(policy, facts))?.[0];
  const action = rbac.action ?? 'ALLOW';
  const allowed = action === 'ALLOW' ? matchedPolicy !== undefined : action === 'DENY' ? matchedPolicy === undefined : true;
  return matchedPolicy === undefined ? { allowed } : { allowed, matchedPolicy };
}

export function matchPolicy(policy: Policy, facts: RbacFacts): boolean {
  return policy.permissions.some((p) => matchPermission(p, facts)) && policy.principals.some((p) => matchPrincipal(p, facts));
}

export function matchPermission(p: Permission, facts: RbacFacts): boolean {
  if (p.and_rules) return p.and_rules.rules.every((r) => matchPermission(r, facts));
  if (p.or_rules) return p.or_rules.rules.some((r) => matchPermission(r, facts));
  if (p.not_rule) return !matchPermission(p.not_rule, facts);
  if (p.any !== undefined) return p.any;
  if (p.header) return matchHeader(p.header, facts.headers);
  if (p.url_path) return matchUrlPath(p.url_path.path, facts);
  if (p.destination_port !== undefined) return facts.destinationPort === p.destination_port;
  if (p.destination_port_range) {
    const port = facts.destinationPort;
    return port !== undefined && port >= p.destination_port_range.start && port < p.destination_port_range.end;
  }
  if (p.destination_ip) return inCidr(p.destination_ip, facts.destinationIp);
  if (p.metadata) return matchMetadata(p.metadata, facts.metadata);
  if (p.requested_server_name) return matchString(p.requested_server_name, facts.requestedServerName ?? '');
  throw new Error('RBAC permission: no rule is set');
}

export function matchPrincipal(p: Principal, facts: RbacFacts): boolean {
  if (p.and_ids) return p.and_ids.ids.every((id) => matchPrincipal(id, facts));
  if (p.or_ids) return p.or_ids.ids.some((id) => matchPrincipal(id, facts));
  if (p.not_id) return !matchPrincipal(p.not_id, facts);
  if (p.any !== undefined) return p.any;
  if (p.authenticated) {
    // AuthenticatedMatcher: needs a TLS peer; without principal_name any authenticated peer matches.
    if (facts.peerPrincipal === undefined) return false;
    return p.authenticated.principal_name === undefined || matchString(p.authenticated.principal_name, facts.peerPrincipal);
  }
  if (p.direct_remote_ip) return inCidr(p.direct_remote_ip, facts.directRemoteIp);
  if (p.remote_ip) return inCidr(p.remote_ip, facts.remoteIp ?? facts.directRemoteIp);
  if (p.header) return matchHeader(p.header, facts.headers);
  if (p.url_path) return matchUrlPath(p.url_path.path, facts);
  if (p.metadata) return matchMetadata(p.metadata, facts.metadata);
  throw new Error('RBAC principal: no identifier is set');
}

/** PathMatcher: the :path without query and fragment; no :path matches nothing. */
function matchUrlPath(matcher: Parameters<typeof matchString>[0], facts: RbacFacts): boolean {
  const path = facts.headers[':path'];
  if (typeof path !== 'string') return false;
  return matchString(matcher, pathWithoutQuery(path));
}

/** IPMatcher: the address is in the range, of the same family. */
export function inCidr(range: CidrRange, address: string | undefined): boolean {
  if (address === undefined) return false;
  const family = isIP(range.address_prefix);
  if (family === 0) throw new Error(`RBAC CidrRange: "${range.address_prefix}" is not an IP address`);
  if (isIP(address) !== family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  list.addSubnet(range.address_prefix, range.prefix_len ?? 0, type);
  return list.check(address, type);
}
