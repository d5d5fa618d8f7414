// Seeded AuthorizationPolicies on the Bookinfo workloads for the fidelity corpora, every one valid for istiod's
// webhook (pkg/config/validation ValidateAuthorizationPolicy): ALLOW (and without an action), DENY, AUDIT and CUSTOM;
// the dry-run annotation; selectors by app and version, namespace-wide and root-namespace policies, targetRefs; rules
// with every source field (principals with wildcards and trust domains, request principals, namespaces, service
// accounts, trust domains, IP and remote IP blocks), every operation field (hosts, methods, paths with `*` prefixes and
// suffixes, ports), their not* forms, and `when` conditions on every key the local data plane runs. CUSTOM policies
// name the providers of AUTHZ_MESH_CONFIG (a valid one, one with every option, one whose service does not exist) or
// an undeclared one.
import type { K8sObject } from '../spec/types.ts';
import { BOOKINFO_NAMESPACE, GATEWAY_NAMESPACE } from './bookinfo.ts';
import type { Rand } from './corpus.ts';

/** Extension providers for CUSTOM policies, as the `istio` ConfigMap's `mesh` key (extauthz.go processExtensionProvider). */
export const AUTHZ_MESH_CONFIG = `extensionProviders:
- name: opa
  envoyExtAuthzGrpc:
    service: ratings.default.svc.cluster.local
    port: 9080
- name: opa-strict
  envoyExtAuthzGrpc:
    service: default/details.default.svc.cluster.local
    port: "9080"
    timeout: 0.5s
    failOpen: true
    statusOnError: "503"
- name: nowhere
  envoyExtAuthzGrpc:
    service: nowhere.default.svc.cluster.local
    port: 9191
- name: tracing
  zipkin:
    service: zipkin.istio-system.svc.cluster.local
    port: 9411
`;
const PROVIDERS = ['opa', 'opa', 'opa-strict', 'nowhere', 'undeclared', 'tracing'];

const APPS = ['productpage', 'details', 'reviews', 'ratings'] as const;
const SERVICE_ACCOUNTS = ['bookinfo-productpage', 'bookinfo-details', 'bookinfo-reviews', 'bookinfo-ratings'];

const PRINCIPALS = [
  ...SERVICE_ACCOUNTS.map((sa) => `cluster.local/ns/${BOOKINFO_NAMESPACE}/sa/${sa}`),
  `cluster.local/ns/${BOOKINFO_NAMESPACE}/*`,
  '*/sa/bookinfo-reviews',
  '*',
  // bundle.go ReplaceTrustDomainAliases: a trust domain matching cluster.local by a trailing `*` is rewritten, one by a
  // leading `*` kept, another one kept; a spiffe:// prefix is not stripped (matcher.StringMatcherWithPrefix adds another).
  'cluster*/ns/default/sa/bookinfo-productpage',
  '*local/ns/default/sa/bookinfo-ratings',
  'other.example/ns/default/sa/bookinfo-details',
  'spiffe://cluster.local/ns/default/sa/bookinfo-details',
];
const REQUEST_PRINCIPALS = [
  'https://issuer.example/user-1',
  'https://issuer.example/*',
  '*/user-1',
  '*',
  'issuer-only',
  '*suffix-only',
  'prefix-only*',
  '*issuer.example/user-2',
];
const NAMESPACES = [BOOKINFO_NAMESPACE, 'istio-*', '*', '*ault', 'foo.bar'];
const SOURCE_SERVICE_ACCOUNTS = ['bookinfo-reviews', `${BOOKINFO_NAMESPACE}/bookinfo-productpage`, `${GATEWAY_NAMESPACE}/istio-ingressgateway-service-account`];
const TRUST_DOMAINS = ['cluster.local', '*.local', '*', 'cluster.*', 'other.example'];
const IPS = ['10.244.0.0/16', '192.0.2.12', '10.0.0.1/8', '2001:DB8::/32', '::ffff:10.1.2.3', '0.0.0.0/0', 'fe80::0:1'];
const HOSTS = ['reviews', 'reviews.default.svc.cluster.local', '*.default.svc.cluster.local', 'Productpage:9080', 'ratings*', '*'];
const METHODS = ['GET', 'POST', 'DELETE', '*', 'P*'];
const PATHS = ['/ratings/*', '*/health', '/productpage', '*', '/api/v1/products/0'];
const PORTS = ['9080', '8080', '15021'];

/** `when` keys and the values drawn for them; CUSTOM refuses the identity ones (validation.go). */
const CONDITIONS: { key: string; values: string[]; identity?: boolean }[] = [
  { key: 'request.headers[x-token]', values: ['secret', '*', 'pre*', '*fix'] },
  { key: 'request.headers[User-Agent]', values: ['curl*', 'Mozilla'] },
  { key: 'source.ip', values: IPS },
  { key: 'remote.ip', values: IPS },
  { key: 'destination.ip', values: IPS },
  { key: 'destination.port', values: PORTS },
  { key: 'connection.sni', values: ['outbound_.9080_._.reviews.default.svc.cluster.local', '*.svc.cluster.local'] },
  { key: 'source.namespace', values: NAMESPACES, identity: true },
  { key: 'source.principal', values: PRINCIPALS, identity: true },
  { key: 'source.serviceAccount', values: SOURCE_SERVICE_ACCOUNTS, identity: true },
  { key: 'source.trustDomain', values: TRUST_DOMAINS, identity: true },
  { key: 'request.auth.principal', values: REQUEST_PRINCIPALS, identity: true },
  { key: 'request.auth.audiences', values: ['bookinfo', 'api*'], identity: true },
  { key: 'request.auth.presenter', values: ['client-1', '*'], identity: true },
  { key: 'request.auth.claims[groups]', values: ['admins', 'dev*', '*'], identity: true },
  { key: 'request.auth.claims[nested][role]', values: ['reader'], identity: true },
];

const meta = (name: string, namespace: string, annotations?: Record<string, string>) => ({ name, namespace, ...(annotations ? { annotations } : {}) });

/** Values and/or notValues of a field: at least one of them set. */
function valuesAndNot(r: Rand, choices: readonly string[], name: string, out: Record<string, unknown>): void {
  const which = r.int(0, 2);
  if (which !== 1) out[name] = r.some(choices, r.int(1, 2));
  if (which !== 0) out[`not${name.charAt(0).toUpperCase()}${name.slice(1)}`] = r.some(choices, r.int(1, 2));
}

function source(r: Rand, custom: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields: [string, readonly string[]][] = custom
    ? [
        ['ipBlocks', IPS],
        ['remoteIpBlocks', IPS],
      ]
    : [
        ['principals', PRINCIPALS],
        ['requestPrincipals', REQUEST_PRINCIPALS],
        ['namespaces', NAMESPACES],
        ['serviceAccounts', SOURCE_SERVICE_ACCOUNTS],
        ['trustDomains', TRUST_DOMAINS],
        ['ipBlocks', IPS],
        ['remoteIpBlocks', IPS],
      ];
  for (const [name, choices] of r.some(fields, r.int(1, 3))) valuesAndNot(r, choices, name, out);
  // validation.go: serviceAccounts cannot be set with namespaces or principals.
  if (['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].some((k) => k in out)) {
    delete out.serviceAccounts;
    delete out.notServiceAccounts;
  }
  return out;
}

function operation(r: Rand): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields: [string, readonly string[]][] = [
    ['hosts', HOSTS],
    ['methods', METHODS],
    ['paths', PATHS],
    ['ports', PORTS],
  ];
  for (const [name, choices] of r.some(fields, r.int(1, 3))) valuesAndNot(r, choices, name, out);
  return out;
}

function condition(r: Rand, custom: boolean): Record<string, unknown> {
  const c = r.pick(CONDITIONS.filter((x) => !custom || !x.identity));
  const out: Record<string, unknown> = { key: c.key };
  valuesAndNot(r, c.values, 'values', out);
  return out;
}

function rule(r: Rand, custom: boolean): Record<string, unknown> {
  if (r.chance(10)) return {};
  const out: Record<string, unknown> = {};
  if (r.chance(55)) out.from = Array.from({ length: r.int(1, 2) }, () => ({ source: source(r, custom) }));
  if (r.chance(55)) out.to = Array.from({ length: r.int(1, 2) }, () => ({ operation: operation(r) }));
  if (r.chance(35)) out.when = Array.from({ length: r.int(1, 2) }, () => condition(r, custom));
  return out;
}

/** Where a policy binds: one app (and version), a label no workload has, its whole namespace (the mesh from the root
 * namespace), or a targetRef (which binds no sidecar). */
function binding(r: Rand): { namespace: string; spec: Record<string, unknown> } {
  const namespace = r.chance(12) ? GATEWAY_NAMESPACE : BOOKINFO_NAMESPACE;
  const kind = r.int(0, 19);
  if (kind < 3) return { namespace, spec: {} };
  if (kind < 4)
    return {
      namespace,
      spec: {
        targetRef: r.pick([
          { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'bookinfo-gateway' },
          { kind: 'Service', name: 'reviews' },
        ]),
      },
    };
  if (kind < 5) return { namespace, spec: { selector: { matchLabels: { app: 'nothing-has-this' } } } };
  if (kind < 8) return { namespace, spec: { selector: { matchLabels: { app: 'reviews', version: r.pick(['v1', 'v2', 'v3']) } } } };
  return { namespace, spec: { selector: { matchLabels: { app: r.pick(APPS) } } } };
}

/** One AuthorizationPolicy; CUSTOM ones name one of `providers`. */
export function authorizationPolicy(r: Rand, name: string, providers: readonly string[] = PROVIDERS): K8sObject {
  const { namespace, spec } = binding(r);
  const picked = r.pick(['ALLOW', 'ALLOW', 'ALLOW', 'unset', 'DENY', 'DENY', 'DENY', 'AUDIT', 'CUSTOM', 'CUSTOM']);
  const action = picked === 'unset' ? undefined : picked;
  if (action) spec.action = action;
  const custom = action === 'CUSTOM';
  if (custom) spec.provider = { name: r.pick(providers) };
  // validation.go checkDryRunAnnotation: ALLOW and DENY only, a strconv.ParseBool value.
  const dryRun =
    (action === undefined || action === 'ALLOW' || action === 'DENY') && r.chance(20)
      ? { 'istio.io/dry-run': r.pick(['true', 'true', 'false', 'True', '1']) }
      : undefined;
  const allowLike = action === undefined || action === 'ALLOW';
  const shape = r.int(0, 99);
  // ALLOW without rules (or with an empty list) allows nothing; DENY and CUSTOM need rules (validation.go).
  if (allowLike && shape < 8) return policyObject(name, namespace, spec, dryRun);
  if (allowLike && shape < 14) return policyObject(name, namespace, { ...spec, rules: [] }, dryRun);
  spec.rules = Array.from({ length: r.int(1, 3) }, () => rule(r, custom));
  return policyObject(name, namespace, spec, dryRun);
}

function policyObject(name: string, namespace: string, spec: Record<string, unknown>, annotations?: Record<string, string>): K8sObject {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: meta(name, namespace, annotations), spec };
}
