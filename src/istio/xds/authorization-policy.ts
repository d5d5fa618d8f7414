// An AuthorizationPolicy as the built-in control plane's authorization builder reads it: every field of the 1.31 API
// (istio/api security/v1beta1/authorization_policy.proto), checked as istiod's validating webhook checks it
// (pkg/config/validation/validation.go ValidateAuthorizationPolicy, checkDryRunAnnotation; pkg/config/security
// ValidateAttribute, ValidateIPs, ValidatePorts, CheckServiceAccount, CheckTrustDomainValues). What the local data plane
// cannot execute is refused with the field's path: path templates (`{*}`, `{**}`: Envoy's uri_template matcher) and
// `experimental.envoy.filters.*` conditions (metadata of Envoy filters the local data plane does not run).
import type { K8sObject, SourcePos } from '../../spec/types.ts';
import { FieldReader } from '../fields.ts';
import { objectNamespace, readSelector, resourceName } from '../selector.ts';
import { parseIpOrCidr } from './cidr.ts';

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export const SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
  'trustDomains',
  'notTrustDomains',
] as const;
export const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

export type AuthorizationSource = Partial<Record<(typeof SOURCE_FIELDS)[number], string[]>>;
export type AuthorizationOperation = Partial<Record<(typeof OPERATION_FIELDS)[number], string[]>>;
export interface AuthorizationCondition {
  key: string;
  values: string[];
  notValues: string[];
}
export interface AuthorizationRule {
  /** One entry per `from` (its source); empty when the rule has none. */
  from: AuthorizationSource[];
  to: AuthorizationOperation[];
  when: AuthorizationCondition[];
}

/** istio/api type/v1beta1 PolicyTargetReference. */
export interface PolicyTargetReference {
  group: string;
  kind: string;
  name: string;
  namespace: string;
}

export interface AuthorizationPolicySpec {
  name: string;
  namespace: string;
  action: AuthorizationAction;
  /** spec.provider.name (CUSTOM). */
  provider?: string;
  /** spec.selector.matchLabels; undefined selects every workload in scope. */
  selector?: Record<string, string>;
  /** spec.targetRefs, or spec.targetRef alone (policyattachment.go GetTargetRefs); empty when the selector binds. */
  targetRefs: PolicyTargetReference[];
  /** The `istio.io/dry-run` annotation, parsed as Go's strconv.ParseBool. */
  dryRun: boolean;
  rules: AuthorizationRule[];
}

/** Condition keys of pilot/pkg/security/authz/model/model.go New, in its spelling. */
const CONDITION_KEYS = new Set([
  'destination.ip',
  'destination.port',
  'connection.sni',
  'source.ip',
  'remote.ip',
  'source.namespace',
  'source.trustDomain',
  'source.serviceAccount',
  'source.principal',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
]);

/** strconv.ParseBool's spellings. */
const GO_BOOLS: Record<string, boolean> = {
  '1': true,
  t: true,
  T: true,
  TRUE: true,
  true: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  FALSE: false,
  false: false,
  False: false,
};

const parsed = new WeakMap<K8sObject, AuthorizationPolicySpec>();

/** The policy, or a SpecError naming the field istiod's webhook refuses or the local data plane cannot run. */
export function parseAuthorizationPolicy(obj: K8sObject, source?: SourcePos): AuthorizationPolicySpec {
  const cached = parsed.get(obj);
  if (cached) return cached;
  const r = new FieldReader(resourceName(obj), source);
  if (obj.kind !== 'AuthorizationPolicy') throw r.error('kind', `expected an AuthorizationPolicy, got ${obj.kind}`);
  const spec = r.object(obj.spec ?? {}, 'spec');
  r.onlyKeys(spec, 'spec', ['selector', 'targetRef', 'targetRefs', 'action', 'provider', 'rules'], 'not in the AuthorizationPolicy API');
  const action = (spec.action ?? 'ALLOW') as AuthorizationAction;
  if (!['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'].includes(action))
    throw r.error('spec.action', `must be ALLOW, DENY, AUDIT or CUSTOM, got ${JSON.stringify(spec.action)}`);
  const targetRefs = readTargetRefs(r, spec);
  if (targetRefs.length > 0 && spec.selector !== undefined && spec.selector !== null)
    throw r.error('spec.selector', 'only one of selector, targetRef or targetRefs can be set');
  if (spec.provider !== undefined && action !== 'CUSTOM') throw r.error('spec.provider', `\`provider\` must not be with non CUSTOM action, found ${action}`);
  const hasRules = Array.isArray(spec.rules) && spec.rules.length > 0;
  if ((action === 'CUSTOM' || action === 'DENY') && !hasRules) {
    throw r.error(
      'spec.rules',
      `${action} action without \`rules\` is meaningless as it will never be triggered, add an empty rule \`{}\` if you want it be triggered for every request`,
    );
  }
  let provider: string | undefined;
  if (action === 'CUSTOM') {
    const p = r.object(spec.provider ?? {}, 'spec.provider');
    r.onlyKeys(p, 'spec.provider', ['name'], 'a provider has a name');
    provider = p.name === undefined ? '' : r.string(p.name, 'spec.provider.name');
    if (provider === '') throw r.error('spec.provider.name', '`provider.name` must not be empty');
  }
  const dryRun = readDryRun(obj, action, r);
  const rules = r.array(spec.rules ?? [], 'spec.rules').map((raw, i) => parseRule(r, raw, `spec.rules[${i}]`, action));
  const policy: AuthorizationPolicySpec = {
    name: obj.metadata.name,
    namespace: objectNamespace(obj),
    action,
    ...(provider !== undefined ? { provider } : {}),
    ...(targetRefs.length > 0 ? {} : { selector: readSelector(obj, 'selector', source) }),
    targetRefs,
    dryRun,
    rules,
  };
  parsed.set(obj, policy);
  return policy;
}

/** validation.go allowedTargetRefs, as `<group>/<kind>`. */
const TARGET_KINDS = ['core/Service', 'networking.istio.io/ServiceEntry', 'gateway.networking.k8s.io/Gateway', 'gateway.networking.k8s.io/GatewayClass'];

/** spec.targetRefs, else spec.targetRef (policyattachment.go GetTargetRefs). */
function readTargetRefs(r: FieldReader, spec: Record<string, unknown>): PolicyTargetReference[] {
  if (spec.targetRef !== undefined && spec.targetRef !== null && Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0) {
    throw r.error('spec.targetRefs', 'only one of targetRef or targetRefs can be set');
  }
  const refs =
    Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0
      ? spec.targetRefs
      : spec.targetRef === undefined || spec.targetRef === null
        ? []
        : [spec.targetRef];
  const at = Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0 ? (i: number) => `spec.targetRefs[${i}]` : () => 'spec.targetRef';
  return refs.map((raw, i) => {
    const o = r.object(raw, at(i));
    r.onlyKeys(o, at(i), ['group', 'kind', 'name', 'namespace'], 'a PolicyTargetReference');
    const text = (k: string) => (o[k] === undefined ? '' : r.string(o[k], `${at(i)}.${k}`));
    // validation.go validatePolicyTargetReference.
    if (text('name') === '') throw r.error(`${at(i)}.name`, 'targetRef name must be set');
    if (text('namespace') !== '') throw r.error(`${at(i)}.namespace`, 'targetRef namespace must not be set; cross namespace referencing is not supported');
    const kind = `${text('group') || 'core'}/${text('kind')}`;
    if (!TARGET_KINDS.includes(kind)) throw r.error(at(i), `targetRef must be to one of ${TARGET_KINDS.join(', ')} but was ${kind}`);
    return { group: text('group'), kind: text('kind'), name: text('name'), namespace: text('namespace') };
  });
}

/** validation.go checkDryRunAnnotation; builder.go isDryRun. */
function readDryRun(obj: K8sObject, action: AuthorizationAction, r: FieldReader): boolean {
  const value = obj.metadata.annotations?.['istio.io/dry-run'];
  if (value === undefined) return false;
  const at = 'metadata.annotations["istio.io/dry-run"]';
  if (action !== 'ALLOW' && action !== 'DENY')
    throw r.error(at, `the annotation istio.io/dry-run currently only supports action ALLOW/DENY, found action ${action}`);
  const b = GO_BOOLS[value];
  if (b === undefined) throw r.error(at, `invalid value ${JSON.stringify(value)} (true or false)`);
  return b;
}

function parseRule(r: FieldReader, raw: unknown, path: string, action: AuthorizationAction): AuthorizationRule {
  if (raw === null || raw === undefined) throw r.error(path, '`rule` must not be nil');
  const o = r.object(raw, path);
  r.onlyKeys(o, path, ['from', 'to', 'when'], 'not in the AuthorizationPolicy API');
  const from = r.array(o.from ?? [], `${path}.from`).map((f, i) => parseSource(r, f, `${path}.from[${i}]`, action));
  const to = r.array(o.to ?? [], `${path}.to`).map((t, i) => parseOperation(r, t, `${path}.to[${i}]`));
  const when = r.array(o.when ?? [], `${path}.when`).map((c, i) => parseCondition(r, c, `${path}.when[${i}]`, action));
  return { from, to, when };
}

/** Values that must not be empty strings (security.CheckEmptyValues). */
function values(r: FieldReader, raw: unknown, path: string): string[] | undefined {
  const list = r.optionalStringList(raw, path);
  list?.forEach((v, j) => {
    if (v === '') throw r.error(`${path}[${j}]`, 'empty value not allowed');
  });
  return list && list.length > 0 ? list : undefined;
}

const CUSTOM_REFUSED_SOURCES = new Set([
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
  'trustDomains',
  'notTrustDomains',
]);

function parseSource(r: FieldReader, raw: unknown, path: string, action: AuthorizationAction): AuthorizationSource {
  const fo = r.object(raw, path);
  r.onlyKeys(fo, path, ['source'], 'not in the AuthorizationPolicy API');
  const src = r.object(fo.source, `${path}.source`);
  r.onlyKeys(src, `${path}.source`, SOURCE_FIELDS, 'not in the AuthorizationPolicy API');
  const out: AuthorizationSource = {};
  for (const k of SOURCE_FIELDS) {
    const at = `${path}.source.${k}`;
    const list = values(r, src[k], at);
    if (!list) continue;
    if (action === 'CUSTOM' && CUSTOM_REFUSED_SOURCES.has(k))
      throw r.error(at, `From.${k.charAt(0).toUpperCase()}${k.slice(1)} is currently not supported with CUSTOM action`);
    if (/[Ii]pBlocks$/.test(k)) list.forEach((b, j) => checkIp(r, b, `${at}[${j}]`));
    if (k === 'serviceAccounts' || k === 'notServiceAccounts') checkServiceAccounts(r, list, at);
    if (k === 'trustDomains' || k === 'notTrustDomains') checkWildcards(r, list, at, true);
    out[k] = list;
  }
  if (Object.keys(out).length === 0) throw r.error(`${path}.source`, '`from.source` must not be empty');
  const identities = ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'] as const;
  if (identities.some((k) => out[k]) && (out.serviceAccounts || out.notServiceAccounts)) {
    throw r.error(`${path}.source`, 'cannot set serviceAccounts with namespaces or principals');
  }
  return out;
}

function parseOperation(r: FieldReader, raw: unknown, path: string): AuthorizationOperation {
  const to = r.object(raw, path);
  r.onlyKeys(to, path, ['operation'], 'not in the AuthorizationPolicy API');
  const op = r.object(to.operation, `${path}.operation`);
  r.onlyKeys(op, `${path}.operation`, OPERATION_FIELDS, 'not in the AuthorizationPolicy API');
  const out: AuthorizationOperation = {};
  for (const k of OPERATION_FIELDS) {
    const at = `${path}.operation.${k}`;
    const list = values(r, op[k], at);
    if (!list) continue;
    list.forEach((v, j) => {
      if ((k === 'ports' || k === 'notPorts') && !validPort(v)) throw r.error(`${at}[${j}]`, `bad port (${v})`);
      // pathGenerator writes a path template as Envoy's uri_template matcher, which the local data plane does not run.
      if ((k === 'paths' || k === 'notPaths') && /[{}]/.test(v))
        throw r.error(`${at}[${j}]`, 'path templates ({*}, {**}) are not executed by the local data plane');
    });
    out[k] = list;
  }
  if (Object.keys(out).length === 0) throw r.error(`${path}.operation`, '`to.operation` must not be empty');
  return out;
}

function parseCondition(r: FieldReader, raw: unknown, path: string, action: AuthorizationAction): AuthorizationCondition {
  const co = r.object(raw, path);
  r.onlyKeys(co, path, ['key', 'values', 'notValues'], 'not in the AuthorizationPolicy API');
  const key = r.string(co.key, `${path}.key`);
  if (key === '') throw r.error(`${path}.key`, '`key` must not be empty');
  const conditionValues = values(r, co.values, `${path}.values`) ?? [];
  const notValues = values(r, co.notValues, `${path}.notValues`) ?? [];
  if (conditionValues.length === 0 && notValues.length === 0) throw r.error(path, `at least one of \`values\` or \`notValues\` must be set for key ${key}`);
  if (key.startsWith('experimental.envoy.filters.')) throw r.error(`${path}.key`, `${key}: metadata of Envoy filters the local data plane does not run`);
  const mapKey = key.startsWith('request.headers') || key.startsWith('request.auth.claims');
  if (!CONDITION_KEYS.has(key) && !mapKey) throw r.error(`${path}.key`, `unknown attribute: ${key}`);
  if (mapKey && !validMapKey(key)) throw r.error(`${path}.key`, `bad key (${key}): should have format a[b]`);
  if (
    action === 'CUSTOM' &&
    (['source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal'].includes(key) || key.startsWith('request.auth.'))
  ) {
    throw r.error(`${path}.key`, `${key} is currently not supported with CUSTOM action`);
  }
  for (const [field, list] of [
    ['values', conditionValues],
    ['notValues', notValues],
  ] as const) {
    const at = `${path}.${field}`;
    list.forEach((v, j) => {
      if ((key === 'source.ip' || key === 'remote.ip' || key === 'destination.ip') && parseIpOrCidr(v) === undefined)
        throw r.error(`${at}[${j}]`, `bad IP address or CIDR range (${v})`);
      if (key === 'destination.port' && !validPort(v)) throw r.error(`${at}[${j}]`, `bad port (${v})`);
    });
    if (key === 'source.serviceAccount') checkServiceAccounts(r, list, at);
    if (key === 'source.trustDomain') checkWildcards(r, list, at, false);
  }
  return { key, values: conditionValues, notValues };
}

/** security.ValidatePorts: strconv.ParseUint(port, 10, 32) no larger than 65535. */
function validPort(v: string): boolean {
  return /^\d+$/.test(v) && Number(v) <= 65535;
}

/** security.validateMapKey: `a[b]` with a non-empty name. */
function validMapKey(key: string): boolean {
  const open = key.indexOf('[');
  return key.endsWith(']') && open > 0 && open < key.length - 2;
}

function checkIp(r: FieldReader, value: string, path: string): void {
  if (parseIpOrCidr(value) === undefined) throw r.error(path, `bad IP address or CIDR range (${value})`);
}

/** security.CheckServiceAccount. */
function checkServiceAccounts(r: FieldReader, list: string[], path: string): void {
  if (list.length > 16) throw r.error(path, 'may not have more than 16 values');
  list.forEach((v, j) => {
    const at = `${path}[${j}]`;
    if (v.includes('*')) throw r.error(at, 'wildcard not allowed');
    if (v.length > 320) throw r.error(at, 'value cannot exceed 320 characters');
    const parts = v.split('/');
    if (parts.length > 2 || parts.some((p) => p === ''))
      throw r.error(at, `expected format 'serviceAccount' or 'namespace/serviceAccount', found ${JSON.stringify(v)}`);
  });
}

/** security.CheckWildcardValues (and CheckTrustDomainValues: no `/`). */
function checkWildcards(r: FieldReader, list: string[], path: string, noSlash: boolean): void {
  list.forEach((v, j) => {
    const at = `${path}[${j}]`;
    const stars = v.split('*').length - 1;
    if (stars > 1) throw r.error(at, `at most one wildcard is allowed, found ${JSON.stringify(v)}`);
    if (stars === 1 && v !== '*' && !v.startsWith('*') && !v.endsWith('*'))
      throw r.error(at, `wildcard is only allowed at the start or end, found ${JSON.stringify(v)}`);
    if (noSlash && v.includes('/')) throw r.error(at, `trust domain must not contain '/', found ${JSON.stringify(v)}`);
  });
}
