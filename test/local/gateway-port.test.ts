// A Gateway server port is matched against the ingress gateway's Service ports and listened on at that port's
// targetPort (istio/istio pilot/pkg/model/gateway.go resolvePorts; the istio-ingressgateway Service maps 80 → 8080,
// manifests/charts/gateways/istio-ingress/values.yaml). The classic bookinfo-gateway.yaml wrote 80; today's writes 8080.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { gatewayListenerPort, parseGateway } from '../../src/istio/networking/gateway.ts';
import { applyAndWait, mesh, page, yamlObject, type MeshHandle } from './helpers.ts';

const productpageOnPort = (matchPort: number) =>
  yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo }
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
    - match: [{ uri: { exact: /productpage }, port: ${matchPort} }]
      route: [{ destination: { host: productpage, port: { number: 9080 } } }]
`);

const gateway = (number: number, host = '"*"') =>
  yamlObject(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: ${number}, name: http, protocol: HTTP }
      hosts: [${host}]
`);

describe('Gateway server ports (resolvePorts: a Service port is listened on at its targetPort)', () => {
  it('80 and 8080 are both the 8080 listener; a port that is not a Service port is used as written', () => {
    expect(gatewayListenerPort(80)).toBe(8080);
    expect(gatewayListenerPort(8080)).toBe(8080);
    expect(gatewayListenerPort(443)).toBe(8443);
    expect(gatewayListenerPort(9090)).toBe(9090);
    expect(parseGateway(gateway(80)).servers[0]?.port).toBe(8080);
  });

  it('a port the local gateway does not listen on is refused, saying what to use', () => {
    for (const [number, shown] of [
      [9090, 'found 9090)'],
      [443, 'found 443, which the istio-ingressgateway Service maps to 8443)'],
    ] as const) {
      let error: unknown;
      try {
        parseGateway(gateway(number));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SpecError);
      expect((error as SpecError).path).toBe('Gateway bookinfo-gateway: spec.servers[0].port.number');
      expect((error as SpecError).message).toContain('use 8080, or 80');
      expect((error as SpecError).message).toContain(shown);
    }
  });
});

// The 8080 listener's routes are `http.8080` for a server written as 80 too (model/gateway.go gatewayRDSRouteName takes
// the resolved port): under istiod the gateway must look them up by that name.
describe('the local ingress gateway with the classic port-80 bookinfo-gateway', () => {
  for (const controlPlane of ['builtin', 'istiod'] as const) {
    it(`${controlPlane}: serves /productpage through a Gateway written with port 80, as a cluster does`, async () => {
      const m = await mesh({ controlPlane, seed: 11 });
      try {
        await applyAndWait(m, [gateway(80)]);
        expect((await page(m)).status).toBe(200);
        // Control: the same Gateway for another host only; the productpage request (no such Host) is not routed.
        await applyAndWait(m, [gateway(80, 'other.example.com')]);
        expect((await page(m)).status).toBe(404);
      } finally {
        await m.close();
      }
    }, 90_000);
  }
});

// istio/istio pilot/pkg/networking/core/gateway.go buildGatewayHTTPRouteConfig builds each server's routes with
// `port := int(server.Port.Number)` (the port as written in the Gateway), and route.TranslateRoute drops a match whose
// `port` differs from it. So `match.port` is compared with the Gateway server's port, not the listener's (8080) nor
// the Host header's.
describe('match.port on a gateway route is the Gateway server port as written (gateway.go server.Port.Number)', () => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 12 });
  });
  afterAll(async () => m?.close());

  it.each([
    [80, 80, 200],
    [80, 8080, 404],
    [8080, 8080, 200],
    [8080, 80, 404],
  ])('Gateway port %i, match.port %i: the request on the 8080 listener gets %i', async (serverPort, matchPort, status) => {
    await applyAndWait(m, [gateway(serverPort), productpageOnPort(matchPort)]);
    expect((await page(m)).status).toBe(status);
  });
});
