// The one list of Envoy config that the local data plane accepts and does not execute, each with why that changes
// nothing the local mesh can observe. Everything else that the model does not execute is refused on load
// (src/envoy/load). Keep the reasons honest: an entry here is a claim that a verdict cannot depend on it.
import type { Family } from './load/rules.ts';

const ACCESS_LOG = 'access logs are output only; they change no request or response';
const SDS = "certificates arrive over SDS and are not modelled: a local peer's identity is its workload's SPIFFE id";
const STATS = "stats configuration names and tags counters; the local proxies keep Envoy's counter names themselves";
const METADATA = "Istio bookkeeping read by Istio's stats and telemetry filters only, none of which change traffic";
const TRACING = 'tracing (spans, sampling, decorators) observes requests and changes no routing or response';
const SNIFFING =
  "the local proxies know each connection's transport (tls/raw_buffer) and application protocol directly, so sniffing " +
  'is not needed; filter_chain_match on transport_protocol and application_protocols is still executed';

/** Fields, as `Message.field` (api/envoy/**.proto names). */
export const NO_OP_FIELDS: Readonly<Record<string, string>> = {
  'RuntimeFractionalPercent.runtime_key': 'there is no runtime layer here; default_value applies, as in Envoy with no runtime override',
  'RegexMatcher.google_re2': 'deprecated; RE2 is the only engine, as in Envoy',
  // Only the network RBAC filter reads these as no-ops (on istiod's TCP chains, which carry no traffic here); the HTTP
  // filter runs its shadow rules for the ext_authz filter that reads their metadata (CUSTOM policies).
  'RBAC.shadow_rules': 'shadow rules only count what they would have done; they never allow or deny',
  'RBAC.shadow_rules_stat_prefix': STATS,
  'RBAC.rules_stat_prefix': STATS,
  'RemoteJwks.async_fetch': 'when keys are fetched, not which tokens are accepted',
  'RemoteJwks.retry_policy': 'how key fetches are retried, not which tokens are accepted',
  'Router.start_child_span': TRACING,
  'Router.dynamic_stats': STATS,
  'Router.upstream_log': ACCESS_LOG,
  'Router.suppress_grpc_request_failure_code_stats': STATS,
  // istiod sets envoy.retry_priorities.previous_priorities for retries.retryRemoteLocalities (route/retry/retry.go).
  'RetryPolicy.retry_priority':
    'the local mesh has one locality, so every endpoint is priority 0: a retry priority plugin has no other priority to move a retry to',
  'RouteAction.max_grpc_timeout': 'deprecated gRPC timeout header handling; the local apps speak HTTP/1.1 without grpc-timeout',
  'RouteAction.upgrade_configs': 'WebSocket/CONNECT upgrades; no local app upgrades a connection',
  'RequestMirrorPolicy.trace_sampled': TRACING,
  'Route.metadata': METADATA,
  'Route.decorator': TRACING,
  'Route.tracing': TRACING,
  'Route.stat_prefix': STATS,
  'VirtualHost.metadata': METADATA,
  'VirtualHost.virtual_clusters': STATS,
  'RouteConfiguration.max_direct_response_body_size_bytes': 'a size limit checked when a config is loaded; direct responses here are small',
  'RouteConfiguration.metadata': METADATA,
  'HttpConnectionManager.codec_type': 'the local proxies speak HTTP/1.1 on every hop; AUTO/HTTP1/HTTP2 choose only the codec',
  'HttpConnectionManager.tracing': TRACING,
  'HttpConnectionManager.access_log': ACCESS_LOG,
  'HttpConnectionManager.request_id_extension':
    'x-request-id generation (uuid request ids) only labels requests; the local apps forward it and nothing routes on it',
  'HttpConnectionManager.set_current_client_cert_details': 'fields of the x-forwarded-client-cert header, which no local app reads',
  'HttpConnectionManager.upgrade_configs': 'WebSocket upgrades; no local app upgrades a connection',
  'HttpConnectionManager.server_name': 'the value of the `server` response header, which no verdict reads',
  'HttpConnectionManager.http_protocol_options': 'HTTP/1 codec options (HTTP/1.0, absolute URLs); the local apps send plain HTTP/1.1',
  'HttpConnectionManager.http2_protocol_options': 'HTTP/2 codec options; the local hops are HTTP/1.1',
  'HttpConnectionManager.internal_address_config': 'which peers count as internal for x-envoy-* header trust; all local peers are loopback',
  'HttpConnectionManager.delayed_close_timeout': 'connection draining on close and shutdown; requests complete before it matters',
  'HttpConnectionManager.append_x_forwarded_port': 'adds x-forwarded-port, which no local app reads',
  'HttpConnectionManager.proxy_100_continue': 'Expect: 100-continue handling; no local client sends it',
  'HttpProtocolOptions.headers_with_underscores_action': 'no local app or client sends header names with underscores',
  'Http2ProtocolOptions.window_sizes': 'HTTP/2 flow-control windows; the local hops are HTTP/1.1',
  'TcpProxy.access_log': ACCESS_LOG,
  'PluginConfig.tcp_reporting_duration': 'how often the TCP metrics are reported; the local mesh counts HTTP requests, once each',
  'PluginConfig.rotation_interval': 'when idle metric series are evicted from the proxy; the local proxies keep every series',
  'PluginConfig.graceful_deletion_interval': 'when idle metric series are evicted from the proxy; the local proxies keep every series',
  'CommonTlsContext.sds': SDS,
  'CommonTlsContext.tls_params': 'TLS versions and ciphers; both ends are local proxies that always agree',
  'DownstreamTlsContext.require_sni': 'istiod never sets it on sidecars; SNI is matched through filter_chain_match.server_names',
  'FilterChain.metadata': METADATA,
  'FilterChain.transport_socket_connect_timeout': 'a TLS handshake deadline; local handshakes do not stall',
  'Listener.listener_filters_timeout': SNIFFING,
  'Listener.access_log': ACCESS_LOG,
  'Listener.stat_prefix': STATS,
  'Listener.per_connection_buffer_limit_bytes': "buffer sizes; local requests and responses are far below Envoy's limits",
  'Listener.socket_options': 'kernel socket options (keepalive, marks); the local mesh does not use iptables or marks',
  'Listener.metadata': METADATA,
  'Listener.max_connections_to_accept_per_socket_event': 'how many connections are accepted per event-loop wake-up; a throughput knob',
  'CircuitBreakers.track_remaining': STATS,
  'ClusterLoadAssignment.policy': 'overprovisioning and drop policies apply across priorities and localities; the local mesh has one locality and priority 0',
  'CommonLbConfig.locality_weighted_lb_config': 'the local mesh has one locality',
  'Cluster.alt_stat_name': STATS,
  'Cluster.metadata': METADATA,
  'Cluster.filters': 'istiod puts only istio.metadata_exchange here (peer metadata for telemetry)',
  'Cluster.dns': 'DNS resolution settings; local clusters are EDS, static or original-destination',
  'Cluster.cleanup_interval': 'how often unused original-destination hosts are forgotten',
  'Cluster.per_connection_buffer_limit_bytes': "buffer sizes; local requests and responses are far below Envoy's limits",
  'Cluster.upstream_bind_config': 'the source address of passthrough connections (127.0.0.6) only matters to iptables, which the local mesh does not use',
  'Cluster.upstream_connection_options': 'TCP keepalive on upstream connections',
};

export interface NoOpExtension {
  family: Family;
  /** Matched by type URL (Envoy resolves extensions by type first), or by name when a filter has no typed config. */
  typeUrl?: string;
  name?: string;
  why: string;
}

const T = 'type.googleapis.com/';

/** Filters and extensions, per place they can appear. */
export const NO_OP_EXTENSIONS: readonly NoOpExtension[] = [
  { family: 'listener_filter', typeUrl: `${T}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`, why: SNIFFING },
  { family: 'listener_filter', typeUrl: `${T}envoy.extensions.filters.listener.http_inspector.v3.HttpInspector`, why: SNIFFING },
  {
    family: 'network_filter',
    typeUrl: `${T}envoy.tcp.metadataexchange.config.MetadataExchange`,
    name: 'istio.metadata_exchange',
    why: 'istio.metadata_exchange swaps peer metadata for telemetry labels; traffic is unchanged',
  },
  { family: 'network_filter', typeUrl: `${T}stats.PluginConfig`, name: 'istio.stats', why: STATS },
  {
    family: 'http_filter',
    typeUrl: `${T}io.istio.http.peer_metadata.Config`,
    name: 'istio.metadata_exchange',
    why: 'istio.metadata_exchange (peer_metadata) swaps peer metadata headers for telemetry; routing and policy do not read them',
  },
  {
    family: 'http_filter',
    typeUrl: `${T}istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig`,
    name: 'istio.alpn',
    why: 'istio.alpn sets the ALPN of upstream mTLS connections (istio-http/1.1 …); local hops do not negotiate ALPN',
  },
  { family: 'http_filter', typeUrl: `${T}envoy.extensions.filters.http.grpc_stats.v3.FilterConfig`, why: STATS },
  {
    family: 'http_filter',
    typeUrl: `${T}envoy.extensions.filters.http.grpc_web.v3.GrpcWeb`,
    why: 'grpc_web acts only on requests with content-type application/grpc-web, which no local client sends',
  },
];

export function noOpField(key: string): string {
  const why = NO_OP_FIELDS[key];
  if (why === undefined) throw new Error(`src/envoy/no-ops.ts: no entry for ${key}`);
  return why;
}

export function noOpExtension(family: Family, typeUrl: string | undefined, name: string | undefined): string | undefined {
  const hit = NO_OP_EXTENSIONS.find((e) => e.family === family && (typeUrl ? e.typeUrl === typeUrl : e.name !== undefined && e.name === name));
  return hit?.why;
}
