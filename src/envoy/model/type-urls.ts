// The type URLs of the resources and typed configs the model executes (api/envoy/**: package + message name).
const T = 'type.googleapis.com/';

export const ResourceType = {
  listener: `${T}envoy.config.listener.v3.Listener`,
  routeConfiguration: `${T}envoy.config.route.v3.RouteConfiguration`,
  cluster: `${T}envoy.config.cluster.v3.Cluster`,
  clusterLoadAssignment: `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  secret: `${T}envoy.extensions.transport_sockets.tls.v3.Secret`,
} as const;

export const TypedConfigType = {
  httpConnectionManager: `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  tcpProxy: `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
  networkRbac: `${T}envoy.extensions.filters.network.rbac.v3.RBAC`,
  networkExtAuthz: `${T}envoy.extensions.filters.network.ext_authz.v3.ExtAuthz`,
  extAuthz: `${T}envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`,
  fault: `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`,
  rbac: `${T}envoy.extensions.filters.http.rbac.v3.RBAC`,
  rbacPerRoute: `${T}envoy.extensions.filters.http.rbac.v3.RBACPerRoute`,
  localRateLimit: `${T}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
  jwtAuthn: `${T}envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication`,
  router: `${T}envoy.extensions.filters.http.router.v3.Router`,
  cors: `${T}envoy.extensions.filters.http.cors.v3.Cors`,
  corsPolicy: `${T}envoy.extensions.filters.http.cors.v3.CorsPolicy`,
  /** Istio's stats filter (istio.io/api envoy/extensions/stats/config.proto): Telemetry metrics overrides. */
  istioStats: `${T}stats.PluginConfig`,
  routeFilterConfig: `${T}envoy.config.route.v3.FilterConfig`,
  upstreamTlsContext: `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  downstreamTlsContext: `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
  rawBuffer: `${T}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer`,
  httpProtocolOptions: `${T}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
  previousHostsPredicate: `${T}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate`,
  originalDst: `${T}envoy.extensions.filters.listener.original_dst.v3.OriginalDst`,
} as const;
