// Which VirtualServices the ingress gateway (a proxy in istio-system) serves, as istiod decides it:
// exportTo (pilot/pkg/model/push_context.go initVirtualServices / VirtualServicesForGateway), gateway names resolved in
// the VirtualService's namespace (model/config.go resolveGatewayName), and the namespace part of a Gateway server's
// hosts (networking/core/gateway.go: host.NamesForNamespace / pickMatchingGatewayHosts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveGatewayName } from '../../src/istio/networking/virtual-service.ts';
import { applyAndWait, mesh, page, restoreBaseline, yaml, yamlObject, type MeshHandle } from './helpers.ts';

const bookinfoVs = (extra: string, namespace = 'default', name = 'bookinfo') =>
  yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: ["*"]
${extra}
  http:
  - match: [{ uri: { exact: /productpage } }, { uri: { prefix: /static } }]
    route: [{ destination: { host: productpage.default.svc.cluster.local, port: { number: 9080 } } }]
`);

const gateway = (hosts: string, namespace = 'default') =>
  yamlObject(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway, namespace: ${namespace} }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: [${hosts}]
`);

describe('resolveGatewayName (model/config.go)', () => {
  it("short names and ./name are the VirtualService namespace's; ns/name as written; legacy FQDNs give ns/name", () => {
    expect(resolveGatewayName('bookinfo-gateway', 'default')).toBe('default/bookinfo-gateway');
    expect(resolveGatewayName('./bookinfo-gateway', 'istio-system')).toBe('istio-system/bookinfo-gateway');
    expect(resolveGatewayName('istio-system/bookinfo-gateway', 'default')).toBe('istio-system/bookinfo-gateway');
    expect(resolveGatewayName('bookinfo-gateway.istio-system.svc.cluster.local', 'default')).toBe('istio-system/bookinfo-gateway');
    expect(resolveGatewayName('mesh', 'default')).toBe('mesh');
  });
});

describe('the ingress gateway in istio-system and the VirtualServices it sees', () => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 23 });
  });
  afterAll(async () => m?.close());

  it('a VirtualService exported only to its own namespace is not visible to the gateway (404); exported to istio-system or * it is', async () => {
    await applyAndWait(m, [bookinfoVs("  gateways: [bookinfo-gateway]\n  exportTo: ['.']")]);
    expect((await page(m)).status).toBe(404);
    await applyAndWait(m, [bookinfoVs('  gateways: [bookinfo-gateway]\n  exportTo: [istio-system]')]);
    expect((await page(m)).status).toBe(200);
    await applyAndWait(m, [bookinfoVs("  gateways: [bookinfo-gateway]\n  exportTo: ['*']")]);
    expect((await page(m)).status).toBe(200);
  });

  it('`istio-system/bookinfo-gateway` names a Gateway in istio-system, not the one in default', async () => {
    await applyAndWait(m, [bookinfoVs('  gateways: [istio-system/bookinfo-gateway]')]);
    expect((await page(m)).status).toBe(404);
    const systemGateway = gateway('"*"', 'istio-system');
    await applyAndWait(m, [systemGateway]);
    expect((await page(m)).status).toBe(200);
    await restoreBaseline(m, [systemGateway]);
  });

  it("a short gateway name is resolved in the VirtualService's namespace", async () => {
    const inSystem = bookinfoVs('  gateways: [bookinfo-gateway]', 'istio-system', 'bookinfo-system');
    await applyAndWait(m, [bookinfoVs('  gateways: [other-gateway]'), inSystem]);
    expect((await page(m)).status).toBe(404); // istio-system/bookinfo-gateway does not exist
    await applyAndWait(m, [bookinfoVs('  gateways: [other-gateway]'), bookinfoVs('  gateways: [default/bookinfo-gateway]', 'istio-system', 'bookinfo-system')]);
    expect((await page(m)).status).toBe(200);
    await restoreBaseline(m, [inSystem]);
  });

  it("a Gateway server host `ns/host` binds only VirtualServices of that namespace (`.` is the Gateway's)", async () => {
    await applyAndWait(m, [bookinfoVs('  gateways: [bookinfo-gateway]'), gateway('"istio-system/*"')]);
    expect((await page(m)).status).toBe(404);
    await applyAndWait(m, [gateway('"default/*"')]);
    expect((await page(m)).status).toBe(200);
    await applyAndWait(m, [gateway('"./*"')]);
    expect((await page(m)).status).toBe(200);
    await applyAndWait(m, [gateway('"*/*"')]);
    expect((await page(m)).status).toBe(200);
  });
});

// gateway.go buildGatewayHTTPRouteConfig builds one route configuration per listener port from every server on it:
// VirtualServices of different Gateways that share a host land in the same virtual host (vHostDedupMap).
describe('two Gateways on the same port', () => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 24 });
  });
  afterAll(async () => m?.close());

  it('their VirtualServices for the same host are merged into one virtual host, so both serve', async () => {
    const second = yaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: second-gateway }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 8080, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings-direct }
spec:
  hosts: ["*"]
  gateways: [second-gateway]
  http: [{ match: [{ uri: { prefix: /ratings } }], route: [{ destination: { host: ratings, port: { number: 9080 } } }] }]
`);
    await applyAndWait(m, second);
    expect((await page(m)).status).toBe(200);
    const ratings = await fetch(`${m.gatewayUrl}/ratings/0`);
    expect(ratings.status).toBe(200);
    expect(await ratings.json()).toMatchObject({ id: 0 });
  });
});
