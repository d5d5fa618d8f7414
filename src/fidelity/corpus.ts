// A seeded corpus of valid Istio resource sets on the Bookinfo hosts, for comparing the built-in translator with
// istiod: VirtualService matches, weights, retries, timeouts, faults, header operations and rewrites; DestinationRule
// subsets, policies, port-level settings, several rules per host and wildcard hosts; AuthorizationPolicy;
// PeerAuthentication (port-level, UNSET); RequestAuthentication; local-rate-limit EnvoyFilters (placed variously);
// exportTo; gateway bindings. Each set is what one might apply to Bookinfo at once; every one passes istiod's
// validating webhook (test/fidelity/corpus.test.ts checks it with the real validation). The same seed gives the same
// sets.
import { localRateLimitEnvoyFilter } from '../istio/ratelimit/envoy-filter.ts';
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import type { K8sObject } from '../spec/types.ts';
import { BOOKINFO_NAMESPACE, GATEWAY_NAMESPACE } from './bookinfo.ts';
import { must } from '../must.ts';
import { AUTHZ_MESH_CONFIG, authorizationPolicy } from './authz-corpus.ts';

export interface CorpusSet {
  /** `set-<seed>-<index>` */
  name: string;
  objects: K8sObject[];
}

/** The corpora's seeded random source (pure-rand xoroshiro128plus): the same seed draws the same sets. */
export class Rand {
  private readonly rng: RandomGenerator;
  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed);
  }
  int(from: number, to: number): number {
    return unsafeUniformIntDistribution(from, to, this.rng);
  }
  chance(percent: number): boolean {
    return this.int(0, 99) < percent;
  }
  pick<T>(items: readonly T[]): T {
    return must(items[this.int(0, items.length - 1)], 'the picked item (of an empty list?)');
  }
  /** `n` distinct items, in the order of `items`. */
  some<T>(items: readonly T[], n: number): T[] {
    const chosen = new Set<number>();
    while (chosen.size < Math.min(n, items.length)) chosen.add(this.int(0, items.length - 1));
    return [...chosen].sort((a, b) => a - b).map((i) => must(items[i], `item ${i} of ${items.length}`));
  }
  /** A generator of its own, seeded by one draw of this one: what it draws does not shift this one's later draws. */
  fork(): Rand {
    return new Rand(this.int(0, 0x7fffffff));
  }
}

const APPS = ['productpage', 'details', 'reviews', 'ratings'] as const;
type App = (typeof APPS)[number];
const VERSIONS: Record<App, string[]> = { productpage: ['v1'], details: ['v1'], reviews: ['v1', 'v2', 'v3'], ratings: ['v1'] };
const PORT = 9080;

/** The ways a host can be written: short, namespace-qualified, fully qualified. */
const hostName = (r: Rand, app: App) => r.pick([app, app, `${app}.${BOOKINFO_NAMESPACE}`, `${app}.${BOOKINFO_NAMESPACE}.svc.cluster.local`]);

const duration = (r: Rand, choices: string[]) => r.pick(choices);

const meta = (name: string, namespace = BOOKINFO_NAMESPACE) => ({ name, namespace });

const RETRY_ON = ['5xx', 'gateway-error', 'connect-failure', 'refused-stream', 'reset', 'retriable-4xx', 'unavailable', 'cancelled', '503', '429'];

function headerMatch(r: Rand): Record<string, unknown> {
  const value = r.pick(['jason', 'admin', 'test', 'beta']);
  return { [r.pick(['end-user', 'x-canary', 'x-user-group'])]: r.pick([{ exact: value }, { prefix: value.slice(0, 2) }, { regex: `${value}.*` }]) };
}

function httpMatch(r: Rand): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (r.chance(60)) m.headers = headerMatch(r);
  if (r.chance(50)) m.uri = r.pick([{ exact: '/productpage' }, { prefix: '/api/v1' }, { prefix: '/reviews' }, { regex: '/ratings/[0-9]+' }, { prefix: '/' }]);
  if (r.chance(15)) m.method = { exact: r.pick(['GET', 'POST']) };
  if (r.chance(10)) m.queryParams = { debug: { exact: 'true' } };
  if (Object.keys(m).length === 0) m.headers = headerMatch(r);
  return m;
}

function headerOperations(r: Rand): Record<string, unknown> {
  const ops: Record<string, unknown> = {};
  if (r.chance(60))
    ops.request = r.pick([
      { set: { 'x-fidelity': 'on' } },
      { add: { 'x-trace-tag': 'corpus' } },
      { remove: ['x-debug'] },
      { set: { 'x-a': '1' }, remove: ['x-b'] },
    ]);
  if (r.chance(50)) ops.response = r.pick([{ set: { 'x-served-by': 'mesh' } }, { add: { 'cache-control': 'no-store' } }, { remove: ['server'] }]);
  if (Object.keys(ops).length === 0) ops.request = { set: { 'x-fidelity': 'on' } };
  return ops;
}

/** Destinations for one route: one (optionally a subset), or several with weights that add up to 100. */
function destinations(r: Rand, app: App, subsets: string[], hostText: string): Record<string, unknown>[] {
  const destination = (subset?: string) => ({ host: hostText, ...(subset ? { subset } : {}), ...(r.chance(30) ? { port: { number: PORT } } : {}) });
  if (subsets.length < 2 || r.chance(40)) return [{ destination: destination(subsets.length > 0 && r.chance(70) ? r.pick(subsets) : undefined) }];
  const chosen = r.some(subsets, r.int(2, subsets.length));
  let left = 100;
  return chosen.map((subset, i) => {
    const weight = i === chosen.length - 1 ? left : r.int(0, left);
    left -= weight;
    return { destination: destination(subset), weight };
  });
}

function httpRoute(r: Rand, app: App, subsets: string[], hostText: string, last: boolean): Record<string, unknown> {
  const route: Record<string, unknown> = {};
  if (!last || r.chance(20)) route.match = Array.from({ length: r.int(1, 2) }, () => httpMatch(r));
  if (r.chance(20)) route.name = r.pick(['primary', 'canary', 'fallback']) + (last ? '-last' : '');
  route.route = destinations(r, app, subsets, hostText);
  if (r.chance(35)) route.timeout = duration(r, ['500ms', '1s', '2s', '10s']); // istiod refuses durations under 1ms (validateDuration)
  if (r.chance(35)) {
    const retries: Record<string, unknown> = { attempts: r.int(0, 5) };
    // attempts 0 disables retries, and istiod refuses any other retry field with it (validateHTTPRetry).
    if (retries.attempts !== 0 && r.chance(60)) retries.perTryTimeout = duration(r, ['100ms', '1s', '2s']);
    if (retries.attempts !== 0 && r.chance(60)) retries.retryOn = r.some(RETRY_ON, r.int(1, 3)).join(',');
    if (retries.attempts !== 0 && r.chance(15)) retries.retryRemoteLocalities = r.chance(50);
    route.retries = retries;
  }
  if (r.chance(25)) {
    const fault: Record<string, unknown> = {};
    if (r.chance(60)) fault.abort = { httpStatus: r.pick([500, 503, 429, 404]), percentage: { value: r.pick([0.1, 10, 50, 100]) } };
    if (!fault.abort || r.chance(40)) fault.delay = { fixedDelay: duration(r, ['100ms', '2s', '7s']), percentage: { value: r.pick([5, 10, 50, 100]) } };
    route.fault = fault;
  }
  if (r.chance(25)) route.headers = headerOperations(r);
  if (r.chance(12)) route.rewrite = r.pick([{ uri: '/' }, { authority: `${app}.${BOOKINFO_NAMESPACE}.svc.cluster.local` }, { uri: '/v2' }]);
  return route;
}

function virtualService(r: Rand, name: string, app: App, subsets: string[]): K8sObject {
  const hostText = hostName(r, app);
  const count = r.int(1, 3);
  const http = Array.from({ length: count }, (_, i) => httpRoute(r, app, subsets, hostText, i === count - 1));
  const spec: Record<string, unknown> = { hosts: [hostText], http };
  if (r.chance(15)) spec.exportTo = [r.pick(['.', '*'])];
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta(name), spec };
}

function trafficPolicy(r: Rand, depth: 'top' | 'port' | 'subset'): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (r.chance(50)) {
    const pool: Record<string, unknown> = {};
    if (r.chance(60)) pool.tcp = { maxConnections: r.pick([1, 5, 100]), ...(r.chance(30) ? { connectTimeout: duration(r, ['1s', '5s']) } : {}) };
    if (!pool.tcp || r.chance(60)) {
      const http: Record<string, unknown> = {};
      if (r.chance(60)) http.http1MaxPendingRequests = r.pick([1, 10, 1024]);
      if (r.chance(50)) http.maxRequestsPerConnection = r.pick([1, 10]);
      if (r.chance(40)) http.http2MaxRequests = r.pick([10, 100]);
      if (r.chance(30)) http.maxRetries = r.pick([0, 3, 10]);
      if (Object.keys(http).length === 0) http.http1MaxPendingRequests = 10;
      pool.http = http;
    }
    p.connectionPool = pool;
  }
  if (r.chance(40)) {
    const od: Record<string, unknown> = {};
    if (r.chance(70)) od.consecutive5xxErrors = r.pick([1, 3, 5]);
    if (r.chance(30)) od.consecutiveGatewayErrors = r.pick([1, 2]);
    if (r.chance(60)) od.interval = duration(r, ['1s', '10s']);
    if (r.chance(60)) od.baseEjectionTime = duration(r, ['30s', '3m']);
    if (r.chance(50)) od.maxEjectionPercent = r.pick([10, 50, 100]);
    if (Object.keys(od).length === 0) od.consecutive5xxErrors = 2;
    p.outlierDetection = od;
  }
  if (r.chance(35)) p.loadBalancer = { simple: r.pick(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM']) };
  if (depth !== 'port' && r.chance(20)) p.tls = { mode: r.pick(['ISTIO_MUTUAL', 'DISABLE']) };
  if (depth === 'top' && r.chance(25)) p.portLevelSettings = [{ port: { number: PORT }, ...trafficPolicyOrDefault(r) }];
  return p;
}

function trafficPolicyOrDefault(r: Rand): Record<string, unknown> {
  const p = trafficPolicy(r, 'port');
  return Object.keys(p).length > 0 ? p : { loadBalancer: { simple: 'LEAST_REQUEST' } };
}

function destinationRule(r: Rand, name: string, host: string, subsets: string[]): K8sObject {
  const spec: Record<string, unknown> = { host };
  const policy = trafficPolicy(r, 'top');
  if (Object.keys(policy).length > 0) spec.trafficPolicy = policy;
  if (subsets.length > 0) {
    spec.subsets = subsets.map((v) => {
      const subset: Record<string, unknown> = { name: v, labels: { version: v } };
      if (r.chance(15)) subset.trafficPolicy = trafficPolicyOrDefault(r);
      return subset;
    });
  }
  if (r.chance(15)) spec.exportTo = [r.pick(['.', '*'])];
  return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(name), spec };
}

function peerAuthentication(r: Rand, name: string): K8sObject {
  const mode = r.pick(['STRICT', 'PERMISSIVE', 'DISABLE']);
  const spec: Record<string, unknown> = { mtls: { mode } };
  const scope = r.int(0, 2);
  if (scope === 0) return { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: meta('default', GATEWAY_NAMESPACE), spec };
  if (scope === 2) {
    spec.selector = { matchLabels: { app: r.pick(APPS) } };
    if (r.chance(40)) spec.portLevelMtls = { [String(PORT)]: { mode: r.pick(['STRICT', 'PERMISSIVE', 'DISABLE']) } };
  }
  return { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: meta(scope === 1 ? 'default' : name), spec };
}

function localRateLimit(r: Rand, name: string): K8sObject {
  // Drawn in this order so that a seed gives the same corpus as before.
  const tokens = r.pick([1, 5, 20, 100]);
  const app = r.pick(APPS);
  const fillInterval = r.pick(['1s', '60s']);
  const enabledPercent = r.pick([50, 100]);
  const enforcedPercent = r.pick([0, 100]);
  const extra = r.chance(50) ? { response_headers_to_add: [{ append: false, header: { key: 'x-local-rate-limit', value: 'true' } }] } : {};
  const filter = localRateLimitEnvoyFilter({ name, app, maxTokens: tokens, tokensPerFill: tokens, fillInterval, enabledPercent, enforcedPercent, extra });
  return { ...filter, metadata: meta(name) };
}

/** Istio's sample JWKS (security/tools/jwt/samples/jwks.json): inline, so istiod fetches nothing. */
const SAMPLE_JWKS =
  '{"keys":[{"e":"AQAB","kid":"k1","kty":"RSA","n":"xAE7eB6qugXyCAG3yhh7pkDkT65pHymX-P7KfIupjf59vsdo91bSP9C8H07pSAGQO1MV_xFj9VswgsCg4R6otmg5PV2He95lZdHtOcU5DXIg_pbhLdKXbi66GlVeK6ABZOUW3WYtnNHD-91gVuoeJT_DwtGGcp4ignkgXfkiEm4sw-4sfb4qdt5oLbyVpmW6x9cfa7vs2WTfURiCrBoUqgBo_-4WTiULmmHSGZHOjzwa8WtrtOQGsAFjIbno85jp6MnGGGZPYZbDAa_b3y5u-YpW7ypZrvD8BgtKVjgtQgZhLAGezMt0ua3DRrWnKqTZ0BJ_EyxOGuHJrLsn00fnMQ"}]}';

/** A RequestAuthentication (jwt_authn on the inbound listener): one workload, the namespace or the mesh; one or two
 * issuers with the optional token locations and outputs istiod translates. */
function requestAuthentication(r: Rand, name: string): K8sObject {
  const scope = r.int(0, 5);
  const namespace = scope === 0 ? GATEWAY_NAMESPACE : BOOKINFO_NAMESPACE;
  const spec: Record<string, unknown> = {};
  if (scope >= 2) spec.selector = { matchLabels: { app: r.pick(APPS) } };
  spec.jwtRules = r.some(['testing@secure.istio.io', 'https://accounts.example.com', 'https://b.example.com'], r.int(1, 2)).map((issuer) => {
    const rule: Record<string, unknown> = { issuer, jwks: SAMPLE_JWKS };
    if (r.chance(40)) rule.audiences = r.some(['bookinfo', 'ratings', 'reviews'], r.int(1, 2));
    if (r.chance(30)) rule.fromHeaders = [{ name: 'x-jwt', prefix: 'Bearer ' }];
    if (r.chance(20)) rule.fromParams = ['token'];
    if (r.chance(20)) rule.forwardOriginalToken = true;
    if (r.chance(15)) rule.outputPayloadToHeader = 'x-jwt-payload';
    if (r.chance(15)) rule.spaceDelimitedClaims = ['roles'];
    return rule;
  });
  return { apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', metadata: meta(name, namespace), spec };
}

/** A workload PeerAuthentication whose own mode may be UNSET (inherited) with port-level modes, UNSET among them, on
 * the Service's target port and on a port no Service targets (istiod adds a passthrough chain for it). */
function portLevelPeerAuthentication(r: Rand, name: string): K8sObject {
  const mode = () => (r.chance(25) ? {} : { mode: r.pick(['STRICT', 'PERMISSIVE', 'DISABLE']) });
  const spec: Record<string, unknown> = { selector: { matchLabels: { app: r.pick(APPS) } } };
  if (r.chance(60)) spec.mtls = mode();
  const ports = r.some([String(PORT), '9090', '15010'], r.int(1, 2));
  spec.portLevelMtls = Object.fromEntries(ports.map((p) => [p, mode()]));
  return { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: meta(name), spec };
}

/** The local-rate-limit EnvoyFilter placed otherwise: before the router, first, after CORS; from the root namespace
 * or for the whole namespace; with a priority; on the Service's port only. */
function placedRateLimit(r: Rand, name: string): K8sObject {
  const filter = localRateLimitEnvoyFilter({ name, app: r.pick(APPS), maxTokens: r.pick([2, 50]), tokensPerFill: 1, fillInterval: '1s' });
  type Patch = { match: { listener: { portNumber?: number; filterChain: { filter: { subFilter?: { name: string } } } } }; patch: { operation: string } };
  const spec = filter.spec as { workloadSelector?: unknown; priority?: number; configPatches: Patch[] };
  const patch = must(spec.configPatches[0], 'the rate-limit patch');
  const [operation, subFilter] = r.pick([
    ['INSERT_BEFORE', 'envoy.filters.http.router'],
    ['INSERT_FIRST', undefined],
    ['INSERT_AFTER', 'envoy.filters.http.cors'],
  ] as const);
  patch.patch.operation = operation;
  if (subFilter) patch.match.listener.filterChain.filter.subFilter = { name: subFilter };
  if (r.chance(30)) patch.match.listener.portNumber = PORT;
  if (r.chance(30)) delete spec.workloadSelector;
  if (r.chance(30)) spec.priority = r.pick([-1, 1]);
  return { ...filter, metadata: meta(name, r.chance(30) ? GATEWAY_NAMESPACE : BOOKINFO_NAMESPACE) };
}

/** The Bookinfo ingress (scenarios/bookinfo/bookinfo-gateway.yaml) with variations: the Gateway's namespace, its
 * hosts in `namespace/host` form, and the binding written with or without the Gateway's namespace. */
function gatewayBinding(r: Rand): K8sObject[] {
  const gatewayNamespace = r.pick([BOOKINFO_NAMESPACE, GATEWAY_NAMESPACE]);
  const serverHosts = r
    .pick([['*'], [`${BOOKINFO_NAMESPACE}/*`], ['*/*'], [`./*`]])
    .map((h) => (h === './*' && gatewayNamespace !== BOOKINFO_NAMESPACE ? '*/*' : h));
  const gateway: K8sObject = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: meta('bookinfo-gateway', gatewayNamespace),
    spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: serverHosts }] },
  };
  const reference = gatewayNamespace === BOOKINFO_NAMESPACE && r.chance(50) ? 'bookinfo-gateway' : `${gatewayNamespace}/bookinfo-gateway`;
  const http: Record<string, unknown>[] = [
    {
      match: [
        { uri: { exact: '/productpage' } },
        { uri: { prefix: '/static' } },
        { uri: { exact: '/login' } },
        { uri: { exact: '/logout' } },
        { uri: { prefix: '/api/v1/products' } },
      ],
      route: [{ destination: { host: 'productpage', port: { number: PORT } } }],
    },
  ];
  if (r.chance(40)) http.push({ route: [{ destination: { host: 'productpage', port: { number: PORT } } }], ...(r.chance(50) ? { timeout: '5s' } : {}) });
  const virtualService: K8sObject = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: meta('bookinfo'),
    spec: { hosts: ['*'], gateways: [reference], http },
  };
  return [gateway, virtualService];
}

/** One resource set. */
export function corpusSet(seed: number, index: number): CorpusSet {
  const r = new Rand(seed * 100_003 + index);
  const objects: K8sObject[] = [];
  // DestinationRules first (as `kubectl apply` of a folder would often order them), then the routes that use them.
  const subsetsOf = new Map<App, string[]>();
  const ruleCount = r.int(0, 3);
  for (let i = 0; i < ruleCount; i++) {
    const kind = r.int(0, 9);
    if (kind === 0) {
      objects.push(destinationRule(r, `wildcard-${i}`, r.pick(['*.local', `*.${BOOKINFO_NAMESPACE}.svc.cluster.local`]), []));
      continue;
    }
    const app = r.pick(APPS);
    const known = subsetsOf.get(app) ?? [];
    // A second rule for a host defines other subsets (istiod merges them; a repeated subset name is ignored).
    const fresh = VERSIONS[app].filter((v) => !known.includes(v));
    const subsets = r.chance(75) ? r.some(fresh, r.int(1, Math.max(1, fresh.length))) : [];
    subsetsOf.set(app, [...known, ...subsets]);
    objects.push(destinationRule(r, `${app}-${i}`, hostName(r, app), subsets));
  }
  for (const app of r.some(APPS, r.int(0, 3))) objects.push(virtualService(r, app, app, subsetsOf.get(app) ?? []));
  if (r.chance(25)) objects.push(...gatewayBinding(r));
  for (let i = 0; i < (r.chance(35) ? r.int(1, 2) : 0); i++) objects.push(authorizationPolicy(r.fork(), `authz-${i}`));
  if (r.chance(30)) objects.push(peerAuthentication(r, 'mtls'));
  if (r.chance(15)) objects.push(localRateLimit(r, 'local-ratelimit'));
  // Drawn after everything above, so a seed's earlier objects stay as they were.
  if (r.chance(12)) objects.push(requestAuthentication(r, 'jwt'));
  if (r.chance(10)) objects.push(portLevelPeerAuthentication(r, 'mtls-ports'));
  if (r.chance(10)) objects.push(placedRateLimit(r, 'local-ratelimit-placed'));
  if (objects.length === 0) objects.push(virtualService(r, 'reviews', 'reviews', []));
  return { name: `set-${seed}-${index}`, objects };
}

export function corpus(seed: number, count: number): CorpusSet[] {
  return Array.from({ length: count }, (_, i) => corpusSet(seed, i));
}

export interface AuthzCorpusSet extends CorpusSet {
  /** The mesh config's YAML (AUTHZ_MESH_CONFIG's extension providers), or istiod's defaults when absent. */
  meshConfig?: string;
}

/** `authz-<seed>-<index>`: one to four AuthorizationPolicies (src/fidelity/authz-corpus.ts), most with AUTHZ_MESH_CONFIG's providers. */
export function authorizationCorpus(seed: number, count: number): AuthzCorpusSet[] {
  return Array.from({ length: count }, (_, index) => {
    const r = new Rand(seed * 100_019 + index);
    const objects = Array.from({ length: r.int(1, 4) }, (__, i) => authorizationPolicy(r.fork(), `authz-${i}`));
    return { name: `authz-${seed}-${index}`, objects, ...(r.chance(80) ? { meshConfig: AUTHZ_MESH_CONFIG } : {}) };
  });
}
