// The routes of a gateway's virtual host, built as istiod builds them (pilot/pkg/networking/core/route/route.go):
// one Envoy route per match block, matches for another port, gateway or source dropped at build time
// (TranslateRoute, sourceMatchHTTP), a VirtualService's routes cut after its first catch-all
// (BuildHTTPRoutesForVirtualService), the VirtualServices' routes concatenated and then the catch-all routes moved
// last (SortVHostRoutes, called by gateway.go buildGatewayHTTPRouteConfig for every virtual host).
import type { GatewayModel, HttpMatch, HttpRoute, VirtualServiceModel } from './model.ts';
import { hostMatchScore, virtualServiceVisible, visibilityRank } from './routing.ts';

export interface GatewayProxy {
  /** `namespace/name` of the Gateway the routes are built for. */
  gateway: string;
  /** The Gateway server's port as written (the listenPort TranslateRoute compares `match.port` with). */
  port: number;
  labels: Record<string, string>;
  namespace: string;
}

/** route.go sourceMatchHTTP: `gateways` in a match decide alone; otherwise sourceLabels and sourceNamespace. */
function sourceMatches(m: HttpMatch, proxy: GatewayProxy): boolean {
  if (m.gateways && m.gateways.length > 0) return m.gateways.includes(proxy.gateway);
  for (const [k, v] of Object.entries(m.sourceLabels ?? {})) if (proxy.labels[k] !== v) return false;
  return m.sourceNamespace === undefined || m.sourceNamespace === proxy.namespace;
}

/** The match as the Envoy route keeps it: what was decided at build time is gone. */
function envoyMatch(m: HttpMatch): HttpMatch {
  const { port: _port, gateways: _gateways, sourceLabels: _labels, sourceNamespace: _ns, ...rest } = m;
  return rest;
}

/**
 * route.go IsCatchAllRoute: path prefix `/` (also what no `uri` becomes) or regex `.*`, and no header (method,
 * authority and scheme are headers too) or query parameter condition.
 */
export function isCatchAllMatch(m: HttpMatch | undefined): boolean {
  if (!m) return true;
  const uri = m.uri;
  const path = uri === undefined || (uri.kind === 'prefix' && uri.value === '/') || (uri.kind === 'regex' && uri.value === '.*');
  return (
    path &&
    m.headers.length === 0 &&
    m.withoutHeaders.length === 0 &&
    m.queryParams.length === 0 &&
    !m.claims?.length &&
    !m.withoutClaims?.length &&
    m.method === undefined &&
    m.authority === undefined &&
    m.scheme === undefined
  );
}

/** route.go BuildHTTPRoutesForVirtualService for one VirtualService: single-match routes in order. */
function routesOf(vs: VirtualServiceModel, proxy: GatewayProxy): HttpRoute[] {
  const out: HttpRoute[] = [];
  for (const rule of vs.http) {
    let catchAll = false;
    if (rule.match.length === 0) {
      out.push({ ...rule, gatewayPort: proxy.port });
      catchAll = true;
    } else {
      for (const m of rule.match) {
        if (m.port !== undefined && m.port !== proxy.port) continue;
        if (!sourceMatches(m, proxy)) continue;
        out.push({ ...rule, match: [envoyMatch(m)], gatewayPort: proxy.port });
        if (isCatchAllMatch(m)) {
          catchAll = true;
          break;
        }
      }
    }
    if (catchAll) break;
  }
  return out;
}

export function gatewayRoutes(services: readonly VirtualServiceModel[], proxy: GatewayProxy): HttpRoute[] {
  const all = services.flatMap((vs) => routesOf(vs, proxy));
  // SortVHostRoutes: a stable partition, catch-alls last.
  return [...all.filter((r) => !isCatchAllMatch(r.match[0])), ...all.filter((r) => isCatchAllMatch(r.match[0]))];
}

/** push_context.go VirtualServicesForGateway: private, then exported to the proxy's namespace, then public. */
function virtualServicesForGateway(services: readonly VirtualServiceModel[], gateway: string, proxyNamespace: string): VirtualServiceModel[] {
  return services
    .filter((vs) => vs.gateways.includes(gateway) && virtualServiceVisible(vs, proxyNamespace))
    .sort((a, b) => visibilityRank(a, proxyNamespace) - visibilityRank(b, proxyNamespace) || a.createdAt - b.createdAt);
}

/** host.Names Intersection: for each pair where one covers the other, the more specific of the two. */
function intersectHosts(serverHosts: string[], vsHosts: string[]): string[] {
  const out = new Set<string>();
  for (const s of serverHosts) {
    for (const v of vsHosts) {
      const a = s.toLowerCase();
      const b = v.toLowerCase();
      if (hostMatchScore(a, b) >= 0) out.add(b);
      else if (hostMatchScore(b, a) >= 0) out.add(a);
    }
  }
  return [...out];
}

/**
 * The virtual hosts of a gateway listener (gateway.go buildGatewayHTTPRouteConfig): for every server on the port
 * (Gateways in creation order), every VirtualService bound to its Gateway and visible to the proxy adds its routes to
 * the virtual host of each host it shares with the server (a server host `ns/host` admits only VirtualServices of
 * that namespace: host.NamesForNamespace); a VirtualService's routes are built once per Gateway, with the port of the
 * first such server (gatewayRoutes cache); each virtual host's catch-alls then go last (SortVHostRoutes).
 */
export function gatewayVirtualHosts(
  gateways: readonly GatewayModel[],
  services: readonly VirtualServiceModel[],
  listenerPort: number,
  proxy: { labels: Record<string, string>; namespace: string },
): Map<string, HttpRoute[]> {
  const vhosts = new Map<string, HttpRoute[]>();
  const built = new Map<string, HttpRoute[]>();
  for (const g of gateways) {
    const name = `${g.namespace}/${g.name}`;
    const bound = virtualServicesForGateway(services, name, proxy.namespace);
    for (const server of g.servers) {
      if (server.port !== listenerPort) continue;
      for (const vs of bound) {
        const serverHosts = server.hosts.filter((_, i) => server.hostNamespaces[i] === '*' || server.hostNamespaces[i] === vs.namespace);
        const shared = intersectHosts(serverHosts, vs.hosts);
        if (shared.length === 0) continue;
        const key = `${name}|${vs.namespace}/${vs.name}`;
        let routes = built.get(key);
        if (!routes) {
          routes = routesOf(vs, { gateway: name, port: server.declaredPort, labels: proxy.labels, namespace: proxy.namespace });
          built.set(key, routes);
        }
        for (const h of shared) vhosts.set(h, [...(vhosts.get(h) ?? []), ...routes]);
      }
    }
  }
  for (const [h, routes] of vhosts) {
    vhosts.set(h, [...routes.filter((r) => !isCatchAllMatch(r.match[0])), ...routes.filter((r) => isCatchAllMatch(r.match[0]))]);
  }
  return vhosts;
}
