// Which fields of each Envoy message the local data plane executes (typed) or ignores (no-op, see ../no-ops.ts).
// Field names follow api/envoy/**.proto; the model's TypeScript types are in ../model. Any field not listed here is
// refused when a config is loaded.
import { HTTP_STATUS_CODES } from './http-status.ts';
import {
  any,
  bool,
  double,
  duration,
  empty,
  enumNumber,
  enumOf,
  int,
  list,
  map,
  message,
  noop,
  once,
  str,
  struct,
  uint,
  type MessageCheck,
  type Rule,
} from './rules.ts';

/** At most one of `fields` set; with `required`, exactly one. */
function oneOf(fields: string[], required: boolean): MessageCheck {
  return (v) => {
    const set = fields.filter((f) => v[f] !== undefined);
    if (set.length > 1) return [['', `only one of ${fields.join(', ')} may be set (got ${set.join(', ')})`]];
    if (required && set.length === 0) return [['', `one of ${fields.join(', ')} is required`]];
    return [];
  };
}
const checks =
  (...all: MessageCheck[]): MessageCheck =>
  (v) =>
    all.flatMap((c) => c(v));

// ---- common (api/envoy/type, api/envoy/config/core/v3) ----
export const fractionalPercent = message('FractionalPercent', () => ({
  numerator: uint,
  denominator: enumOf('HUNDRED', 'TEN_THOUSAND', 'MILLION'),
}));
export const runtimeFractionalPercent = message('RuntimeFractionalPercent', () => ({
  default_value: fractionalPercent,
  runtime_key: noop('RuntimeFractionalPercent.runtime_key'),
}));
const regexMatcher = message('RegexMatcher', () => ({ regex: str, google_re2: noop('RegexMatcher.google_re2') }));
export const stringMatcher = message(
  'StringMatcher',
  () => ({ exact: str, prefix: str, suffix: str, contains: str, safe_regex: regexMatcher, ignore_case: bool }),
  oneOf(['exact', 'prefix', 'suffix', 'contains', 'safe_regex'], true),
);
const regexMatchAndSubstitute = message('RegexMatchAndSubstitute', () => ({ pattern: regexMatcher, substitution: str }));
export const headerMatcher = message(
  'HeaderMatcher',
  () => ({
    name: str,
    exact_match: str,
    safe_regex_match: regexMatcher,
    range_match: message('Int64Range', () => ({ start: int, end: int })),
    present_match: bool,
    prefix_match: str,
    suffix_match: str,
    contains_match: str,
    string_match: stringMatcher,
    invert_match: bool,
    treat_missing_header_as_empty: bool,
  }),
  oneOf(['exact_match', 'safe_regex_match', 'range_match', 'present_match', 'prefix_match', 'suffix_match', 'contains_match', 'string_match'], false),
);
export const headerValueOption = message('HeaderValueOption', () => ({
  header: message('HeaderValue', () => ({ key: str, value: str })),
  append: bool,
  append_action: enumOf('APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'),
  keep_empty_value: bool,
}));
export const metadata = message('Metadata', () => ({ filter_metadata: map(struct) }));
const valueMatcher: Rule = message(
  'ValueMatcher',
  () => ({
    null_match: empty('NullMatch'),
    double_match: message('DoubleMatcher', () => ({ range: message('DoubleRange', () => ({ start: double, end: double })), exact: double })),
    string_match: stringMatcher,
    bool_match: bool,
    present_match: bool,
    list_match: message('ListMatcher', () => ({ one_of: valueMatcher })),
    or_match: message('OrMatcher', () => ({ value_matchers: list(valueMatcher) })),
  }),
  oneOf(['null_match', 'double_match', 'string_match', 'bool_match', 'present_match', 'list_match', 'or_match'], true),
);
export const metadataMatcher = message('MetadataMatcher', () => ({
  filter: str,
  path: list(message('PathSegment', () => ({ key: str }))),
  value: valueMatcher,
  invert: bool,
}));
export const address = message('Address', () => ({
  socket_address: message('SocketAddress', () => ({ address: str, port_value: uint, protocol: enumOf('TCP', 'UDP') })),
}));
/** envoy.type.v3.HttpStatus: istiod's dumps name the code (`"ServiceUnavailable"`); the model keeps the number. */
const httpStatus = message('HttpStatus', () => ({ code: enumNumber(HTTP_STATUS_CODES) }));
export const cidrRange = message('CidrRange', () => ({ address_prefix: str, prefix_len: uint }));
export const configSource = message('ConfigSource', () => ({
  ads: empty('AggregatedConfigSource'),
  initial_fetch_timeout: duration,
  resource_api_version: enumOf('AUTO', 'V2', 'V3'),
}));

// ---- RBAC (api/envoy/config/rbac/v3/rbac.proto) ----
const pathMatcher = message('PathMatcher', () => ({ path: stringMatcher }));
const permission: Rule = message(
  'Permission',
  () => ({
    and_rules: message('Permission.Set', () => ({ rules: list(permission) })),
    or_rules: message('Permission.Set', () => ({ rules: list(permission) })),
    any: bool,
    header: headerMatcher,
    url_path: pathMatcher,
    destination_ip: cidrRange,
    destination_port: uint,
    destination_port_range: message('Int32Range', () => ({ start: int, end: int })),
    metadata: metadataMatcher,
    not_rule: permission,
    requested_server_name: stringMatcher,
  }),
  oneOf(
    [
      'and_rules',
      'or_rules',
      'any',
      'header',
      'url_path',
      'destination_ip',
      'destination_port',
      'destination_port_range',
      'metadata',
      'not_rule',
      'requested_server_name',
    ],
    true,
  ),
);
const principal: Rule = message(
  'Principal',
  () => ({
    and_ids: message('Principal.Set', () => ({ ids: list(principal) })),
    or_ids: message('Principal.Set', () => ({ ids: list(principal) })),
    any: bool,
    authenticated: message('Principal.Authenticated', () => ({ principal_name: stringMatcher })),
    direct_remote_ip: cidrRange,
    remote_ip: cidrRange,
    header: headerMatcher,
    url_path: pathMatcher,
    metadata: metadataMatcher,
    not_id: principal,
  }),
  oneOf(['and_ids', 'or_ids', 'any', 'authenticated', 'direct_remote_ip', 'remote_ip', 'header', 'url_path', 'metadata', 'not_id'], true),
);
export const rbac = message('RBAC', () => ({
  action: enumOf('ALLOW', 'DENY', 'LOG'),
  policies: map(message('Policy', () => ({ permissions: list(permission), principals: list(principal) }))),
}));

// ---- HTTP filters (api/envoy/extensions/filters/http/*/v3) ----
export const httpFault = message('HTTPFault', () => ({
  delay: message(
    'FaultDelay',
    () => ({ fixed_delay: duration, percentage: fractionalPercent }),
    (v) => (v.fixed_delay === undefined ? [['', 'only fixed_delay is executed (header_delay is refused)']] : []),
  ),
  abort: message(
    'FaultAbort',
    // grpc_status is refused (not listed): the local apps speak HTTP/1.1, and Envoy answers a gRPC abort in gRPC form.
    // header_abort is refused likewise; Envoy's validation requires one of the three, so what loads names http_status.
    () => ({ http_status: uint, percentage: fractionalPercent }),
  ),
  headers: list(headerMatcher),
  max_active_faults: uint,
}));
export const httpRbac = message('RBAC (HTTP filter)', () => ({
  rules: rbac,
  shadow_rules: rbac,
  shadow_rules_stat_prefix: str,
  rules_stat_prefix: noop('RBAC.rules_stat_prefix'),
}));
export const rbacPerRoute = message('RBACPerRoute', () => ({ rbac: httpRbac }));
export const localRateLimit = message('LocalRateLimit', () => ({
  stat_prefix: str,
  status: httpStatus,
  token_bucket: message('TokenBucket', () => ({ max_tokens: uint, tokens_per_fill: uint, fill_interval: duration })),
  filter_enabled: runtimeFractionalPercent,
  filter_enforced: runtimeFractionalPercent,
  request_headers_to_add_when_not_enforced: list(headerValueOption),
  response_headers_to_add: list(headerValueOption),
  local_rate_limit_per_downstream_connection: bool,
  always_consume_default_token_bucket: bool,
  enable_x_ratelimit_headers: enumOf('OFF'),
}));
const jwtRequirement: Rule = message('JwtRequirement', () => ({
  provider_name: str,
  provider_and_audiences: message('ProviderWithAudiences', () => ({ provider_name: str, audiences: list(str) })),
  requires_any: message('JwtRequirementOrList', () => ({ requirements: list(jwtRequirement) })),
  requires_all: message('JwtRequirementAndList', () => ({ requirements: list(jwtRequirement) })),
  allow_missing_or_failed: empty('Empty'),
  allow_missing: empty('Empty'),
}));
export const jwtAuthentication = message('JwtAuthentication', () => ({
  providers: map(
    message('JwtProvider', () => ({
      issuer: str,
      audiences: list(str),
      local_jwks: message('DataSource', () => ({ inline_string: str, filename: str })),
      remote_jwks: message('RemoteJwks', () => ({
        http_uri: message('HttpUri', () => ({ uri: str, cluster: str, timeout: duration })),
        cache_duration: duration,
        async_fetch: noop('RemoteJwks.async_fetch'),
        retry_policy: noop('RemoteJwks.retry_policy'),
      })),
      forward: bool,
      from_headers: list(message('JwtHeader', () => ({ name: str, value_prefix: str }))),
      from_params: list(str),
      forward_payload_header: str,
      payload_in_metadata: str,
      // istiod always sets it (security/authn/policy_applier.go): `scope` and `permission` split on spaces for RBAC.
      normalize_payload_in_metadata: message('NormalizePayload', () => ({ space_delimited_claims: list(str) })),
      clear_route_cache: bool,
      from_cookies: list(str),
      clock_skew_seconds: uint,
    })),
  ),
  rules: list(
    message('RequirementRule', () => ({
      match: message('RouteMatch (jwt rule)', () => ({ prefix: str, path: str })),
      requires: jwtRequirement,
    })),
  ),
  requirement_map: map(jwtRequirement),
  bypass_cors_preflight: bool,
}));
export const grpcService = message('GrpcService', () => ({
  envoy_grpc: message('GrpcService.EnvoyGrpc', () => ({ cluster_name: str, authority: str })),
  timeout: duration,
}));
export const extAuthz = message('ExtAuthz (HTTP filter)', () => ({
  grpc_service: grpcService,
  failure_mode_allow: bool,
  status_on_error: httpStatus,
  filter_enabled_metadata: metadataMatcher,
  transport_api_version: enumOf('V3'),
}));
/** On istiod's TCP filter chains (non-HTTP ports), which carry no traffic here: the local mesh serves HTTP ports only. */
export const networkExtAuthz = message('ExtAuthz (network filter)', () => ({
  stat_prefix: str,
  grpc_service: grpcService,
  failure_mode_allow: bool,
  filter_enabled_metadata: metadataMatcher,
  transport_api_version: enumOf('V3'),
}));
export const corsPolicy = message('CorsPolicy', () => ({
  allow_origin_string_match: list(stringMatcher),
  allow_methods: str,
  allow_headers: str,
  expose_headers: str,
  max_age: str,
  allow_credentials: bool,
  filter_enabled: runtimeFractionalPercent,
  forward_not_matching_preflights: bool,
  allow_private_network_access: bool,
}));
export const router = message('Router', () => ({
  suppress_envoy_headers: bool,
  start_child_span: noop('Router.start_child_span'),
  dynamic_stats: noop('Router.dynamic_stats'),
  upstream_log: noop('Router.upstream_log'),
  suppress_grpc_request_failure_code_stats: noop('Router.suppress_grpc_request_failure_code_stats'),
}));
/**
 * Istio's stats filter (istio.io/api envoy/extensions/stats/config.proto) as istiod writes it (model/telemetry.go
 * generateStatsConfig): overrides of the standard metrics. `definitions` (new metrics), `match` (conditional
 * overrides), `reporter` SERVER_GATEWAY (waypoints) and the prefix and separators are refused: none is emulated.
 */
export const istioStats = message('stats.PluginConfig', () => ({
  disable_host_header_fallback: bool,
  tcp_reporting_duration: noop('PluginConfig.tcp_reporting_duration'),
  rotation_interval: noop('PluginConfig.rotation_interval'),
  graceful_deletion_interval: noop('PluginConfig.graceful_deletion_interval'),
  reporter: enumOf('UNSPECIFIED'),
  metrics: list(
    message('stats.MetricConfig', () => ({
      name: str,
      dimensions: map(str),
      tags_to_remove: list(str),
      drop: bool,
    })),
  ),
}));
export const routeFilterConfig: Rule = message('FilterConfig', () => ({
  config: any('per_filter_config'),
  is_optional: bool,
  disabled: bool,
}));

export const httpFilter: Rule = {
  kind: 'extension',
  family: 'http_filter',
  message: 'HttpFilter',
  fields: once(() => ({ name: str, disabled: bool, is_optional: bool })),
};

// ---- routes (api/envoy/config/route/v3) ----
const typedPerFilterConfig = map(any('per_filter_config'));
const headerOperations = {
  request_headers_to_add: list(headerValueOption),
  request_headers_to_remove: list(str),
  response_headers_to_add: list(headerValueOption),
  response_headers_to_remove: list(str),
};
const retryPolicy = message('RetryPolicy', () => ({
  retry_on: str,
  num_retries: uint,
  per_try_timeout: duration,
  per_try_idle_timeout: duration,
  retriable_status_codes: list(uint),
  retry_host_predicate: list({
    kind: 'extension',
    family: 'retry_host_predicate',
    message: 'RetryHostPredicate',
    fields: once(() => ({ name: str })),
  }),
  host_selection_retry_max_attempts: int,
  retry_back_off: message('RetryBackOff', () => ({ base_interval: duration, max_interval: duration })),
  retriable_headers: list(headerMatcher),
  retriable_request_headers: list(headerMatcher),
  retry_priority: noop('RetryPolicy.retry_priority'),
}));
const weightedClusters = message(
  'WeightedCluster',
  () => ({
    clusters: list(
      message('ClusterWeight', () => ({
        name: str,
        weight: uint,
        ...headerOperations,
        typed_per_filter_config: typedPerFilterConfig,
        host_rewrite_literal: str,
      })),
    ),
    total_weight: uint,
  }),
  (v) => {
    // Envoy (RouteEntryImplBase::WeightedClustersConfig) rejects a total_weight that is not the sum of the weights.
    const clusters = (v.clusters ?? []) as { weight?: number }[];
    const sum = clusters.reduce((s, c) => s + (c.weight ?? 0), 0);
    if (v.total_weight !== undefined && v.total_weight !== sum) {
      return [['total_weight', `total_weight ${JSON.stringify(v.total_weight)} is not the sum of the clusters' weights (${sum})`]];
    }
    return sum === 0 ? [['clusters', "the clusters' weights add up to 0"]] : [];
  },
);
const routeAction = message(
  'RouteAction',
  () => ({
    cluster: str,
    weighted_clusters: weightedClusters,
    hash_policy: list(
      message('RouteAction.HashPolicy', () => ({
        header: message('HashPolicy.Header', () => ({ header_name: str })),
        cookie: message('HashPolicy.Cookie', () => ({ name: str, ttl: duration, path: str })),
        connection_properties: message('HashPolicy.ConnectionProperties', () => ({ source_ip: bool })),
        query_parameter: message('HashPolicy.QueryParameter', () => ({ name: str })),
        terminal: bool,
      })),
    ),
    cluster_not_found_response_code: enumOf('SERVICE_UNAVAILABLE', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR'),
    timeout: duration,
    idle_timeout: duration,
    max_stream_duration: message('MaxStreamDuration', () => ({
      max_stream_duration: duration,
      grpc_timeout_header_max: duration,
      grpc_timeout_header_offset: duration,
    })),
    max_grpc_timeout: noop('RouteAction.max_grpc_timeout'),
    retry_policy: retryPolicy,
    prefix_rewrite: str,
    regex_rewrite: regexMatchAndSubstitute,
    host_rewrite_literal: str,
    auto_host_rewrite: bool,
    request_mirror_policies: list(
      message('RequestMirrorPolicy', () => ({
        cluster: str,
        runtime_fraction: runtimeFractionalPercent,
        trace_sampled: noop('RequestMirrorPolicy.trace_sampled'),
      })),
    ),
    upgrade_configs: noop('RouteAction.upgrade_configs'),
  }),
  checks(oneOf(['cluster', 'weighted_clusters'], true), oneOf(['prefix_rewrite', 'regex_rewrite'], false)),
);
const routeMatch = message(
  'RouteMatch',
  () => ({
    prefix: str,
    path: str,
    safe_regex: regexMatcher,
    path_separated_prefix: str,
    case_sensitive: bool,
    headers: list(headerMatcher),
    query_parameters: list(message('QueryParameterMatcher', () => ({ name: str, string_match: stringMatcher, present_match: bool }))),
    runtime_fraction: runtimeFractionalPercent,
    dynamic_metadata: list(metadataMatcher),
  }),
  oneOf(['prefix', 'path', 'safe_regex', 'path_separated_prefix'], true),
);
export const route = message(
  'Route',
  () => ({
    name: str,
    match: routeMatch,
    route: routeAction,
    redirect: message('RedirectAction', () => ({
      host_redirect: str,
      port_redirect: uint,
      scheme_redirect: str,
      https_redirect: bool,
      path_redirect: str,
      prefix_rewrite: str,
      regex_rewrite: regexMatchAndSubstitute,
      response_code: enumOf('MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'),
      strip_query: bool,
    })),
    direct_response: message('DirectResponseAction', () => ({
      status: uint,
      body: message('DataSource', () => ({ inline_string: str, inline_bytes: str })),
    })),
    typed_per_filter_config: typedPerFilterConfig,
    ...headerOperations,
    metadata: noop('Route.metadata'),
    decorator: noop('Route.decorator'),
    tracing: noop('Route.tracing'),
    stat_prefix: noop('Route.stat_prefix'),
  }),
  oneOf(['route', 'redirect', 'direct_response'], true),
);
export const virtualHost = message('VirtualHost', () => ({
  name: str,
  domains: list(str),
  routes: list(route),
  retry_policy: retryPolicy,
  typed_per_filter_config: typedPerFilterConfig,
  include_request_attempt_count: bool,
  include_attempt_count_in_response: bool,
  ...headerOperations,
  metadata: noop('VirtualHost.metadata'),
  virtual_clusters: noop('VirtualHost.virtual_clusters'),
}));
export const routeConfiguration = message('RouteConfiguration', () => ({
  name: str,
  virtual_hosts: list(virtualHost),
  validate_clusters: bool,
  ignore_port_in_host_matching: bool,
  typed_per_filter_config: typedPerFilterConfig,
  ...headerOperations,
  max_direct_response_body_size_bytes: noop('RouteConfiguration.max_direct_response_body_size_bytes'),
  metadata: noop('RouteConfiguration.metadata'),
}));

// ---- network filters and listeners (api/envoy/config/listener/v3, extensions/filters/network) ----
export const httpConnectionManager = message(
  'HttpConnectionManager',
  () => ({
    stat_prefix: str,
    rds: message('Rds', () => ({ route_config_name: str, config_source: configSource })),
    route_config: routeConfiguration,
    http_filters: list(httpFilter),
    use_remote_address: bool,
    xff_num_trusted_hops: uint,
    skip_xff_append: bool,
    normalize_path: bool,
    merge_slashes: bool,
    path_with_escaped_slashes_action: enumOf(
      'IMPLEMENTATION_SPECIFIC_DEFAULT',
      'KEEP_UNCHANGED',
      'REJECT_REQUEST',
      'UNESCAPE_AND_REDIRECT',
      'UNESCAPE_AND_FORWARD',
    ),
    stream_idle_timeout: duration,
    request_timeout: duration,
    request_headers_timeout: duration,
    max_request_headers_kb: uint,
    strip_any_host_port: bool,
    forward_client_cert_details: enumOf('SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'),
    common_http_protocol_options: message('HttpProtocolOptions (core)', () => ({
      idle_timeout: duration,
      max_connection_duration: duration,
      max_stream_duration: duration,
      max_requests_per_connection: uint,
      headers_with_underscores_action: noop('HttpProtocolOptions.headers_with_underscores_action'),
    })),
    codec_type: noop('HttpConnectionManager.codec_type'),
    tracing: noop('HttpConnectionManager.tracing'),
    access_log: noop('HttpConnectionManager.access_log'),
    access_log_options: noop('HttpConnectionManager.access_log'),
    request_id_extension: noop('HttpConnectionManager.request_id_extension'),
    generate_request_id: noop('HttpConnectionManager.request_id_extension'),
    preserve_external_request_id: noop('HttpConnectionManager.request_id_extension'),
    always_set_request_id_in_response: noop('HttpConnectionManager.request_id_extension'),
    set_current_client_cert_details: noop('HttpConnectionManager.set_current_client_cert_details'),
    upgrade_configs: noop('HttpConnectionManager.upgrade_configs'),
    server_name: noop('HttpConnectionManager.server_name'),
    server_header_transformation: noop('HttpConnectionManager.server_name'),
    http_protocol_options: noop('HttpConnectionManager.http_protocol_options'),
    http2_protocol_options: noop('HttpConnectionManager.http2_protocol_options'),
    internal_address_config: noop('HttpConnectionManager.internal_address_config'),
    delayed_close_timeout: noop('HttpConnectionManager.delayed_close_timeout'),
    drain_timeout: noop('HttpConnectionManager.delayed_close_timeout'),
    append_x_forwarded_port: noop('HttpConnectionManager.append_x_forwarded_port'),
    proxy_100_continue: noop('HttpConnectionManager.proxy_100_continue'),
  }),
  oneOf(['rds', 'route_config'], true),
);
export const tcpProxy = message(
  'TcpProxy',
  () => ({
    stat_prefix: str,
    cluster: str,
    weighted_clusters: message('TcpProxy.WeightedCluster', () => ({
      clusters: list(message('TcpProxy.ClusterWeight', () => ({ name: str, weight: uint }))),
    })),
    idle_timeout: duration,
    max_connect_attempts: uint,
    access_log: noop('TcpProxy.access_log'),
    access_log_options: noop('TcpProxy.access_log'),
  }),
  oneOf(['cluster', 'weighted_clusters'], true),
);
export const networkRbac = message('RBAC (network filter)', () => ({
  stat_prefix: str,
  rules: rbac,
  shadow_rules: noop('RBAC.shadow_rules'),
  shadow_rules_stat_prefix: noop('RBAC.shadow_rules_stat_prefix'),
}));

const networkFilter: Rule = { kind: 'extension', family: 'network_filter', message: 'Filter', fields: once(() => ({ name: str })) };
const listenerFilter: Rule = {
  kind: 'extension',
  family: 'listener_filter',
  message: 'ListenerFilter',
  fields: once(() => ({ name: str })),
};

const commonTlsContext = message('CommonTlsContext', () => ({
  alpn_protocols: list(str),
  combined_validation_context: message('CombinedCertificateValidationContext', () => ({
    default_validation_context: message('CertificateValidationContext', () => ({
      match_subject_alt_names: list(stringMatcher),
    })),
    validation_context_sds_secret_config: noop('CommonTlsContext.sds'),
  })),
  tls_certificate_sds_secret_configs: noop('CommonTlsContext.sds'),
  validation_context_sds_secret_config: noop('CommonTlsContext.sds'),
  tls_params: noop('CommonTlsContext.tls_params'),
}));
export const downstreamTlsContext = message('DownstreamTlsContext', () => ({
  common_tls_context: commonTlsContext,
  require_client_certificate: bool,
  require_sni: noop('DownstreamTlsContext.require_sni'),
}));
export const upstreamTlsContext = message('UpstreamTlsContext', () => ({
  common_tls_context: commonTlsContext,
  sni: str,
}));
const transportSocket = (family: 'downstream_transport_socket' | 'upstream_transport_socket'): Rule => ({
  kind: 'extension',
  family,
  message: 'TransportSocket',
  fields: once(() => ({ name: str })),
});

const filterChain = message('FilterChain', () => ({
  name: str,
  filter_chain_match: message('FilterChainMatch', () => ({
    destination_port: uint,
    prefix_ranges: list(cidrRange),
    server_names: list(str),
    transport_protocol: str,
    application_protocols: list(str),
    source_type: enumOf('ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL'),
    source_prefix_ranges: list(cidrRange),
    direct_source_prefix_ranges: list(cidrRange),
    source_ports: list(uint),
  })),
  filters: list(networkFilter),
  transport_socket: transportSocket('downstream_transport_socket'),
  metadata: noop('FilterChain.metadata'),
  transport_socket_connect_timeout: noop('FilterChain.transport_socket_connect_timeout'),
}));
export const listener = message('Listener', () => ({
  name: str,
  address: address,
  filter_chains: list(filterChain),
  default_filter_chain: filterChain,
  listener_filters: list(listenerFilter),
  use_original_dst: bool,
  bind_to_port: bool,
  traffic_direction: enumOf('UNSPECIFIED', 'INBOUND', 'OUTBOUND'),
  listener_filters_timeout: noop('Listener.listener_filters_timeout'),
  continue_on_listener_filters_timeout: noop('Listener.listener_filters_timeout'),
  access_log: noop('Listener.access_log'),
  stat_prefix: noop('Listener.stat_prefix'),
  per_connection_buffer_limit_bytes: noop('Listener.per_connection_buffer_limit_bytes'),
  socket_options: noop('Listener.socket_options'),
  max_connections_to_accept_per_socket_event: noop('Listener.max_connections_to_accept_per_socket_event'),
  metadata: noop('Listener.metadata'),
}));

// ---- clusters and endpoints (api/envoy/config/cluster/v3, config/endpoint/v3, extensions/upstreams/http/v3) ----
const thresholds = message('CircuitBreakers.Thresholds', () => ({
  priority: enumOf('DEFAULT', 'HIGH'),
  max_connections: uint,
  max_pending_requests: uint,
  max_requests: uint,
  max_retries: uint,
  track_remaining: noop('CircuitBreakers.track_remaining'),
  max_connection_pools: uint,
}));
const outlierDetection = message('OutlierDetection', () => ({
  consecutive_5xx: uint,
  consecutive_gateway_failure: uint,
  consecutive_local_origin_failure: uint,
  interval: duration,
  base_ejection_time: duration,
  max_ejection_time: duration,
  max_ejection_percent: uint,
  enforcing_consecutive_5xx: uint,
  enforcing_consecutive_gateway_failure: uint,
  enforcing_consecutive_local_origin_failure: uint,
  enforcing_success_rate: uint,
  split_external_local_origin_errors: bool,
}));
const http1Or2 = message('ProtocolConfig', () => ({
  // Present = HTTP/1.1 upstream; its options (HTTP/1.0, header case, …) are refused, none is sent by default.
  http_protocol_options: empty('Http1ProtocolOptions'),
  http2_protocol_options: message('Http2ProtocolOptions', () => ({
    max_concurrent_streams: uint,
    initial_stream_window_size: noop('Http2ProtocolOptions.window_sizes'),
    initial_connection_window_size: noop('Http2ProtocolOptions.window_sizes'),
  })),
}));
export const httpProtocolOptions = message('HttpProtocolOptions', () => ({
  common_http_protocol_options: message('HttpProtocolOptions (core)', () => ({
    idle_timeout: duration,
    max_connection_duration: duration,
    max_requests_per_connection: uint,
    headers_with_underscores_action: noop('HttpProtocolOptions.headers_with_underscores_action'),
  })),
  explicit_http_config: http1Or2,
  use_downstream_protocol_config: http1Or2,
}));
export const clusterLoadAssignment = message('ClusterLoadAssignment', () => ({
  cluster_name: str,
  endpoints: list(
    message('LocalityLbEndpoints', () => ({
      locality: message('Locality', () => ({ region: str, zone: str, sub_zone: str })),
      lb_endpoints: list(
        message('LbEndpoint', () => ({
          endpoint: message('Endpoint', () => ({ address: address, hostname: str })),
          health_status: enumOf('UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'),
          metadata: metadata,
          load_balancing_weight: uint,
        })),
      ),
      load_balancing_weight: uint,
      priority: uint,
    })),
  ),
  policy: noop('ClusterLoadAssignment.policy'),
}));
export const cluster = message('Cluster', () => ({
  name: str,
  type: enumOf('STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'),
  eds_cluster_config: message('EdsClusterConfig', () => ({ eds_config: configSource, service_name: str })),
  connect_timeout: duration,
  lb_policy: enumOf('ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'CLUSTER_PROVIDED'),
  ring_hash_lb_config: message('RingHashLbConfig', () => ({ minimum_ring_size: uint, maximum_ring_size: uint, hash_function: enumOf('XX_HASH') })),
  load_assignment: clusterLoadAssignment,
  circuit_breakers: message('CircuitBreakers', () => ({ thresholds: list(thresholds) })),
  outlier_detection: outlierDetection,
  typed_extension_protocol_options: map(any('protocol_options')),
  transport_socket: transportSocket('upstream_transport_socket'),
  transport_socket_matches: list(
    message('TransportSocketMatch', () => ({
      name: str,
      match: struct,
      transport_socket: transportSocket('upstream_transport_socket'),
    })),
  ),
  common_lb_config: message('CommonLbConfig', () => ({
    healthy_panic_threshold: message('Percent', () => ({ value: double })),
    locality_weighted_lb_config: noop('CommonLbConfig.locality_weighted_lb_config'),
  })),
  original_dst_lb_config: message('OriginalDstLbConfig', () => ({ upstream_port_override: uint })),
  alt_stat_name: noop('Cluster.alt_stat_name'),
  metadata: noop('Cluster.metadata'),
  filters: noop('Cluster.filters'),
  dns_lookup_family: noop('Cluster.dns'),
  dns_refresh_rate: noop('Cluster.dns'),
  dns_jitter: noop('Cluster.dns'),
  respect_dns_ttl: noop('Cluster.dns'),
  typed_dns_resolver_config: noop('Cluster.dns'),
  cleanup_interval: noop('Cluster.cleanup_interval'),
  per_connection_buffer_limit_bytes: noop('Cluster.per_connection_buffer_limit_bytes'),
  upstream_bind_config: noop('Cluster.upstream_bind_config'),
  upstream_connection_options: noop('Cluster.upstream_connection_options'),
}));
