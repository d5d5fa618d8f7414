// The Istio networking model the local proxies evaluate: parsing, route matching, weights, retry policies.
import { describe, expect, it } from 'vitest';
import { checkMtlsEnabled, effectiveTrafficPolicy, endpointTlsMode, parseDestinationRule } from '../../src/istio/networking/destination-rule.ts';
import { backoffMs, effectiveRetryPolicy, isRetriable } from '../../src/istio/networking/retry.ts';
import { firstMatchingRule, pickDestination, rulesFor, type RequestFacts } from '../../src/istio/networking/routing.ts';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import { yaml } from './helpers.ts';

const facts = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  path: '/reviews/0', query: '', method: 'GET', authority: 'reviews:9080', headers: {}, port: 9080, scheme: 'http',
  gateway: 'mesh', sourceLabels: { app: 'productpage', version: 'v1' }, sourceNamespace: 'default', ...over,
});

describe('Istio default retry policy (pilot/pkg/networking/core/route/retry/retry.go)', () => {
  it('applies 2 retries on connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', () => {
    const p = effectiveRetryPolicy(undefined, false)!;
    expect(p.numRetries).toBe(2);
    expect([...p.retryOn].sort()).toEqual(['cancelled', 'connect-failure', 'refused-stream', 'retriable-status-codes', 'unavailable']);
    expect(p.previousHosts).toBe(true);
    expect(p.hostSelectionRetryMaxAttempts).toBe(5);
  });

  it('retries a workload 503 by default up to Istio 1.23 only', () => {
    const response503 = { kind: 'response', status: 503, overloaded: false } as const;
    expect(isRetriable(effectiveRetryPolicy(undefined, true)!, response503)).toBe(true);
    expect(isRetriable(effectiveRetryPolicy(undefined, false)!, response503)).toBe(false);
  });

  it('attempts: 0 disables retries; integers in retryOn become retriable status codes', () => {
    expect(effectiveRetryPolicy({ attempts: 0 }, true)).toBeUndefined();
    const p = effectiveRetryPolicy({ attempts: 3, retryOn: 'gateway-error,429' }, false)!;
    expect(p.numRetries).toBe(3);
    expect(p.retryOn.has('retriable-status-codes')).toBe(true);
    expect(isRetriable(p, { kind: 'response', status: 429, overloaded: false })).toBe(true);
    expect(isRetriable(p, { kind: 'response', status: 500, overloaded: false })).toBe(false);
    expect(isRetriable(p, { kind: 'per-try-timeout' })).toBe(true);
  });

  it('a policy without retryOn keeps the default conditions (and, up to 1.23, 503)', () => {
    const p = effectiveRetryPolicy({ attempts: 4 }, true)!;
    expect(p.numRetries).toBe(4);
    expect(isRetriable(p, { kind: 'response', status: 503, overloaded: false })).toBe(true);
  });

  it('never retries an overflow or an x-envoy-overloaded response', () => {
    const p = effectiveRetryPolicy({ attempts: 3, retryOn: '5xx' }, true)!;
    expect(isRetriable(p, { kind: 'overflow' })).toBe(false);
    expect(isRetriable(p, { kind: 'response', status: 503, overloaded: true })).toBe(false);
  });

  it('backs off as backoff_strategy.cc nextBackOffMs: intervals 25, 50, 100, 200 then the 250 ms maximum, wait in [0, interval)', () => {
    const p = effectiveRetryPolicy(undefined, false)!;
    const ceiling = (n: number) => backoffMs(p, n, 0.99999) + 1;
    expect([1, 2, 3, 4, 5, 6].map(ceiling)).toEqual([25, 50, 100, 200, 250, 250]);
    expect(backoffMs(p, 3, 0)).toBe(0);
    expect(backoffMs(p, 2, 0.5)).toBe(25);
    // A 40 ms base (VirtualService retries with a back-off) has a 400 ms maximum: 40, 80, 160, 320, 400.
    const slow = { ...p, backoffBaseMs: 40, backoffMaxMs: 400 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(slow, n, 0.99999) + 1)).toEqual([40, 80, 160, 320, 400]);
  });
});

describe('route matching (istio/api virtual_service.proto HTTPMatchRequest)', () => {
  const vs = parseVirtualService(yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers: { end-user: { exact: jason } }
    - headers: { x-canary: {} }
    route: [{ destination: { host: reviews, subset: v2 } }]
  - name: regex
    match: [{ uri: { regex: '/reviews/[0-9]' }, method: { exact: GET } }]
    route: [{ destination: { host: reviews, subset: v3 } }]
  - name: rest
    route: [{ destination: { host: reviews, subset: v1 } }]
`)[0]);

  it('takes the first rule whose match applies; match blocks are ORed; `{}` means present', () => {
    const rules = rulesFor([vs], 'reviews.default.svc.cluster.local', 'mesh')!.rules;
    expect(firstMatchingRule(rules, facts({ headers: { 'end-user': 'jason' } }))?.name).toBe('jason');
    expect(firstMatchingRule(rules, facts({ headers: { 'x-canary': '' } }))?.name).toBe('jason');
    expect(firstMatchingRule(rules, facts({ headers: { 'end-user': 'Jason' } }))?.name).toBe('regex');
  });

  it('matches regexes against the whole path (RE2 full match)', () => {
    const rules = rulesFor([vs], 'reviews.default.svc.cluster.local', 'mesh')!.rules;
    expect(firstMatchingRule(rules, facts({ path: '/reviews/12' }))?.name).toBe('rest');
    expect(firstMatchingRule(rules, facts({ path: '/reviews/1' }))?.name).toBe('regex');
  });

  it('finds the VirtualService by short name or FQDN, not for other hosts or gateways', () => {
    expect(rulesFor([vs], 'reviews.default.svc.cluster.local', 'mesh')).toBeDefined();
    expect(rulesFor([vs], 'ratings.default.svc.cluster.local', 'mesh')).toBeUndefined();
    expect(rulesFor([vs], 'reviews.default.svc.cluster.local', 'bookinfo-gateway')).toBeUndefined();
  });

  it('picks weighted destinations as relative shares and never a zero weight', () => {
    const route = parseVirtualService(yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v1 }, weight: 1 }, { destination: { host: reviews, subset: v2 }, weight: 0 }, { destination: { host: reviews, subset: v3 }, weight: 3 }] }]
`)[0]).http[0].route;
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const d = pickDestination(route, (i + 0.5) / 1000);
      counts[d.subset!] = (counts[d.subset!] ?? 0) + 1;
    }
    expect(counts).toEqual({ v1: 250, v3: 750 });
  });

  it('reads fault percentages as parts per million; no percentage injects nothing', () => {
    const fault = (f: string) => parseVirtualService(yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r }
spec:
  hosts: [ratings]
  http: [{ fault: ${f}, route: [{ destination: { host: ratings } }] }]
`)[0]).http[0].fault!;
    expect(fault('{ abort: { httpStatus: 500, percentage: { value: 0.25 } } }').abort).toEqual({ httpStatus: 500, ppm: 2500 });
    expect(fault('{ abort: { httpStatus: 500 } }').abort!.ppm).toBe(0);
    expect(fault('{ delay: { fixedDelay: 7s, percent: 50 } }').delay).toEqual({ fixedDelayMs: 7000, ppm: 500_000 });
  });
});

describe('DestinationRule traffic policies (istio/api destination_rule.proto)', () => {
  const dr = parseDestinationRule(yaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { simple: RANDOM }
    connectionPool: { tcp: { maxConnections: 10 } }
    portLevelSettings:
    - port: { number: 9080 }
      connectionPool: { http: { http1MaxPendingRequests: 2 } }
  subsets:
  - name: v1
    labels: { version: v1 }
    trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN }, outlierDetection: { consecutive5xxErrors: 2 } }
  - name: v2
    labels: { version: v2 }
`)[0]);

  it('subset settings override the rule one group at a time (util.go MergeSubsetTrafficPolicy)', () => {
    expect(effectiveTrafficPolicy(dr, 'v2', 80)).toEqual({ loadBalancer: 'RANDOM', connectionPool: { maxConnections: 10 } });
    const v1 = effectiveTrafficPolicy(dr, 'v1', 80);
    expect(v1.loadBalancer).toBe('ROUND_ROBIN');
    expect(v1.outlierDetection).toMatchObject({ consecutive5xxErrors: 2, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 10, minHealthPercent: 0 });
  });
});

describe('portLevelSettings replace, not inherit (util.go GetPortLevelTrafficPolicy, destination_rule.go MergeTrafficPolicy)', () => {
  const dr = parseDestinationRule(yaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { simple: RANDOM }
    connectionPool: { tcp: { maxConnections: 10 } }
    outlierDetection: { consecutive5xxErrors: 3 }
    portLevelSettings:
    - port: { number: 9080 }
      connectionPool: { http: { http1MaxPendingRequests: 2 } }
  subsets:
  - name: v1
    labels: { version: v1 }
    trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
  - name: v3
    labels: { version: v3 }
    trafficPolicy:
      loadBalancer: { simple: ROUND_ROBIN }
      portLevelSettings:
      - port: { number: 9080 }
        outlierDetection: { consecutive5xxErrors: 7 }
`)[0]);

  it('the rule\'s settings for a port drop the groups they leave out (defaults apply, not the top-level values)', () => {
    expect(effectiveTrafficPolicy(dr, undefined, 9080)).toEqual({ connectionPool: { http1MaxPendingRequests: 2 } });
    expect(effectiveTrafficPolicy(dr, undefined, 80)).toMatchObject({ loadBalancer: 'RANDOM', connectionPool: { maxConnections: 10 } });
  });

  it('a subset without port settings overrides the rule\'s port-level policy group by group', () => {
    expect(effectiveTrafficPolicy(dr, 'v1', 9080)).toEqual({ loadBalancer: 'ROUND_ROBIN', connectionPool: { http1MaxPendingRequests: 2 } });
  });

  it('a subset\'s settings for the port replace every group, its own top level included', () => {
    const v3 = effectiveTrafficPolicy(dr, 'v3', 9080);
    expect(v3.loadBalancer).toBeUndefined();
    expect(v3.connectionPool).toBeUndefined();
    expect(v3.outlierDetection?.consecutive5xxErrors).toBe(7);
    expect(effectiveTrafficPolicy(dr, 'v3', 80)).toMatchObject({ loadBalancer: 'ROUND_ROBIN', connectionPool: { maxConnections: 10 } });
  });
});

describe('EDS tlsMode per endpoint (pilot/pkg/xds/endpoints/mtls_checker.go)', () => {
  const dr = parseDestinationRule(yaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: details }
spec:
  host: details
  trafficPolicy:
    tls: { mode: DISABLE }
    portLevelSettings: [{ port: { number: 9080 }, connectionPool: { tcp: { maxConnections: 5 } } }]
  subsets:
  - { name: v1, labels: { version: v1 }, trafficPolicy: { tls: { mode: ISTIO_MUTUAL } } }
  - { name: v2, labels: { version: v2 } }
`)[0]);

  it('tlsModeForDestinationRule: a port-level setting without tls keeps the policy\'s mode; a subset without one falls back to the rule', () => {
    expect(endpointTlsMode(dr, undefined, 9080)).toBe('DISABLE');
    expect(effectiveTrafficPolicy(dr, undefined, 9080).tls).toBeUndefined(); // the cluster itself is left to auto mTLS
    expect(endpointTlsMode(dr, 'v1', 9080)).toBe('ISTIO_MUTUAL');
    expect(endpointTlsMode(dr, 'v2', 9080)).toBe('DISABLE');
    expect(endpointTlsMode(undefined, undefined, 9080)).toBeUndefined();
  });

  it('checkMtlsEnabled: the rule\'s mode decides; else a sidecar gets mTLS unless its PeerAuthentication is DISABLE', () => {
    expect(checkMtlsEnabled('ISTIO_MUTUAL', true, 'DISABLE')).toBe(true);
    expect(checkMtlsEnabled('DISABLE', true, 'STRICT')).toBe(false);
    expect(checkMtlsEnabled(undefined, true, 'DISABLE')).toBe(false);
    expect(checkMtlsEnabled(undefined, true, 'PERMISSIVE')).toBe(true);
    expect(checkMtlsEnabled(undefined, false, 'STRICT')).toBe(false);
  });
});

describe('VirtualService exportTo for sidecars (push_context.go initVirtualServices: `.` is the own namespace)', () => {
  const vs = (ns: string, exportTo: string) => parseVirtualService(yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-${ns}, namespace: ${ns} }
spec:
  hosts: [reviews.default.svc.cluster.local]
  exportTo: ${exportTo}
  http: [{ route: [{ destination: { host: reviews.default.svc.cluster.local, subset: v3 } }] }]
`)[0]);

  it('a VirtualService exported to `.` in istio-system does not route default\'s sidecars; one exported to default does', () => {
    expect(rulesFor([vs('istio-system', "['.']")], 'reviews.default.svc.cluster.local', 'mesh', { proxyNamespace: 'default' })).toBeUndefined();
    expect(rulesFor([vs('istio-system', "['.']")], 'reviews.default.svc.cluster.local', 'mesh', { proxyNamespace: 'istio-system' })).toBeDefined();
    expect(rulesFor([vs('istio-system', '[default]')], 'reviews.default.svc.cluster.local', 'mesh', { proxyNamespace: 'default' })).toBeDefined();
    expect(vs('default', "['.']").exportTo).toEqual(['default']);
  });
});

describe('sourceMatchHTTP (route.go): gateways in a match decide alone', () => {
  const rule = parseVirtualService(yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match: [{ gateways: [mesh], sourceLabels: { app: nobody }, sourceNamespace: elsewhere }]
    route: [{ destination: { host: reviews, subset: v3 } }]
`)[0]).http;

  it('a match with gateways [mesh] applies to every sidecar whatever its sourceLabels and sourceNamespace say', () => {
    expect(firstMatchingRule(rule, facts())).toBe(rule[0]);
    expect(firstMatchingRule(rule, facts({ gateway: 'default/bookinfo-gateway' }))).toBeUndefined();
  });
});

describe('which VirtualService a sidecar uses for a host (VirtualServicesForGateway order, first domain wins)', () => {
  const vs = (name: string, exportTo: string | undefined, createdAt: number) => parseVirtualService(yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name} }
spec:
  hosts: [reviews]
${exportTo ? `  exportTo: ${exportTo}\n` : ''}  http: [{ route: [{ destination: { host: reviews, subset: ${name} } }] }]
`)[0], createdAt);

  it('a private VirtualService of the proxy\'s namespace comes before an older public one', () => {
    const found = rulesFor([vs('public', undefined, 1), vs('private', "['.']", 2)], 'reviews.default.svc.cluster.local', 'mesh', { proxyNamespace: 'default' });
    expect(found?.services.map((s) => s.name)).toEqual(['private']);
    const publicOnly = rulesFor([vs('older', undefined, 1), vs('newer', undefined, 2)], 'reviews.default.svc.cluster.local', 'mesh', { proxyNamespace: 'default' });
    expect(publicOnly?.services.map((s) => s.name)).toEqual(['older']);
  });
});
