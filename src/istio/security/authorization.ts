// AuthorizationPolicy: validation (refusing what is not emulated, by path) and Envoy-RBAC-equivalent evaluation.
//
// Semantics from istio/api security/v1beta1/authorization_policy.proto:
// - CUSTOM, then DENY, then ALLOW: a request matching a CUSTOM policy's rules is checked by its provider (the
//   ext_authz service, customCheck below); a matching DENY denies; no ALLOW policy on the workload allows; a matching ALLOW
//   allows; otherwise deny. AUDIT does not affect the decision.
// - "rules: If not set, the match will never occur" (so `spec: {}` = allow-nothing); an empty rule `{}` always matches.
// - A rule matches when at least one `from` source, one `to` operation and all `when` conditions match; fields inside a
//   source/operation are ANDed, values inside a field ORed, not* fields must match none of their values.
// - Scope: selector / namespace / root namespace (selector.ts).
// Envoy RBAC denial: 403 with body `RBAC: access denied`, response details
// rbac_access_denied_matched_policy[<policy id>|none] (source/extensions/filters/http/rbac/rbac_filter.cc,
// filters/common/rbac/utility.cc). Istio names RBAC policies `ns[<ns>]-policy[<name>]-rule[<i>]`
// (pilot/pkg/security/authz/builder).
import type { K8sObject, SourcePos } from '../../spec/types.ts';
import { FieldReader, type Json } from '../fields.ts';
import { ROOT_NAMESPACE, objectNamespace, readSelector, resourceName, scopeApplies } from '../selector.ts';
import { headerMatch, ipInBlock, istioStringMatch, isValidBlock } from './match.ts';
import type { RbacResult } from './stats.ts';
import { must } from '../../must.ts';
import { headerValue } from '../../envoy/runtime/matchers.ts';

export const RBAC_DENIED_BODY = 'RBAC: access denied';
export const RBAC_DENIED_STATUS = 403;

export interface RequestAttributes {
  /** The destination workload. */
  namespace: string;
  workloadLabels: Record<string, string>;
  method: string;
  /** As sent (`/productpage?u=normal`); the query and fragment are ignored, as Envoy's path matcher does. */
  path: string;
  /** The :authority / Host header. */
  host: string;
  /** Destination port (the workload port, e.g. 9080). */
  port: number;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /** Peer identity from mTLS, e.g. `cluster.local/ns/default/sa/bookinfo-productpage` (a `spiffe://` prefix is ignored). Absent for plaintext. */
  sourcePrincipal?: string;
  /** Defaults to the `/ns/<ns>/` part of sourcePrincipal. */
  sourceNamespace?: string;
  /** `<iss>/<sub>` of a verified JWT (RequestAuthentication). */
  requestPrincipal?: string;
  /** Payload of the verified JWT, for request.auth.claims[...], audiences (aud) and presenter (azp). */
  requestClaims?: Record<string, unknown>;
  /** Downstream peer address. */
  sourceIp?: string;
  /** Original client address (X-Forwarded-For with trusted hops); defaults to sourceIp. */
  remoteIp?: string;
  destinationIp?: string;
}

export interface AuthorizationDecision {
  allowed: boolean;
  /** Name (namespace/name) of the policy that decided: the matching DENY or ALLOW policy. */
  decidedBy?: string;
  /** Which action decided: 'DENY' (a deny matched), 'ALLOW' (allow policies exist: one matched, or none did), 'none' (no policy). */
  action: 'ALLOW' | 'DENY' | 'none';
  reason: string;
  /** Envoy's response details on a denial: rbac_access_denied_matched_policy[ns[..]-policy[..]-rule[i]] or [none]. */
  responseDetails?: string;
  /** The RBAC filters that ran, in order, and what each one counted (rbac.allowed / rbac.denied). */
  filters: { action: 'DENY' | 'ALLOW'; result: RbacResult }[];
}

interface Condition {
  key: string;
  values?: string[];
  notValues?: string[];
}
interface Source {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}
interface Operation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}
interface Rule {
  from?: Source[];
  to?: Operation[];
  when?: Condition[];
}
interface Policy {
  name: string;
  namespace: string;
  selector?: Record<string, string>;
  action: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
  /** spec.provider.name, for CUSTOM. */
  provider?: string;
  rules: Rule[];
}

const SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
] as const;
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
const CONDITION_KEYS =
  /^(request\.headers\[[^\]]+\]|source\.ip|remote\.ip|source\.namespace|source\.principal|request\.auth\.principal|request\.auth\.audiences|request\.auth\.presenter|request\.auth\.claims(\[[^\]]+\])+|destination\.ip|destination\.port)$/;

const parsed = new WeakMap<K8sObject, Policy>();

/** Validates an AuthorizationPolicy; throws SpecError naming the field for anything not emulated or invalid. */
export function validateAuthorizationPolicy(obj: K8sObject, source?: SourcePos): void {
  parsePolicy(obj, source);
}

function parsePolicy(obj: K8sObject, source?: SourcePos): Policy {
  const cached = parsed.get(obj);
  if (cached) return cached;
  const r = new FieldReader(resourceName(obj), source);
  if (obj.kind !== 'AuthorizationPolicy') throw r.error('kind', `expected an AuthorizationPolicy, got ${obj.kind}`);
  if (!/^security\.istio\.io\//.test(obj.apiVersion)) throw r.error('apiVersion', `expected security.istio.io/*, got ${obj.apiVersion}`);
  if (obj.metadata.annotations?.['istio.io/dry-run'] !== undefined) {
    throw r.error('metadata.annotations["istio.io/dry-run"]', 'dry-run (shadow) policies are not emulated');
  }
  const spec = r.object(obj.spec ?? {}, 'spec');
  r.onlyKeys(spec, 'spec', ['selector', 'action', 'rules', 'provider']);
  const action = spec.action ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY' && action !== 'AUDIT' && action !== 'CUSTOM')
    throw r.error('spec.action', `must be ALLOW, DENY, AUDIT or CUSTOM, got ${JSON.stringify(action)}`);
  // Istio's validation (pkg/config/validation/validation.go, ValidateAuthorizationPolicy) refuses these at apply.
  if (spec.provider !== undefined && action !== 'CUSTOM') throw r.error('spec.provider', `\`provider\` must not be with non CUSTOM action, found ${action}`);
  if (action === 'CUSTOM' && spec.rules === undefined) {
    throw r.error(
      'spec.rules',
      'CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request',
    );
  }
  let provider: string | undefined;
  if (action === 'CUSTOM') {
    const p = r.object(spec.provider ?? {}, 'spec.provider');
    r.onlyKeys(p, 'spec.provider', ['name']);
    provider = typeof p.name === 'string' ? p.name : '';
    if (provider === '') throw r.error('spec.provider.name', '`provider.name` must not be empty');
  }
  const rules = r.array(spec.rules ?? [], 'spec.rules').map((raw, i) => parseRule(r, raw, `spec.rules[${i}]`));
  if (action === 'CUSTOM') rules.forEach((rule, i) => checkCustomRule(r, rule, `spec.rules[${i}]`));
  const policy: Policy = {
    name: obj.metadata.name,
    namespace: objectNamespace(obj),
    selector: readSelector(obj, 'selector', source),
    action,
    ...(provider !== undefined ? { provider } : {}),
    rules,
  };
  parsed.set(obj, policy);
  return policy;
}

function parseRule(r: FieldReader, raw: unknown, path: string): Rule {
  const o = r.object(raw ?? {}, path);
  r.onlyKeys(o, path, ['from', 'to', 'when']);
  const rule: Rule = {};
  if (o.from !== undefined) {
    rule.from = r.array(o.from, `${path}.from`).map((f, i) => {
      const p = `${path}.from[${i}]`;
      const fo = r.object(f, p);
      r.onlyKeys(fo, p, ['source']);
      const src = r.object(fo.source, `${p}.source`);
      r.onlyKeys(src, `${p}.source`, SOURCE_FIELDS);
      if (Object.keys(src).length === 0) throw r.error(`${p}.source`, 'must not be empty');
      const out: Source = {};
      for (const k of SOURCE_FIELDS) {
        const list = r.optionalStringList(src[k], `${p}.source.${k}`);
        if (!list) continue;
        if (/[Ii]pBlocks$/.test(k))
          list.forEach((b, j) => {
            if (!isValidBlock(b)) throw r.error(`${p}.source.${k}[${j}]`, `not an IP address or CIDR block: ${JSON.stringify(b)}`);
          });
        out[k] = list;
      }
      return out;
    });
  }
  if (o.to !== undefined) {
    rule.to = r.array(o.to, `${path}.to`).map((t, i) => {
      const p = `${path}.to[${i}]`;
      const to = r.object(t, p);
      r.onlyKeys(to, p, ['operation']);
      const op = r.object(to.operation, `${p}.operation`);
      r.onlyKeys(op, `${p}.operation`, OPERATION_FIELDS);
      if (Object.keys(op).length === 0) throw r.error(`${p}.operation`, 'must not be empty');
      const out: Operation = {};
      for (const k of OPERATION_FIELDS) {
        const list = r.optionalStringList(op[k], `${p}.operation.${k}`);
        if (!list) continue;
        list.forEach((v, j) => {
          const vp = `${p}.operation.${k}[${j}]`;
          if ((k === 'ports' || k === 'notPorts') && !validPort(v)) throw r.error(vp, `not a port number: ${JSON.stringify(v)}`);
          if ((k === 'paths' || k === 'notPaths') && /[{}]/.test(v)) throw r.error(vp, 'path templates ({*}, {**}) are not emulated');
        });
        out[k] = list;
      }
      return out;
    });
  }
  if (o.when !== undefined) {
    rule.when = r.array(o.when, `${path}.when`).map((c, i) => {
      const p = `${path}.when[${i}]`;
      const co = r.object(c, p);
      r.onlyKeys(co, p, ['key', 'values', 'notValues']);
      const key = r.string(co.key, `${p}.key`);
      if (!CONDITION_KEYS.test(key)) throw r.error(`${p}.key`, `condition key ${JSON.stringify(key)} is not emulated`);
      const values = r.optionalStringList(co.values, `${p}.values`);
      const notValues = r.optionalStringList(co.notValues, `${p}.notValues`);
      if (!values?.length && !notValues?.length) throw r.error(p, 'at least one of values or notValues must be set');
      for (const [field, list] of [
        ['values', values],
        ['notValues', notValues],
      ] as const) {
        list?.forEach((v, j) => {
          if (key === 'destination.port' && !validPort(v)) throw r.error(`${p}.${field}[${j}]`, `not a port number: ${JSON.stringify(v)}`);
          if (/\.ip$/.test(key) && !isValidBlock(v)) throw r.error(`${p}.${field}[${j}]`, `not an IP address or CIDR block: ${JSON.stringify(v)}`);
        });
      }
      return { key, values, notValues };
    });
  }
  return rule;
}

/** validation.go: the source and condition fields a CUSTOM policy may not use (its rules are matched before authentication). */
function checkCustomRule(r: FieldReader, rule: Rule, path: string): void {
  const refused = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces'] as const;
  rule.from?.forEach((s, i) => {
    for (const k of refused) {
      if (s[k] !== undefined)
        throw r.error(`${path}.from[${i}].source.${k}`, `From.${k.charAt(0).toUpperCase()}${k.slice(1)} is currently not supported with CUSTOM action`);
    }
  });
  rule.when?.forEach((c, i) => {
    if (c.key === 'source.namespace' || c.key === 'source.principal' || c.key.startsWith('request.auth.')) {
      throw r.error(`${path}.when[${i}].key`, `${c.key} is currently not supported with CUSTOM action`);
    }
  });
}

function validPort(v: string): boolean {
  return /^\d+$/.test(v) && Number(v) <= 65535;
}

/**
 * The decision of the workload's sidecar for one request. `policies` may hold any objects: AuthorizationPolicies
 * that do not apply to the request's workload are skipped; other kinds are ignored.
 */
export function evaluateAuthorization(policies: K8sObject[], request: RequestAttributes, rootNamespace = ROOT_NAMESPACE): AuthorizationDecision {
  const applicable = applicablePolicies(policies, request, rootNamespace);
  const deny = applicable.filter((p) => p.action === 'DENY');
  const allow = applicable.filter((p) => p.action === 'ALLOW');
  const attrs = new Attributes(request);
  const filters: AuthorizationDecision['filters'] = [];

  if (deny.length > 0) {
    const hit = firstMatch(deny, attrs);
    if (hit) {
      filters.push({ action: 'DENY', result: 'denied' });
      return {
        allowed: false,
        decidedBy: `${hit.policy.namespace}/${hit.policy.name}`,
        action: 'DENY',
        reason: `denied by DENY policy ${hit.policy.namespace}/${hit.policy.name} (rule ${hit.rule})`,
        responseDetails: `rbac_access_denied_matched_policy[${policyId(hit.policy, hit.rule)}]`,
        filters,
      };
    }
    filters.push({ action: 'DENY', result: 'allowed' });
  }
  if (allow.length === 0) {
    return {
      allowed: true,
      action: 'none',
      reason: deny.length > 0 ? 'no DENY policy matched and no ALLOW policy applies' : 'no authorization policy applies',
      filters,
    };
  }
  const hit = firstMatch(allow, attrs);
  if (hit) {
    filters.push({ action: 'ALLOW', result: 'allowed' });
    return {
      allowed: true,
      decidedBy: `${hit.policy.namespace}/${hit.policy.name}`,
      action: 'ALLOW',
      reason: `allowed by ALLOW policy ${hit.policy.namespace}/${hit.policy.name} (rule ${hit.rule})`,
      filters,
    };
  }
  filters.push({ action: 'ALLOW', result: 'denied' });
  const names = allow.map((p) => `${p.namespace}/${p.name}`).join(', ');
  return {
    allowed: false,
    action: 'ALLOW',
    reason: `no ALLOW policy matched (${names})`,
    responseDetails: 'rbac_access_denied_matched_policy[none]',
    filters,
  };
}

function applicablePolicies(policies: K8sObject[], request: RequestAttributes, rootNamespace: string): Policy[] {
  return policies
    .filter((p) => p.kind === 'AuthorizationPolicy')
    .map((p) => parsePolicy(p))
    .filter((p) => scopeApplies(p, { namespace: request.namespace, labels: request.workloadLabels }, rootNamespace));
}

/** What the CUSTOM policies of a workload make of one request, before DENY and ALLOW run. */
export type CustomCheck =
  /** No CUSTOM rule matched: the ext_authz filter is not enabled for this request (ext_authz.disabled). */
  | { kind: 'none' }
  /** A rule of `provider`'s policies matched: its ext_authz service decides. */
  | { kind: 'check'; provider: string; policy: string }
  /**
   * istiod could not build the provider (undefined or with errors, or several providers on one workload without
   * PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS): it writes the CUSTOM rules as a DENY RBAC filter instead
   * (builder.go buildHTTP, getBadCustomDenyRules), so a matching request is denied by RBAC.
   */
  | { kind: 'deny'; policy: string; reason: string; responseDetails: string };

/**
 * The CUSTOM step of a workload's authorization (pilot/pkg/security/authz/builder/builder.go buildHTTP: per provider a
 * shadow-rules RBAC filter marks matching requests and the provider's ext_authz filter checks only those).
 * `providerError(name)` says why istiod could not build that provider, or undefined when it can.
 */
export function customCheck(
  policies: K8sObject[],
  request: RequestAttributes,
  providerError: (provider: string) => string | undefined,
  rootNamespace = ROOT_NAMESPACE,
): CustomCheck {
  const custom = applicablePolicies(policies, request, rootNamespace).filter((p) => p.action === 'CUSTOM');
  if (custom.length === 0) return { kind: 'none' };
  const providers = [...new Set(custom.map((p) => p.provider ?? ''))].sort();
  const attrs = new Attributes(request);
  const badDeny = (reason: string, among: Policy[]): CustomCheck => {
    const hit = firstMatch(among, attrs);
    if (!hit) return { kind: 'none' };
    return {
      kind: 'deny',
      policy: `${hit.policy.namespace}/${hit.policy.name}`,
      reason,
      responseDetails: `rbac_access_denied_matched_policy[${customPolicyId(hit.policy, hit.rule)}-deny-due-to-bad-CUSTOM-action]`,
    };
  };
  if (providers.length > 1) {
    return badDeny(
      `multiple CUSTOM authorization providers per workload (${providers.join(', ')}) need PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS; istiod denies what their rules match`,
      custom,
    );
  }
  const provider = must(providers[0], 'the CUSTOM provider');
  const error = providerError(provider);
  if (error !== undefined) return badDeny(`failed to process CUSTOM action for provider ${provider}, will generate deny configs: ${error}`, custom);
  const hit = firstMatch(custom, attrs);
  return hit ? { kind: 'check', provider, policy: `${hit.policy.namespace}/${hit.policy.name}` } : { kind: 'none' };
}

/** builder.go policyName for the CUSTOM builder: `istio-ext-authz-<provider>-ns[..]-policy[..]-rule[i]`. */
function customPolicyId(p: Policy, rule: number): string {
  return `istio-ext-authz-${p.provider ?? ''}-${policyId(p, rule)}`;
}

function policyId(p: Policy, rule: number): string {
  return `ns[${p.namespace}]-policy[${p.name}]-rule[${rule}]`;
}

function firstMatch(policies: Policy[], attrs: Attributes): { policy: Policy; rule: number } | undefined {
  for (const policy of policies) {
    const rule = policy.rules.findIndex((r) => ruleMatches(r, attrs));
    if (rule >= 0) return { policy, rule };
  }
  return undefined;
}

function ruleMatches(rule: Rule, a: Attributes): boolean {
  if (rule.from && rule.from.length > 0 && !rule.from.some((s) => sourceMatches(s, a))) return false;
  if (rule.to && rule.to.length > 0 && !rule.to.some((o) => operationMatches(o, a))) return false;
  return (rule.when ?? []).every((c) => conditionMatches(c, a));
}

/** values: at least one matches (when given); notValues: none matches. */
function field(values: string[] | undefined, notValues: string[] | undefined, match: (pattern: string) => boolean): boolean {
  if (values && !values.some(match)) return false;
  if (notValues && notValues.some(match)) return false;
  return true;
}

function sourceMatches(s: Source, a: Attributes): boolean {
  return (
    field(s.principals, s.notPrincipals, (p) => istioStringMatch(stripSpiffe(p), a.principal)) &&
    field(s.requestPrincipals, s.notRequestPrincipals, (p) => istioStringMatch(p, a.requestPrincipal)) &&
    field(s.namespaces, s.notNamespaces, (p) => istioStringMatch(p, a.sourceNamespace)) &&
    field(s.ipBlocks, s.notIpBlocks, (b) => ipInBlock(a.sourceIp, b)) &&
    field(s.remoteIpBlocks, s.notRemoteIpBlocks, (b) => ipInBlock(a.remoteIp, b))
  );
}

function operationMatches(o: Operation, a: Attributes): boolean {
  return (
    field(o.hosts, o.notHosts, (h) => h === '*' || istioStringMatch(h, a.host, true)) &&
    field(o.ports, o.notPorts, (p) => Number(p) === a.port) &&
    field(o.methods, o.notMethods, (m) => istioStringMatch(m, a.method)) &&
    field(o.paths, o.notPaths, (p) => istioStringMatch(p, a.urlPath))
  );
}

function conditionMatches(c: Condition, a: Attributes): boolean {
  const key = c.key;
  const header = /^request\.headers\[(.+)\]$/.exec(key)?.[1];
  if (header !== undefined) return field(c.values, c.notValues, (v) => headerMatch(v, a.header(header)));
  if (key === 'source.ip') return field(c.values, c.notValues, (b) => ipInBlock(a.sourceIp, b));
  if (key === 'remote.ip') return field(c.values, c.notValues, (b) => ipInBlock(a.remoteIp, b));
  if (key === 'destination.ip') return field(c.values, c.notValues, (b) => ipInBlock(a.destinationIp, b));
  if (key === 'destination.port') return field(c.values, c.notValues, (p) => Number(p) === a.port);
  if (key === 'source.namespace') return field(c.values, c.notValues, (v) => istioStringMatch(v, a.sourceNamespace));
  if (key === 'source.principal') return field(c.values, c.notValues, (v) => istioStringMatch(stripSpiffe(v), a.principal));
  if (key === 'request.auth.principal') return field(c.values, c.notValues, (v) => istioStringMatch(v, a.requestPrincipal));
  if (key === 'request.auth.audiences') return field(c.values, c.notValues, (v) => a.claimStrings(['aud']).some((s) => istioStringMatch(v, s)));
  if (key === 'request.auth.presenter') return field(c.values, c.notValues, (v) => a.claimStrings(['azp']).some((s) => istioStringMatch(v, s)));
  const claim = /^request\.auth\.claims((?:\[[^\]]+\])+)$/.exec(key)?.[1];
  if (claim !== undefined) {
    const names = [...claim.matchAll(/\[([^\]]+)\]/g)].map(([, name = '']) => name);
    return field(c.values, c.notValues, (v) => a.claimStrings(names).some((s) => istioStringMatch(v, s)));
  }
  throw new Error(`unhandled condition key ${key}`); // validation refuses other keys
}

function stripSpiffe(p: string): string {
  return p.startsWith('spiffe://') ? p.slice('spiffe://'.length) : p;
}

class Attributes {
  readonly principal?: string;
  readonly sourceNamespace?: string;
  readonly requestPrincipal?: string;
  readonly sourceIp?: string;
  readonly remoteIp?: string;
  readonly destinationIp?: string;
  readonly urlPath: string;
  readonly host: string;
  readonly method: string;
  readonly port: number;

  constructor(private readonly req: RequestAttributes) {
    this.principal = req.sourcePrincipal ? stripSpiffe(req.sourcePrincipal) : undefined;
    this.sourceNamespace = req.sourceNamespace ?? (this.principal ? /\/ns\/([^/]+)\//.exec(this.principal)?.[1] : undefined);
    this.requestPrincipal = req.requestPrincipal;
    this.sourceIp = req.sourceIp;
    this.remoteIp = req.remoteIp ?? req.sourceIp;
    this.destinationIp = req.destinationIp;
    this.urlPath = req.path.replace(/[?#].*$/, '');
    this.host = req.host;
    this.method = req.method;
    this.port = req.port;
  }

  header(name: string): string | undefined {
    return headerValue(this.req.headers, name);
  }

  /** String claims at a nested path; a list claim yields its string elements; other types yield nothing. */
  claimStrings(path: string[]): string[] {
    let v: unknown = this.req.requestClaims;
    for (const k of path) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
      v = (v as Json)[k];
    }
    if (typeof v === 'string') return [v];
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
    return [];
  }
}
