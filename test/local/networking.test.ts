// The Istio networking model as the local proxies execute it: VirtualServices translated to Envoy routes by the
// built-in control plane (src/istio/xds/routes.ts), then routed and retried by src/envoy/runtime; DestinationRule
// traffic policies and EDS tlsMode.
import { describe, expect, it } from 'vitest';
import { backoffMs, evaluateRetryPolicy, wouldRetry } from '../../src/envoy/runtime/retry.ts';
import { pickCluster } from '../../src/envoy/runtime/routes.ts';
import { checkMtlsEnabled, effectiveTrafficPolicy, endpointTlsMode, parseDestinationRule } from '../../src/istio/networking/destination-rule.ts';
import { parseGateway } from '../../src/istio/networking/gateway.ts';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import { retryPolicy } from '../../src/istio/xds/routes.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';
import { bookinfoRegistryInput, clusterUnder, ingressProxy, routeIn, sidecarCluster } from '../support/envoy-routing.ts';
import { yaml, yamlObject } from './helpers.ts';
import { must } from '../../src/must.ts';

const cluster = (subset: string, host = 'reviews') => `outbound|9080|${subset}|${host}.default.svc.cluster.local`;

/** The Envoy retry policy istiod writes for a `retries` block (undefined: none set) at an Istio version. */
const policyFor = (retries: string | undefined, version = '1.28.0') => {
  const spec =
    retries === undefined
      ? undefined
      : must(
          parseVirtualService(
            yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r }
spec:
  hosts: [reviews]
  http: [{ retries: ${retries}, route: [{ destination: { host: reviews } }] }]
`),
          ).http[0],
          'the first HTTP route',
        ).retries;
  return evaluateRetryPolicy(retryPolicy(spec, bookinfoRegistryInput([], { version })));
};

describe('Istio default retry policy (pilot/pkg/networking/core/route/retry/retry.go) as Envoy runs it', () => {
  it('applies 2 retries on connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', () => {
    const p = policyFor(undefined)!;
    expect(p.numRetries).toBe(2);
    expect([...p.retryOn].sort()).toEqual(['cancelled', 'connect-failure', 'refused-stream', 'retriable-status-codes', 'unavailable']);
    expect(p.avoidPreviousHosts).toBe(true);
    expect(p.hostSelectionMaxAttempts).toBe(5);
  });

  it('retries a workload 503 by default up to Istio 1.23 only', () => {
    const response503 = { kind: 'response', status: 503 } as const;
    expect(wouldRetry(policyFor(undefined, '1.23.0'), response503)).toBe(true);
    expect(wouldRetry(policyFor(undefined, '1.24.0'), response503)).toBe(false);
  });

  it('attempts: 0 disables retries; integers in retryOn become retriable status codes', () => {
    expect(policyFor('{ attempts: 0 }', '1.23.0')).toBeUndefined();
    const p = policyFor("{ attempts: 3, retryOn: 'gateway-error,429' }")!;
    expect(p.numRetries).toBe(3);
    expect(p.retryOn.has('retriable-status-codes')).toBe(true);
    expect(wouldRetry(p, { kind: 'response', status: 429 })).toBe(true);
    expect(wouldRetry(p, { kind: 'response', status: 500 })).toBe(false);
    expect(wouldRetry(p, { kind: 'per-try-timeout' })).toBe(true);
  });

  it('a policy without retryOn keeps the default conditions (and, up to 1.23, 503)', () => {
    const p = policyFor('{ attempts: 4 }', '1.23.0')!;
    expect(p.numRetries).toBe(4);
    expect(wouldRetry(p, { kind: 'response', status: 503 })).toBe(true);
  });

  it('never retries an overflow or an x-envoy-overloaded response', () => {
    const p = policyFor("{ attempts: 3, retryOn: '5xx' }")!;
    expect(wouldRetry(p, { kind: 'overflow' })).toBe(false);
    expect(wouldRetry(p, { kind: 'response', status: 503, headers: { 'x-envoy-overloaded': 'true' } })).toBe(false);
    expect(wouldRetry(p, { kind: 'response', status: 503 })).toBe(true);
  });

  it('backs off as backoff_strategy.cc nextBackOffMs: intervals 25, 50, 100, 200 then the 250 ms maximum, wait in [0, interval)', () => {
    const p = policyFor(undefined)!;
    const ceiling = (n: number) => backoffMs(p, n, () => 0.99999) + 1;
    expect([1, 2, 3, 4, 5, 6].map(ceiling)).toEqual([25, 50, 100, 200, 250, 250]);
    expect(backoffMs(p, 3, () => 0)).toBe(0);
    expect(backoffMs(p, 2, () => 0.5)).toBe(25);
    // A 40 ms base (VirtualService retries with a back-off) has a 400 ms maximum: 40, 80, 160, 320, 400.
    const slow = { ...p, backoffBaseMs: 40, backoffMaxMs: 400 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(slow, n, () => 0.99999) + 1)).toEqual([40, 80, 160, 320, 400]);
  });
});

describe('route matching (istio/api virtual_service.proto HTTPMatchRequest) through the translated routes', () => {
  const vs = parseVirtualService(
    yamlObject(`
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
`),
  );
  const input = bookinfoRegistryInput([vs]);

  it('takes the first rule whose match applies; match blocks are ORed; `{}` means present', () => {
    expect(sidecarCluster(input, { headers: { 'end-user': 'jason' } })).toBe(cluster('v2'));
    expect(sidecarCluster(input, { headers: { 'x-canary': '' } })).toBe(cluster('v2'));
    expect(sidecarCluster(input, { headers: { 'end-user': 'Jason' } })).toBe(cluster('v3'));
  });

  it('matches regexes against the whole path (RE2 full match)', () => {
    expect(sidecarCluster(input, { path: '/reviews/12' })).toBe(cluster('v1'));
    expect(sidecarCluster(input, { path: '/reviews/1' })).toBe(cluster('v3'));
  });

  it('applies the VirtualService to its host by short name or FQDN, not to other hosts', () => {
    expect(sidecarCluster(input, { authority: 'reviews.default.svc.cluster.local:9080', path: '/' })).toBe(cluster('v1'));
    expect(sidecarCluster(input, { authority: 'ratings:9080' })).toBe('outbound|9080||ratings.default.svc.cluster.local');
  });

  it('splits weighted destinations as relative shares and never picks a zero weight', () => {
    const split = parseVirtualService(
      yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v1 }, weight: 1 }, { destination: { host: reviews, subset: v2 }, weight: 0 }, { destination: { host: reviews, subset: v3 }, weight: 3 }] }]
`),
    );
    const action = routeIn(
      buildRoutes(bookinfoRegistryInput([split]), { type: 'sidecar', podName: 'p', namespace: 'default', ip: '10.0.0.1', labels: {}, serviceAccount: 'p' }),
      '9080',
    )!.route!;
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const [, , subset = ''] = pickCluster(action, () => (i + 0.5) / 1000).name.split('|');
      counts[subset] = (counts[subset] ?? 0) + 1;
    }
    expect(counts).toEqual({ v1: 250, v3: 750 });
  });

  it('reads fault percentages as parts per million; no percentage injects nothing', () => {
    const fault = (f: string) =>
      must(
        parseVirtualService(
          yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r }
spec:
  hosts: [ratings]
  http: [{ fault: ${f}, route: [{ destination: { host: ratings } }] }]
`),
        ).http[0],
        'the first HTTP route',
      ).fault!;
    expect(fault('{ abort: { httpStatus: 500, percentage: { value: 0.25 } } }').abort).toEqual({ httpStatus: 500, ppm: 2500 });
    expect(fault('{ abort: { httpStatus: 500 } }').abort!.ppm).toBe(0);
    expect(fault('{ delay: { fixedDelay: 7s, percent: 50 } }').delay).toEqual({ fixedDelayMs: 7000, ppm: 500_000 });
  });
});

describe('DestinationRule traffic policies (istio/api destination_rule.proto)', () => {
  const dr = parseDestinationRule(
    yamlObject(`
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
`),
  );

  it('subset settings override the rule one group at a time (util.go MergeSubsetTrafficPolicy)', () => {
    expect(effectiveTrafficPolicy(dr, 'v2', 80)).toEqual({ loadBalancer: { simple: 'RANDOM' }, connectionPool: { maxConnections: 10 } });
    const v1 = effectiveTrafficPolicy(dr, 'v1', 80);
    expect(v1.loadBalancer).toEqual({ simple: 'ROUND_ROBIN' });
    expect(v1.outlierDetection).toEqual({ consecutive5xxErrors: 2 });
  });

  it("what outlierDetection leaves unset takes Envoy's defaults in the cluster (outlier_detection.proto); the panic threshold is minHealthPercent, 0 unset (cluster_traffic_policy.go)", () => {
    expect(clusterUnder({ outlierDetection: { consecutive5xxErrors: 2 } })).toMatchObject({
      outlierDetection: {
        consecutive5xx: 2,
        enforcingConsecutive5xx: 100,
        consecutiveGatewayFailure: 5,
        enforcingConsecutiveGatewayFailure: 0,
        intervalMs: 10_000,
        baseEjectionTimeMs: 30_000,
        maxEjectionTimeMs: 300_000,
        maxEjectionPercent: 10,
      },
      healthyPanicThresholdPercent: 0,
    });
    expect(clusterUnder({ outlierDetection: { consecutiveGatewayErrors: 3, minHealthPercent: 20 } })).toMatchObject({
      outlierDetection: { consecutive5xx: 5, enforcingConsecutive5xx: 100, consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100 },
      healthyPanicThresholdPercent: 20,
    });
    expect(clusterUnder().outlierDetection).toBeUndefined();
  });
});

describe('portLevelSettings replace, not inherit (util.go GetPortLevelTrafficPolicy, destination_rule.go MergeTrafficPolicy)', () => {
  const dr = parseDestinationRule(
    yamlObject(`
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
`),
  );

  it("the rule's settings for a port drop the groups they leave out (defaults apply, not the top-level values)", () => {
    expect(effectiveTrafficPolicy(dr, undefined, 9080)).toEqual({ connectionPool: { http1MaxPendingRequests: 2 } });
    expect(effectiveTrafficPolicy(dr, undefined, 80)).toMatchObject({ loadBalancer: { simple: 'RANDOM' }, connectionPool: { maxConnections: 10 } });
  });

  it("a subset without port settings overrides the rule's port-level policy group by group", () => {
    expect(effectiveTrafficPolicy(dr, 'v1', 9080)).toEqual({ loadBalancer: { simple: 'ROUND_ROBIN' }, connectionPool: { http1MaxPendingRequests: 2 } });
  });

  it("a subset's settings for the port replace every group, its own top level included", () => {
    const v3 = effectiveTrafficPolicy(dr, 'v3', 9080);
    expect(v3.loadBalancer).toBeUndefined();
    expect(v3.connectionPool).toBeUndefined();
    expect(v3.outlierDetection?.consecutive5xxErrors).toBe(7);
    expect(effectiveTrafficPolicy(dr, 'v3', 80)).toMatchObject({ loadBalancer: { simple: 'ROUND_ROBIN' }, connectionPool: { maxConnections: 10 } });
  });
});

describe('EDS tlsMode per endpoint (pilot/pkg/xds/endpoints/mtls_checker.go)', () => {
  const dr = parseDestinationRule(
    yamlObject(`
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
`),
  );

  it("tlsModeForDestinationRule: a port-level setting without tls keeps the policy's mode; a subset without one falls back to the rule", () => {
    expect(endpointTlsMode(dr, undefined, 9080)).toBe('DISABLE');
    expect(effectiveTrafficPolicy(dr, undefined, 9080).tls).toBeUndefined(); // the cluster itself is left to auto mTLS
    expect(endpointTlsMode(dr, 'v1', 9080)).toBe('ISTIO_MUTUAL');
    expect(endpointTlsMode(dr, 'v2', 9080)).toBe('DISABLE');
    expect(endpointTlsMode(undefined, undefined, 9080)).toBeUndefined();
  });

  it("checkMtlsEnabled: the rule's mode decides; else a sidecar gets mTLS unless its PeerAuthentication is DISABLE", () => {
    expect(checkMtlsEnabled('ISTIO_MUTUAL', true, 'DISABLE')).toBe(true);
    expect(checkMtlsEnabled('DISABLE', true, 'STRICT')).toBe(false);
    expect(checkMtlsEnabled(undefined, true, 'DISABLE')).toBe(false);
    expect(checkMtlsEnabled(undefined, true, 'PERMISSIVE')).toBe(true);
    expect(checkMtlsEnabled(undefined, false, 'STRICT')).toBe(false);
  });
});

describe('VirtualService exportTo for sidecars (push_context.go initVirtualServices: `.` is the own namespace)', () => {
  const vs = (ns: string, exportTo: string) =>
    parseVirtualService(
      yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-${ns}, namespace: ${ns} }
spec:
  hosts: [reviews.default.svc.cluster.local]
  exportTo: ${exportTo}
  http: [{ route: [{ destination: { host: reviews.default.svc.cluster.local, subset: v3 } }] }]
`),
    );
  const proxyIn = (namespace: string) => ({ type: 'sidecar' as const, podName: 'p', namespace, ip: '10.0.0.1', labels: {}, serviceAccount: 'p' });

  it("a VirtualService exported to `.` in istio-system does not route default's sidecars; one exported to default does", () => {
    expect(sidecarCluster(bookinfoRegistryInput([vs('istio-system', "['.']")]), {}, proxyIn('default'))).toBe(
      'outbound|9080||reviews.default.svc.cluster.local',
    );
    expect(sidecarCluster(bookinfoRegistryInput([vs('istio-system', "['.']")]), { authority: 'reviews.default:9080' }, proxyIn('istio-system'))).toBe(
      cluster('v3'),
    );
    expect(sidecarCluster(bookinfoRegistryInput([vs('istio-system', '[default]')]), {}, proxyIn('default'))).toBe(cluster('v3'));
    expect(vs('default', "['.']").exportTo).toEqual(['default']);
  });
});

describe('sourceMatchHTTP (route.go): gateways in a match decide alone', () => {
  const vs = parseVirtualService(
    yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  gateways: [mesh, bookinfo-gateway]
  http:
  - match: [{ gateways: [mesh], sourceLabels: { app: nobody }, sourceNamespace: elsewhere }]
    route: [{ destination: { host: reviews, subset: v3 } }]
`),
  );
  const gateway = parseGateway(
    yamlObject(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 8080, name: http, protocol: HTTP }, hosts: ['*'] }]
`),
  );

  it('a match with gateways [mesh] applies to every sidecar whatever its sourceLabels and sourceNamespace say, and not at the gateway', () => {
    const input = bookinfoRegistryInput([vs], { gateways: [gateway] });
    expect(sidecarCluster(input)).toBe(cluster('v3'));
    expect(routeIn(buildRoutes(input, ingressProxy), 'http.8080', { authority: 'reviews' })).toBeUndefined();
  });
});

describe('which VirtualService a sidecar uses for a host (VirtualServicesForGateway order, first domain wins)', () => {
  const vs = (name: string, exportTo: string | undefined, createdAt: number) =>
    parseVirtualService(
      must(
        yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name} }
spec:
  hosts: [reviews]
${exportTo ? `  exportTo: ${exportTo}\n` : ''}  http: [{ route: [{ destination: { host: reviews, subset: ${name} } }] }]
`)[0],
        "yaml(` apiVersion: networking.istio.io/v1 kind: VirtualService metadata: { name: ${name} } spec:   hosts: [reviews] ${exportTo ? `  exportTo: ${exportTo}\\n` : ''}  http: [{ route: [{ destination: { host: reviews, subset: ${name} } }] }] `)[0]",
      ),
      createdAt,
    );

  it("a private VirtualService of the proxy's namespace comes before an older public one", () => {
    expect(sidecarCluster(bookinfoRegistryInput([vs('public', undefined, 1), vs('private', "['.']", 2)]))).toBe(cluster('private'));
    expect(sidecarCluster(bookinfoRegistryInput([vs('older', undefined, 1), vs('newer', undefined, 2)]))).toBe(cluster('older'));
  });
});
