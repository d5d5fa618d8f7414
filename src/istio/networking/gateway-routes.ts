// The routes of a gateway's virtual host, built as istiod builds them (pilot/pkg/networking/core/route/route.go):
// one Envoy route per match block, matches for another port, gateway or source dropped at build time
// (TranslateRoute, sourceMatchHTTP), a VirtualService's routes cut after its first catch-all
// (BuildHTTPRoutesForVirtualService), the VirtualServices' routes concatenated and then the catch-all routes moved
// last (SortVHostRoutes, called by gateway.go buildGatewayHTTPRouteConfig for every virtual host).
import type { HttpMatch, HttpRoute, VirtualServiceModel } from './model.ts';

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
  return path && m.headers.length === 0 && m.withoutHeaders.length === 0 && m.queryParams.length === 0
    && !m.claims?.length && !m.withoutClaims?.length
    && m.method === undefined && m.authority === undefined && m.scheme === undefined;
}

/** route.go BuildHTTPRoutesForVirtualService for one VirtualService: single-match routes in order. */
function routesOf(vs: VirtualServiceModel, proxy: GatewayProxy): HttpRoute[] {
  const out: HttpRoute[] = [];
  for (const rule of vs.http) {
    let catchAll = false;
    if (rule.match.length === 0) {
      out.push(rule);
      catchAll = true;
    } else {
      for (const m of rule.match) {
        if (m.port !== undefined && m.port !== proxy.port) continue;
        if (!sourceMatches(m, proxy)) continue;
        out.push({ ...rule, match: [envoyMatch(m)] });
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
