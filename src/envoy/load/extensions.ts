// The typed configs the local data plane executes, per place they can appear; no-ops are in ../no-ops.ts and
// everything else is refused. Envoy resolves an extension by its typed_config type, by name only without one.
import { noOpExtension } from '../no-ops.ts';
import { TypedConfigType as TC } from '../model/type-urls.ts';
import type { ExtensionResolution, Family, Rule } from './rules.ts';
import { empty } from './rules.ts';
import * as s from './schema.ts';

const EXECUTED: Record<Family, Record<string, Rule>> = {
  listener_filter: { [TC.originalDst]: empty('OriginalDst') },
  network_filter: {
    [TC.httpConnectionManager]: s.httpConnectionManager,
    [TC.tcpProxy]: s.tcpProxy,
    [TC.networkRbac]: s.networkRbac,
    [TC.networkExtAuthz]: s.networkExtAuthz,
  },
  http_filter: {
    [TC.fault]: s.httpFault,
    [TC.rbac]: s.httpRbac,
    [TC.extAuthz]: s.extAuthz,
    [TC.localRateLimit]: s.localRateLimit,
    [TC.jwtAuthn]: s.jwtAuthentication,
    [TC.router]: s.router,
    // The filter's behaviour is the per-route (or virtual host) CorsPolicy it reads (src/envoy/runtime/cors.ts).
    [TC.cors]: empty('Cors'),
    // Read by the local proxies for istio_requests_total (src/targets/local/request-metrics.ts).
    [TC.istioStats]: s.istioStats,
  },
  per_filter_config: {
    [TC.fault]: s.httpFault,
    [TC.localRateLimit]: s.localRateLimit,
    [TC.rbacPerRoute]: s.rbacPerRoute,
    [TC.corsPolicy]: s.corsPolicy,
    [TC.routeFilterConfig]: s.routeFilterConfig,
  },
  downstream_transport_socket: { [TC.downstreamTlsContext]: s.downstreamTlsContext, [TC.rawBuffer]: empty('RawBuffer') },
  upstream_transport_socket: { [TC.upstreamTlsContext]: s.upstreamTlsContext, [TC.rawBuffer]: empty('RawBuffer') },
  retry_host_predicate: { [TC.previousHostsPredicate]: empty('PreviousHostsPredicate') },
  protocol_options: { [TC.httpProtocolOptions]: s.httpProtocolOptions },
};

/** Envoy's well-known names, for filters written without a typed_config. */
const BY_NAME: Record<string, string> = {
  'envoy.filters.listener.original_dst': TC.originalDst,
  'envoy.filters.network.http_connection_manager': TC.httpConnectionManager,
  'envoy.filters.network.tcp_proxy': TC.tcpProxy,
  'envoy.filters.http.router': TC.router,
  'envoy.filters.http.cors': TC.cors,
  'envoy.transport_sockets.raw_buffer': TC.rawBuffer,
  'envoy.retry_host_predicates.previous_hosts': TC.previousHostsPredicate,
};

export function resolveExtension(family: Family, typeUrl: string | undefined, name: string | undefined): ExtensionResolution {
  const url = typeUrl ?? (name ? BY_NAME[name] : undefined);
  const rule = url ? EXECUTED[family][url] : undefined;
  if (rule) return { executed: true, rule };
  const why = noOpExtension(family, url, name);
  if (why) return { executed: false, noOp: why };
  return { executed: false, refused: 'is not executed by the local data plane' };
}

/** For docs and tests: the type URLs executed in each place. */
export function executedTypes(family: Family): string[] {
  return Object.keys(EXECUTED[family]);
}
