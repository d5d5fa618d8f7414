// destination_service on istio_requests_total where no upstream answered, as istio_stats labels it (istio/proxy
// istio_stats.cc populatePeerInfo): Envoy resolves the route and its cluster when the request's headers arrive
// (conn_manager_impl.cc decodeHeaders → refreshCachedRoute), so a request an HTTP filter refuses still names the
// route's Service; a request no route takes names the Host header on a sidecar's outbound listener, where istiod
// leaves the Host header fallback on, and `unknown` on a gateway, where it turns it off (telemetry.go
// disableHostHeaderFallback). Under both control planes: istiod's stats config and the built-in translator's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CounterSample } from '../../src/observe/types.ts';
import { applyAndWait, counters, mesh, page, yaml, type MeshHandle } from './helpers.ts';

const resources = yaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-login, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules:
  - to: [{ operation: { paths: ["/login"] } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - match: [{ headers: { end-user: { exact: nobody } } }]
    route: [{ destination: { host: reviews } }]
`);

const sourceSeries = (samples: CounterSample[], proxyPrefix: string, code: string) =>
  samples.filter(
    (s) =>
      s.name === 'istio_requests_total' && s.labels.reporter === 'source' && s.proxy.startsWith(proxyPrefix) && s.labels.response_code === code && s.value > 0,
  );

describe.each(['builtin', 'istiod'] as const)('destination_service without an upstream answer, %s control plane', (controlPlane) => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 23, controlPlane });
    await applyAndWait(m, resources);
    expect((await page(m, undefined, '/login')).status).toBe(403);
    // No route of the bookinfo VirtualService takes this path.
    expect((await page(m, undefined, '/nowhere')).status).toBe(404);
    // The page still loads: productpage shows its reviews section's error.
    expect((await page(m)).status).toBe(200);
  }, 120_000);
  afterAll(async () => m?.close());

  it("a gateway's RBAC 403 names the Service the route sends /login to", async () => {
    const denied = sourceSeries(await counters(m), 'istio-ingressgateway', '403');
    expect(denied.map((s) => [s.labels.destination_service, s.labels.destination_service_name, s.labels.destination_service_namespace])).toEqual([
      ['productpage.default.svc.cluster.local', 'productpage', 'default'],
    ]);
  });

  it('a path no gateway route takes (404 NR) is unknown: the gateway turns the Host header fallback off', async () => {
    const noRoute = sourceSeries(await counters(m), 'istio-ingressgateway', '404');
    expect(noRoute.map((s) => [s.labels.response_flags, s.labels.destination_service, s.labels.destination_service_name])).toEqual([
      ['NR', 'unknown', 'unknown'],
    ]);
  });

  it("a call no route takes (404 NR) names the Host header productpage sent: the outbound listener's fallback", async () => {
    const noRoute = sourceSeries(await counters(m), 'productpage', '404').filter((s) => s.labels.response_flags === 'NR');
    expect(noRoute.length).toBeGreaterThan(0);
    for (const s of noRoute) {
      expect(s.labels.destination_service).toBe('reviews:9080');
      expect(s.labels.destination_service_name).toBe('reviews:9080');
      expect(s.labels.destination_service_namespace).toBe('unknown');
    }
  });
});
