// The routes of the gateway's virtual host as istiod builds them (pilot/pkg/networking/core/route/route.go
// BuildHTTPRoutesForVirtualService, TranslateRoute/sourceMatchHTTP, IsCatchAllRoute, SortVHostRoutes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteConfiguration } from '../../src/envoy/model/index.ts';
import { selectVirtualHost } from '../../src/envoy/runtime/routes.ts';
import { gatewayRoutes, gatewayVirtualHosts, isCatchAllMatch } from '../../src/istio/networking/gateway-routes.ts';
import type { HttpRoute } from '../../src/istio/networking/model.ts';
import { parseGateway } from '../../src/istio/networking/gateway.ts';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import { applyAndWait, mesh, page, yaml, yamlObject, type MeshHandle } from './helpers.ts';
import { must } from '../../src/must.ts';

const vs = (name: string, http: string, createdAt: number) =>
  parseVirtualService(
    yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name} }
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway, mesh]
  http: ${http}
`),
    createdAt,
  );

const proxy = { gateway: 'default/bookinfo-gateway', port: 8080, labels: { istio: 'ingressgateway' }, namespace: 'istio-system' };
const names = (routes: ReturnType<typeof gatewayRoutes>) => routes.map((r) => r.name);

describe('SortVHostRoutes and the routes of merged gateway VirtualServices', () => {
  it('IsCatchAllRoute: prefix / (or no uri) or regex .*, with no header, method, authority or query condition', () => {
    const m = (text: string) =>
      must(
        vs('x', `[{ match: [${text}], route: [{ destination: { host: productpage } }] }]`, 0).http[0],
        "vs('x', `[{ match: [${text}], route: [{ destination: { host: productpage } }] }]`, 0).http[0]",
      ).match[0];
    expect(isCatchAllMatch(undefined)).toBe(true);
    expect(isCatchAllMatch(m('{ uri: { prefix: / } }'))).toBe(true);
    expect(isCatchAllMatch(m('{ uri: { regex: ".*" } }'))).toBe(true);
    expect(isCatchAllMatch(m('{ ignoreUriCase: true }'))).toBe(true);
    expect(isCatchAllMatch(m('{ uri: { prefix: /api } }'))).toBe(false);
    expect(isCatchAllMatch(m('{ uri: { exact: / } }'))).toBe(false);
    expect(isCatchAllMatch(m('{ headers: { end-user: { exact: jason } } }'))).toBe(false);
    expect(isCatchAllMatch(m('{ method: { exact: GET } }'))).toBe(false);
    expect(isCatchAllMatch(m('{ queryParams: { a: { exact: b } } }'))).toBe(false);
  });

  it('moves catch-alls of every VirtualService after all other routes, keeping their order', () => {
    const older = vs('older', '[{ name: older-all, route: [{ destination: { host: ratings } }] }]', 1);
    const newer = vs(
      'newer',
      `[
      { name: newer-page, match: [{ uri: { exact: /productpage } }], route: [{ destination: { host: productpage } }] },
      { name: newer-all, match: [{ uri: { prefix: / } }], route: [{ destination: { host: details } }] }]`,
      2,
    );
    expect(names(gatewayRoutes([older, newer], proxy))).toEqual(['newer-page', 'older-all', 'newer-all']);
  });

  it('cuts a VirtualService after its first catch-all, so its own later routes never come before it', () => {
    const one = vs(
      'one',
      `[
      { name: all, route: [{ destination: { host: ratings } }] },
      { name: page, match: [{ uri: { exact: /productpage } }], route: [{ destination: { host: productpage } }] }]`,
      1,
    );
    expect(names(gatewayRoutes([one], proxy))).toEqual(['all']);
  });

  it('drops matches for another gateway, port or source at build time (they cannot make a catch-all)', () => {
    const bound = vs(
      'bound',
      `[
      { name: mesh-only, match: [{ gateways: [mesh] }], route: [{ destination: { host: ratings } }] },
      { name: other-port, match: [{ port: 80 }], route: [{ destination: { host: ratings } }] },
      { name: other-source, match: [{ sourceLabels: { app: productpage } }], route: [{ destination: { host: ratings } }] },
      { name: gateway-wins, match: [{ gateways: [bookinfo-gateway], sourceLabels: { app: productpage }, uri: { prefix: /api } }], route: [{ destination: { host: productpage } }] },
      { name: rest, route: [{ destination: { host: productpage } }] }]`,
      1,
    );
    const routes = gatewayRoutes([bound], proxy);
    expect(names(routes)).toEqual(['gateway-wins', 'rest']);
    // sourceMatchHTTP: a match naming gateways is not checked against sourceLabels.
    expect(must(routes[0]?.match[0], 'the first match of the first route').sourceLabels).toBeUndefined();
  });
});

describe('on the local ingress gateway', () => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 29 });
  });
  afterAll(async () => m?.close());

  it("an older VirtualService's catch-all does not shadow a newer one's /productpage route", async () => {
    // The baseline `bookinfo` (older) becomes a catch-all to ratings; a newer VirtualService routes /productpage.
    const catchAll = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo }
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http: [{ route: [{ destination: { host: ratings, port: { number: 9080 } } }] }]
`);
    const pages = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo-pages }
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http: [{ match: [{ uri: { exact: /productpage } }], route: [{ destination: { host: productpage, port: { number: 9080 } } }] }]
`);
    await applyAndWait(m, [...catchAll, ...pages]);
    const p = await page(m);
    expect(p.status).toBe(200);
    expect(p.body).toContain('The Comedy of Errors');
    // Other paths still reach the catch-all (ratings answers its own /health).
    const health = await fetch(`${m.gatewayUrl}/health`);
    expect(await health.text()).toContain('Ratings is healthy');
  });
});

describe('virtual hosts of the gateway listener (gateway.go buildGatewayHTTPRouteConfig, host.Names Intersection)', () => {
  const gw = parseGateway(
    yamlObject(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 8080, name: http, protocol: HTTP }, hosts: ["*.example.com", "default/exact.test"] }]
`),
  );
  const bound = (name: string, hosts: string, createdAt: number) =>
    parseVirtualService(
      yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name} }
spec:
  hosts: ${hosts}
  gateways: [bookinfo-gateway]
  http: [{ name: ${name}, route: [{ destination: { host: productpage } }] }]
`),
      createdAt,
    );

  it('a virtual host per shared host, the more specific of server and VirtualService host', () => {
    const vhosts = gatewayVirtualHosts([gw], [bound('any', '["*"]', 1), bound('shop', '[shop.example.com]', 2)], 8080, {
      labels: {},
      namespace: 'istio-system',
    });
    expect([...vhosts.keys()].sort()).toEqual(['*.example.com', 'exact.test', 'shop.example.com']);
    // Envoy picks among them as RouteMatcher::findVirtualHost does, with istiod's ignore_port_in_host_matching.
    const config: RouteConfiguration = {
      name: 'http.8080',
      ignore_port_in_host_matching: true,
      virtual_hosts: [...vhosts].map(([domain, rules]: [string, HttpRoute[]]) => ({
        name: domain,
        domains: [domain],
        routes: rules.map((r) => ({ name: r.name, match: { prefix: '/' }, route: { cluster: 'c' } })),
      })),
    };
    const routeNames = (authority: string) => selectVirtualHost(config, authority)?.routes?.map((r) => r.name);
    expect(routeNames('shop.example.com:8080')).toEqual(['shop']);
    expect(routeNames('other.example.com')).toEqual(['any']);
    expect(routeNames('example.com')).toBeUndefined();
  });
});
