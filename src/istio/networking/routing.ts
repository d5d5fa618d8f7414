// Route selection as Envoy does it from Istio's config: pick the VirtualService for a host, the first HTTP rule
// whose match applies (several match blocks ORed, conditions inside one ANDed), then a weighted destination.
import type { HttpMatch, HttpRoute, RouteDestination, StringMatcher, VirtualServiceModel } from './model.ts';
import { matchesString } from './string-match.ts';

export const clusterDomain = 'svc.cluster.local';

/** `reviews` → `reviews.default.svc.cluster.local` (the forms Kubernetes DNS resolves in one namespace). */
/**
 * A host as a resource names it, resolved as istiod resolves VirtualService hosts and destinations
 * (pkg/config/model.go ResolveShortnameToFQDN with the CRD store's domain cluster.local): only a name without a dot
 * becomes `<name>.<namespace>.svc.cluster.local`; anything with a dot (`reviews.default`, an FQDN, a wildcard) is
 * taken as written — so `reviews.default` names no Kubernetes Service.
 */
export function resolveShortname(host: string, namespace = 'default'): string {
  const h = host.toLowerCase();
  if (h === '*' || h.includes('.')) return h;
  return `${h}.${namespace}.${clusterDomain}`;
}

/** The Service FQDN an HTTP authority's host names, the ways Envoy's virtual host domains accept it (`reviews`,
 * `reviews.default`, `reviews.default.svc`, the FQDN). Not for hosts written in resources: see resolveShortname. */
export function fqdn(host: string, namespace = 'default'): string {
  const h = host.toLowerCase();
  if (h === '*' || h.startsWith('*.')) return h;
  if (h.endsWith(`.${clusterDomain}`)) return h;
  const parts = h.split('.');
  if (parts.length === 1) return `${h}.${namespace}.${clusterDomain}`;
  if (parts.length === 2) return `${h}.${clusterDomain}`;
  if (parts.length === 3 && parts[2] === 'svc') return `${h}.cluster.local`;
  return h;
}

/** How specifically `pattern` matches `host`: exact > longer wildcard > `*`; -1 when it does not match. */
export function hostMatchScore(pattern: string, host: string): number {
  if (pattern === host) return 10_000;
  if (pattern === '*') return 0;
  if (pattern.startsWith('*.') && host.endsWith(pattern.slice(1))) return pattern.length;
  return -1;
}

export interface RequestFacts {
  /** Path without the query string. */
  path: string;
  query: string;
  method: string;
  authority: string;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  port: number;
  scheme: string;
  /** `mesh` for sidecars, the Gateway name for the ingress. */
  gateway: string;
  sourceLabels: Record<string, string>;
  sourceNamespace: string;
  /** The verified JWT payload of this request at this proxy (the gateway's jwt_authn), if any. */
  claims?: Record<string, unknown>;
}

/**
 * An Envoy metadata matcher on jwt_authn's payload as istiod writes it (authz/matcher/metadata.go
 * MetadataListMatcher with the extended JWT form): a string claim matches, or any string element of a list claim.
 */
function claimMatches(claims: Record<string, unknown> | undefined, path: string[], matcher: StringMatcher): boolean {
  let v: unknown = claims;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    v = (v as Record<string, unknown>)[key];
  }
  if (typeof v === 'string') return matchesString(matcher, v);
  if (Array.isArray(v)) return v.some((e) => typeof e === 'string' && matchesString(matcher, e));
  return false;
}

function header(facts: RequestFacts, name: string): string | undefined {
  const v = facts.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

let queryCache: { query: string; params: URLSearchParams } | undefined;
function queryParam(facts: RequestFacts, name: string): string | undefined {
  if (facts.query === '') return undefined;
  if (queryCache?.query !== facts.query) queryCache = { query: facts.query, params: new URLSearchParams(facts.query) };
  return queryCache.params.get(name) ?? undefined;
}

export function matchApplies(m: HttpMatch, facts: RequestFacts): boolean {
  if (m.uri && !matchesString(m.uri, facts.path, m.ignoreUriCase)) return false;
  if (m.method && !matchesString(m.method, facts.method)) return false;
  if (m.scheme && !matchesString(m.scheme, facts.scheme)) return false;
  if (m.authority && !matchesString(m.authority, facts.authority)) return false;
  if (m.port !== undefined && m.port !== facts.port) return false;
  // route.go sourceMatchHTTP: a match naming gateways is decided by them alone (its sourceLabels and
  // sourceNamespace are not looked at); otherwise by sourceLabels and sourceNamespace.
  if (m.gateways && m.gateways.length > 0) {
    if (!m.gateways.includes(facts.gateway)) return false;
  } else {
    if (m.sourceNamespace !== undefined && m.sourceNamespace !== facts.sourceNamespace) return false;
    if (m.sourceLabels) {
      for (const [k, v] of Object.entries(m.sourceLabels)) if (facts.sourceLabels[k] !== v) return false;
    }
  }
  for (const [name, matcher] of m.headers) if (!matchesString(matcher, header(facts, name))) return false;
  for (const [name, matcher] of m.withoutHeaders) if (matchesString(matcher, header(facts, name))) return false;
  for (const [name, matcher] of m.queryParams) if (!matchesString(matcher, queryParam(facts, name))) return false;
  if (m.claims) for (const [path, matcher] of m.claims) if (!claimMatches(facts.claims, path, matcher)) return false;
  if (m.withoutClaims) for (const [path, matcher] of m.withoutClaims) if (claimMatches(facts.claims, path, matcher)) return false;
  return true;
}

export function ruleApplies(rule: HttpRoute, facts: RequestFacts): boolean {
  if (rule.match.length === 0) return true;
  for (const m of rule.match) if (matchApplies(m, facts)) return true;
  return false;
}

/** Whether a proxy of `namespace` sees `vs` (exportTo; Istio's default is every namespace). */
export function virtualServiceVisible(vs: VirtualServiceModel, namespace: string): boolean {
  return vs.exportTo === undefined || vs.exportTo.includes('*') || vs.exportTo.includes(namespace);
}

export interface RouteScope {
  /** The proxy's namespace: VirtualServices not exported to it are invisible. */
  proxyNamespace?: string;
}

/**
 * push_context.go VirtualServicesForGateway order, for a proxy of `namespace`: its namespace's private
 * VirtualServices, then those exported to it by name, then the public ones.
 */
export function visibilityRank(vs: VirtualServiceModel, namespace: string): number {
  if (vs.exportTo === undefined || vs.exportTo.includes('*')) return 2;
  return vs.namespace === namespace ? 0 : 1;
}

/**
 * The HTTP rules in force for `host` on `gateway` (`mesh` for sidecars, with `host` an FQDN): those of the visible
 * VirtualServices with the most specific matching host, in VirtualServicesForGateway's order (visibility, then age);
 * a sidecar uses the first alone (httproute.go BuildSidecarOutboundVirtualHosts drops a later duplicate domain).
 * (The ingress builds its virtual hosts with gateway-routes.ts gatewayVirtualHosts, as gateway.go does.)
 */
export function rulesFor(
  services: readonly VirtualServiceModel[], host: string, gateway: string, scope: RouteScope = {},
): { rules: HttpRoute[]; services: VirtualServiceModel[] } | undefined {
  let best = -1;
  let chosen: VirtualServiceModel[] = [];
  for (const vs of services) {
    if (!vs.gateways.includes(gateway)) continue;
    if (scope.proxyNamespace !== undefined && !virtualServiceVisible(vs, scope.proxyNamespace)) continue;
    let score = -1;
    for (const h of vs.hosts) score = Math.max(score, hostMatchScore(gateway === 'mesh' ? resolveShortname(h, vs.namespace) : h.toLowerCase(), host));
    if (score < 0) continue;
    if (score > best) {
      best = score;
      chosen = [vs];
    } else if (score === best) chosen.push(vs);
  }
  if (chosen.length === 0) return undefined;
  const ns = scope.proxyNamespace;
  chosen.sort((a, b) => (ns === undefined ? 0 : visibilityRank(a, ns) - visibilityRank(b, ns)) || a.createdAt - b.createdAt);
  if (gateway === 'mesh') chosen = [chosen[0]];
  return { rules: chosen.flatMap((vs) => vs.http), services: chosen };
}

export function firstMatchingRule(rules: readonly HttpRoute[], facts: RequestFacts): HttpRoute | undefined {
  for (const rule of rules) if (ruleApplies(rule, facts)) return rule;
  return undefined;
}

/** Weighted pick with `u` uniform in [0, 1): weights are relative shares (weight / sum); zero weights never win. */
export function pickDestination(destinations: readonly RouteDestination[], u: number): RouteDestination {
  if (destinations.length === 1) return destinations[0];
  let total = 0;
  for (const d of destinations) total += d.weight;
  let x = u * total;
  for (const d of destinations) {
    if (d.weight <= 0) continue;
    if (x < d.weight) return d;
    x -= d.weight;
  }
  for (let i = destinations.length - 1; i >= 0; i--) if (destinations[i].weight > 0) return destinations[i];
  return destinations[destinations.length - 1];
}
