// One AuthorizationPolicy rule as one Envoy RBAC policy, as istiod generates it for an HTTP filter chain
// (pilot/pkg/security/authz/model: model.go New / Generate / MigrateTrustDomain, generator.go, permission.go,
// principal.go, util.go; pilot/pkg/security/authz/matcher: string.go, header.go, metadata.go;
// pilot/pkg/security/trustdomain/bundle.go). A rule's `to` operations become its permissions and its `from` sources
// its principals, each an AND of the fields set (values ORed, notValues under a NOT); the `when` conditions are added
// to every permission or every principal, by key.
import type { HeaderMatcher, MetadataMatcher, Permission, Policy, Principal, StringMatcher, ValueMatcher } from '../../envoy/model/index.ts';
import type { AuthorizationCondition, AuthorizationOperation, AuthorizationRule, AuthorizationSource } from './authorization-policy.ts';
import { parseIpOrCidr } from './cidr.ts';
import { must } from '../../must.ts';

/** The RBAC action a policy is generated for: ALLOW drops a rule a value fails in, the others drop only the value (model.go checkError). */
export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

/** The mesh's trust domain (meshConfig.trustDomain; the local target refuses another) and its aliases (none). */
const TRUST_DOMAINS = ['cluster.local'];
const JWT_FILTER = 'envoy.filters.http.jwt_authn';
const JWT_PAYLOAD = 'payload';

/** A value istiod's generator could not turn into a matcher (model.go: "skipped invalid rule"). */
class GenerateError extends Error {}

/** The RBAC policy of one rule, or undefined when istiod skips the rule (a value it cannot generate in an ALLOW policy). */
export function rulePolicy(rule: AuthorizationRule, policyNamespace: string, action: RbacAction): Policy | undefined {
  const model = newModel(rule, policyNamespace);
  migrateTrustDomain(model);
  try {
    return {
      permissions: model.permissions.map((list) => generatePermission(list, action)),
      principals: model.principals.map((list) => generatePrincipal(list, action)),
    };
  } catch (error) {
    if (error instanceof GenerateError) return undefined;
    throw error;
  }
}

/** model.go `rule`: one field or condition with its generator. */
interface Entry {
  key: string;
  values: string[];
  notValues: string[];
  /** A matcher per value (ORed), or one for all values (an extended generator). */
  perValue: boolean;
  permission?: (values: string[]) => Permission;
  principal?: (values: string[]) => Principal;
}

interface Model {
  permissions: Entry[][];
  principals: Entry[][];
}

/** model.go New: `when` conditions appended (in order) to a base permission or principal; each `to` and `from` inserts its fields in front. */
function newModel(rule: AuthorizationRule, policyNamespace: string): Model {
  const basePermission: Entry[] = [];
  const basePrincipal: Entry[] = [];
  for (const c of rule.when) appendCondition(c, basePermission, basePrincipal, policyNamespace);
  const principals = rule.from.length === 0 ? [basePrincipal] : rule.from.map((s) => sourceEntries(s, policyNamespace).concat(basePrincipal));
  const permissions = rule.to.length === 0 ? [basePermission] : rule.to.map((o) => operationEntries(o).concat(basePermission));
  return { permissions, principals };
}

function entry(key: string, values: string[] | undefined, notValues: string[] | undefined, make: Omit<Entry, 'key' | 'values' | 'notValues'>): Entry[] {
  if (!values?.length && !notValues?.length) return [];
  return [{ key, values: values ?? [], notValues: notValues ?? [], ...make }];
}

/** The insertFront calls of model.go New, undone: the last inserted comes first. */
function sourceEntries(s: AuthorizationSource, policyNamespace: string): Entry[] {
  return [
    ...entry('source.principal', s.principals, s.notPrincipals, sourcePrincipal),
    ...entry('request.auth.principal', s.requestPrincipals, s.notRequestPrincipals, requestPrincipal),
    ...entry('source.serviceAccount', s.serviceAccounts, s.notServiceAccounts, sourceServiceAccount(policyNamespace)),
    ...entry('source.trustDomain', s.trustDomains, s.notTrustDomains, sourceTrustDomain),
    ...entry('source.namespace', s.namespaces, s.notNamespaces, sourceNamespace),
    ...entry('remote.ip', s.remoteIpBlocks, s.notRemoteIpBlocks, remoteIp),
    ...entry('source.ip', s.ipBlocks, s.notIpBlocks, sourceIp),
  ];
}

function operationEntries(o: AuthorizationOperation): Entry[] {
  return [
    ...entry(':authority', o.hosts, o.notHosts, host),
    ...entry(':method', o.methods, o.notMethods, method),
    ...entry('path-matcher', o.paths, o.notPaths, path),
    ...entry('destination.port', o.ports, o.notPorts, destinationPort),
  ];
}

function appendCondition(c: AuthorizationCondition, permission: Entry[], principal: Entry[], policyNamespace: string): void {
  const k = c.key;
  const add = (list: Entry[], make: Omit<Entry, 'key' | 'values' | 'notValues'>) => list.push(...entry(k, c.values, c.notValues, make));
  if (k === 'destination.ip') add(permission, destinationIp);
  else if (k === 'destination.port') add(permission, destinationPort);
  else if (k === 'connection.sni') add(permission, connectionSni);
  else if (k === 'source.ip') add(principal, sourceIp);
  else if (k === 'remote.ip') add(principal, remoteIp);
  else if (k === 'source.namespace') add(principal, sourceNamespace);
  else if (k === 'source.trustDomain') add(principal, sourceTrustDomain);
  else if (k === 'source.serviceAccount') add(principal, sourceServiceAccount(policyNamespace));
  else if (k === 'source.principal') add(principal, sourcePrincipal);
  else if (k === 'request.auth.principal') add(principal, requestPrincipal);
  else if (k === 'request.auth.audiences') add(principal, claimList(['aud']));
  else if (k === 'request.auth.presenter') add(principal, claimList(['azp']));
  else if (k.startsWith('request.headers')) add(principal, requestHeader(k));
  else if (k.startsWith('request.auth.claims')) add(principal, requestClaim(k));
  else throw new Error(`unknown attribute ${k}`); // parseAuthorizationPolicy refuses it
}

/** model.go MigrateTrustDomain with the one trust domain: principals rewritten (bundle.go ReplaceTrustDomainAliases), trust domains deduplicated. */
function migrateTrustDomain(model: Model): void {
  for (const list of model.principals) {
    for (const e of list) {
      if (e.key === 'source.principal') {
        e.values = e.values.flatMap(replaceTrustDomainAliases);
        e.notValues = e.notValues.flatMap(replaceTrustDomainAliases);
      } else if (e.key === 'source.trustDomain') {
        e.values = [...new Set(e.values)];
        e.notValues = [...new Set(e.notValues)];
      }
    }
  }
}

/** bundle.go ReplaceTrustDomainAliases for one principal `<td>/ns/<ns>/sa/<sa>`. */
function replaceTrustDomainAliases(principal: string): string[] {
  const parts = principal.split('/');
  if (parts.length !== 5 || parts[0] === '*') return [principal];
  const td = must(parts[0], 'the trust domain');
  const matches = (a: string, s: string) => a === s || s === '*' || prefixMatch(a, s) || prefixMatch(s, a) || suffixMatch(a, s) || suffixMatch(s, a);
  if (!TRUST_DOMAINS.some((s) => matches(td, s)) && td !== 'cluster.local') return [principal];
  const out: string[] = [];
  for (const domain of TRUST_DOMAINS) {
    const replaced = suffixMatch(domain, td) ? principal : [domain, ...parts.slice(1)].join('/');
    if (!out.includes(replaced)) out.push(replaced);
  }
  return out;
}
const prefixMatch = (a: string, pattern: string) => pattern.endsWith('*') && a.startsWith(pattern.slice(0, -1));
const suffixMatch = (a: string, pattern: string) => pattern.startsWith('*') && a.endsWith(pattern.slice(1));

function generatePermission(list: Entry[], action: RbacAction): Permission {
  const and = list.flatMap((e) => entryMatchers(e, action, 'permission'));
  return { and_rules: { rules: and.length > 0 ? and : [{ any: true }] } };
}

function generatePrincipal(list: Entry[], action: RbacAction): Principal {
  const and = list.flatMap((e) => entryMatchers(e, action, 'principal'));
  return { and_ids: { ids: and.length > 0 ? and : [{ any: true }] } };
}

/** model.go rule.permission / rule.principal: values ORed, notValues ORed under a NOT. */
function entryMatchers(e: Entry, action: RbacAction, side: 'permission'): Permission[];
function entryMatchers(e: Entry, action: RbacAction, side: 'principal'): Principal[];
function entryMatchers(e: Entry, action: RbacAction, side: 'permission' | 'principal'): (Permission | Principal)[] {
  const make = must(e[side], `a ${side} generator for ${e.key}`) as (values: string[]) => Permission | Principal;
  // checkError: an ALLOW policy gives up the rule, the others the value.
  const attempt = (values: string[]) => {
    try {
      return make(values);
    } catch (error) {
      if (error instanceof GenerateError && action !== 'ALLOW') return undefined;
      throw error;
    }
  };
  const or = (items: (Permission | Principal)[]) =>
    side === 'permission' ? { or_rules: { rules: items as Permission[] } } : { or_ids: { ids: items as Principal[] } };
  const not = (item: Permission | Principal) => (side === 'permission' ? { not_rule: item as Permission } : { not_id: item as Principal });
  const matchers = (values: string[]) => {
    if (values.length === 0) return undefined;
    if (!e.perValue) return attempt(values);
    const each = values.flatMap((v) => attempt([v]) ?? []);
    return each.length > 0 ? or(each) : undefined;
  };
  const out: (Permission | Principal)[] = [];
  const positive = matchers(e.values);
  if (positive) out.push(positive);
  const negative = matchers(e.notValues);
  if (negative) out.push(not(negative));
  return out;
}

const one = (values: string[]) => must(values[0], 'a value');

// ---- generators (generator.go) ----

const cidr = (value: string) => {
  const range = parseIpOrCidr(value);
  if (!range) throw new GenerateError(`invalid IP ${value}`);
  return range;
};
const destinationIp = { perValue: true, permission: (v: string[]): Permission => ({ destination_ip: cidr(one(v)) }) };
const destinationPort = { perValue: true, permission: (v: string[]): Permission => ({ destination_port: Number(one(v)) }) };
const connectionSni = { perValue: true, permission: (v: string[]): Permission => ({ requested_server_name: stringMatcher(one(v)) }) };
const host = { perValue: true, permission: (v: string[]): Permission => ({ header: headerMatcher(':authority', one(v), true) }) };
const method = { perValue: true, permission: (v: string[]): Permission => ({ header: headerMatcher(':method', one(v), false) }) };
/** pathGenerator (templates are refused when the policy is read). */
const path = { perValue: true, permission: (v: string[]): Permission => ({ url_path: { path: stringMatcher(one(v)) } }) };
const sourceIp = { perValue: true, principal: (v: string[]): Principal => ({ direct_remote_ip: cidr(one(v)) }) };
const remoteIp = { perValue: true, principal: (v: string[]): Principal => ({ remote_ip: cidr(one(v)) }) };
const authenticated = (m: StringMatcher): Principal => ({ authenticated: { principal_name: m } });

/** srcNamespaceGenerator: the namespace part of the peer's SPIFFE id, `*` as `.*`. */
const sourceNamespace = {
  perValue: true,
  principal: (v: string[]): Principal => authenticated(regex(`.*/ns/${one(v).split('*').map(quoteMeta).join('.*')}/.*`)),
};

/** srcServiceAccountGenerator, serviceAccountRegex: `<sa>` in the policy's namespace or `<ns>/<sa>`. */
function sourceServiceAccount(policyNamespace: string) {
  return {
    perValue: true,
    principal: (v: string[]): Principal => {
      const value = one(v);
      const slash = value.indexOf('/');
      const [ns, sa] = slash < 0 ? [policyNamespace, value] : [value.slice(0, slash), value.slice(slash + 1)];
      return authenticated(regex(`spiffe://.+/ns/${quoteMeta(ns)}/(.+/|)sa/${quoteMeta(sa)}(/.+)?`));
    },
  };
}

/** srcTrustDomainGenerator. */
const sourceTrustDomain = {
  perValue: true,
  principal: (v: string[]): Principal => {
    const value = one(v);
    if (value === '*') return authenticated({ prefix: 'spiffe://' });
    if (!value.includes('*')) return authenticated({ prefix: `spiffe://${value}/` });
    const star = value.indexOf('*');
    return authenticated(regex(`spiffe://${quoteMeta(value.slice(0, star))}[^/]*${quoteMeta(value.slice(star + 1))}/.*`));
  },
};

/** srcPrincipalGenerator: the value with the `spiffe://` prefix (matcher.StringMatcherWithPrefix). */
const sourcePrincipal = { perValue: true, principal: (v: string[]): Principal => authenticated(stringMatcher(one(v), 'spiffe://')) };

const matchAny: StringMatcher = { safe_regex: { regex: '.+' } };

/** requestPrincipalGenerator: `<iss>/<sub>` (split at the last `/`) as the JWT payload's iss and sub, wildcards at either end. */
const requestPrincipal = {
  perValue: false,
  principal: (values: string[]): Principal => {
    const or = values.map((value): Principal => {
      const idx = value.lastIndexOf('/');
      const found = idx >= 0;
      const [iss, sub] = found ? [value.slice(0, idx), value.slice(idx + 1)] : [value, ''];
      let matchIss: StringMatcher;
      let matchSub: StringMatcher;
      if (value === '*') [matchIss, matchSub] = [matchAny, matchAny];
      else if (value.startsWith('*')) {
        if (found) [matchIss, matchSub] = [iss === '*' ? matchAny : { suffix: iss.slice(1) }, { exact: sub }];
        else [matchIss, matchSub] = [matchAny, { suffix: value.slice(1) }];
      } else if (value.endsWith('*')) {
        if (found) [matchIss, matchSub] = [{ exact: iss }, sub === '*' ? matchAny : { prefix: sub.slice(0, -1) }];
        else [matchIss, matchSub] = [{ prefix: value.slice(0, -1) }, matchAny];
      } else [matchIss, matchSub] = [{ exact: iss }, { exact: sub }];
      return { and_ids: { ids: [{ metadata: jwtClaim('iss', { string_match: matchIss }) }, { metadata: jwtClaim('sub', { string_match: matchSub }) }] } };
    });
    return or.length === 1 ? must(or[0], 'the principal') : { or_ids: { ids: or } };
  },
};

/** requestAudiencesGenerator, requestPresenterGenerator, requestClaimGenerator: a claim (a string or a list of strings) of the JWT payload. */
function claimList(claims: string[]) {
  return { perValue: false, principal: (values: string[]): Principal => ({ metadata: jwtClaimList(claims, stringOr(values)) }) };
}

/** requestClaimGenerator: `request.auth.claims[a][b]` names the nested claim a.b (util.go extractNameInNestedBrackets). */
function requestClaim(key: string) {
  return {
    perValue: false,
    principal: (values: string[]): Principal => ({ metadata: jwtClaimList(nestedBracketNames(key.slice('request.auth.claims'.length)), stringOr(values)) }),
  };
}

/** requestHeaderGenerator: `request.headers[<name>]` (util.go extractNameInBrackets). */
function requestHeader(key: string) {
  return {
    perValue: true,
    principal: (v: string[]): Principal => ({ header: headerMatcher(bracketName(key.slice('request.headers'.length)), one(v), false) }),
  };
}

function bracketName(s: string): string {
  if (!s.startsWith('[') || !s.endsWith(']')) throw new GenerateError(`expecting format [<NAME>], but found ${s}`);
  return s.slice(1, -1);
}

function nestedBracketNames(s: string): string[] {
  const claims: string[] = [];
  const endBracket = (begin: number) => {
    if (begin >= s.length || s[begin] !== '[') return -1;
    for (let i = begin + 1; i < s.length; i++) {
      if (s[i] === '[') return -1;
      if (s[i] === ']') return i;
    }
    return -1;
  };
  for (let begin = 0; begin < s.length;) {
    const end = endBracket(begin);
    if (end === -1) return [bracketName(s)];
    claims.push(s.slice(begin + 1, end));
    begin = end + 1;
  }
  return claims;
}

// ---- matchers (matcher/*.go, model/util.go) ----

function regex(r: string): StringMatcher {
  return { safe_regex: { regex: r } };
}

/** Go's regexp.QuoteMeta. */
function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** matcher.StringMatcherWithPrefix: `*` any non-empty value, `*x` suffix, `x*` prefix, else exact. */
function stringMatcher(v: string, prefix = ''): StringMatcher {
  if (v === '*') return matchAny;
  if (v.startsWith('*')) return prefix === '' ? { suffix: v.slice(1) } : regex(`${prefix}.*${quoteMeta(v.slice(1))}`);
  if (v.endsWith('*')) return { prefix: prefix + v.slice(0, -1) };
  return { exact: prefix + v };
}

/** matcher.HeaderMatcher / HostMatcher (hosts ignore case): `*` is a presence match. */
function headerMatcher(name: string, v: string, ignoreCase: boolean): HeaderMatcher {
  if (v === '*') return { name, present_match: true };
  const ic = ignoreCase ? { ignore_case: true } : {};
  if (v.startsWith('*')) return { name, string_match: { suffix: v.slice(1), ...ic } };
  if (v.endsWith('*')) return { name, string_match: { prefix: v.slice(0, -1), ...ic } };
  return { name, string_match: { exact: v, ...ic } };
}

/** matcher.StringOrMatcher: one string matcher, or several under an OR. */
function stringOr(values: string[]): ValueMatcher {
  const matchers = values.map((v): ValueMatcher => ({ string_match: stringMatcher(v) }));
  return matchers.length === 1 ? must(matchers[0], 'the matcher') : { or_match: { value_matchers: matchers } };
}

/** util.go MetadataValueMatcherForJWTClaim: the claim in jwt_authn's `payload` metadata. */
function jwtClaim(claim: string, value: ValueMatcher): MetadataMatcher {
  return { filter: JWT_FILTER, path: [{ key: JWT_PAYLOAD }, { key: claim }], value };
}

/** util.go MetadataListValueMatcherForJWTClaims (matcher.MetadataListValueMatcher, extended): the claim as a list containing a match, or as a matching value. */
function jwtClaimList(claims: string[], value: ValueMatcher): MetadataMatcher {
  return {
    filter: JWT_FILTER,
    path: [JWT_PAYLOAD, ...claims].map((key) => ({ key })),
    value: { or_match: { value_matchers: [{ list_match: { one_of: value } }, value] } },
  };
}
