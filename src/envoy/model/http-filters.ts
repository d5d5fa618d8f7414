// The HTTP filters the local data plane executes, with the fields that decide their behaviour
// (api/envoy/extensions/filters/http/*/v3/*.proto). No-op filters are in ../no-ops.ts.
import type {
  Duration,
  FractionalPercent,
  HeaderMatcher,
  HeaderValueOption,
  MetadataMatcher,
  RuntimeFractionalPercent,
  StringMatcher,
  TypedAny,
} from './common.ts';
import type { Rbac } from './rbac.ts';
import type { TypedConfigType } from './type-urls.ts';

/** envoy.extensions.filters.http.fault.v3.HTTPFault; istiod puts it per route in typed_per_filter_config. */
export interface HttpFault {
  delay?: { fixed_delay?: Duration; percentage?: FractionalPercent };
  abort?: { http_status?: number; grpc_status?: number; percentage?: FractionalPercent };
  headers?: HeaderMatcher[];
  max_active_faults?: number;
}

/**
 * envoy.extensions.filters.http.rbac.v3.RBAC. `shadow_rules` never allow or deny; their verdict is written to the
 * request's dynamic metadata under `envoy.filters.http.rbac`, keyed by `shadow_rules_stat_prefix`, where an ext_authz
 * filter's filter_enabled_metadata reads it (istiod's CUSTOM policies).
 */
export interface HttpRbac {
  rules?: Rbac;
  shadow_rules?: Rbac;
  shadow_rules_stat_prefix?: string;
}

/** envoy.config.core.v3.GrpcService with an Envoy cluster (istiod's envoyExtAuthzGrpc providers). */
export interface GrpcService {
  envoy_grpc?: { cluster_name: string; authority?: string };
  timeout?: Duration;
}

/** envoy.extensions.filters.http.ext_authz.v3.ExtAuthz with a gRPC service, as istiod writes it (builder/extauthz.go). */
export interface ExtAuthz {
  grpc_service?: GrpcService;
  failure_mode_allow?: boolean;
  status_on_error?: { code: number };
  filter_enabled_metadata?: MetadataMatcher;
  transport_api_version?: 'V3';
}

/** envoy.type.v3.TokenBucket. */
export interface TokenBucket {
  max_tokens: number;
  tokens_per_fill?: number;
  fill_interval: Duration;
}

/** envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit (descriptors are refused). */
export interface LocalRateLimit {
  stat_prefix: string;
  /** Status sent when limited; 429 unless set (`status.code`). */
  status?: { code: number };
  token_bucket?: TokenBucket;
  /** Share of requests the filter looks at; unset = 0% (the filter does nothing). */
  filter_enabled?: RuntimeFractionalPercent;
  /** Share of looked-at requests that are limited (others only counted); unset = 0%. */
  filter_enforced?: RuntimeFractionalPercent;
  request_headers_to_add_when_not_enforced?: HeaderValueOption[];
  response_headers_to_add?: HeaderValueOption[];
  local_rate_limit_per_downstream_connection?: boolean;
  always_consume_default_token_bucket?: boolean;
}

/** envoy.extensions.filters.http.jwt_authn.v3.JwtProvider (the fields that decide accept/reject). */
export interface JwtProvider {
  issuer?: string;
  audiences?: string[];
  local_jwks?: { inline_string?: string; filename?: string };
  remote_jwks?: { http_uri: { uri: string; cluster?: string; timeout?: Duration }; cache_duration?: Duration };
  forward?: boolean;
  from_headers?: { name: string; value_prefix?: string }[];
  from_params?: string[];
  forward_payload_header?: string;
  payload_in_metadata?: string;
  /** Claims split on spaces into lists in the metadata (RBAC matches one scope); istiod sends scope, permission. */
  normalize_payload_in_metadata?: { space_delimited_claims?: string[] };
  clear_route_cache?: boolean;
  from_cookies?: string[];
  clock_skew_seconds?: number;
}
export interface JwtRequirement {
  provider_name?: string;
  provider_and_audiences?: { provider_name: string; audiences: string[] };
  requires_any?: { requirements: JwtRequirement[] };
  requires_all?: { requirements: JwtRequirement[] };
  allow_missing_or_failed?: Record<string, never>;
  allow_missing?: Record<string, never>;
}
export interface JwtAuthentication {
  providers?: Record<string, JwtProvider>;
  rules?: { match: { prefix?: string; path?: string }; requires?: JwtRequirement }[];
  requirement_map?: Record<string, JwtRequirement>;
  bypass_cors_preflight?: boolean;
}

/** envoy.extensions.filters.http.cors.v3.CorsPolicy, per route or virtual host (istiod: route.go TranslateCORSPolicy). */
export interface CorsPolicy {
  allow_origin_string_match?: StringMatcher[];
  allow_methods?: string;
  allow_headers?: string;
  expose_headers?: string;
  max_age?: string;
  allow_credentials?: boolean;
  /** Unset: enabled for every request. */
  filter_enabled?: RuntimeFractionalPercent;
  /** Unset: true (forward a preflight from an origin not allowed). */
  forward_not_matching_preflights?: boolean;
  allow_private_network_access?: boolean;
}

/** envoy.extensions.filters.http.router.v3.Router. */
export interface Router {
  suppress_envoy_headers?: boolean;
}

/** stats.MetricConfig: what istio_stats does to one metric (`name` its Prometheus short name; empty: every metric). */
export interface StatsMetricConfig {
  name?: string;
  /** Tag → CEL expression: a standard tag's value replaced, or a tag added. */
  dimensions?: Record<string, string>;
  tags_to_remove?: string[];
  drop?: boolean;
}

/** stats.PluginConfig, the `istio.stats` HTTP filter (model/telemetry.go generateStatsConfig). */
export interface StatsPluginConfig {
  /** destination_service does not fall back to the Host header when no cluster names a Service. */
  disable_host_header_fallback?: boolean;
  metrics?: StatsMetricConfig[];
}

export type HttpFilterConfig =
  | TypedAny<typeof TypedConfigType.fault, HttpFault>
  | TypedAny<typeof TypedConfigType.rbac, HttpRbac>
  | TypedAny<typeof TypedConfigType.extAuthz, ExtAuthz>
  | TypedAny<typeof TypedConfigType.localRateLimit, LocalRateLimit>
  | TypedAny<typeof TypedConfigType.jwtAuthn, JwtAuthentication>
  | TypedAny<typeof TypedConfigType.router, Router>
  | TypedAny<typeof TypedConfigType.cors, Record<string, never>>
  | TypedAny<typeof TypedConfigType.istioStats, StatsPluginConfig>;

/** envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter, after the loader resolved TypedStructs. */
export interface HttpFilter {
  name: string;
  typed_config?: HttpFilterConfig;
  /** Disabled by default; a route enables it through typed_per_filter_config (FilterConfig). */
  disabled?: boolean;
  is_optional?: boolean;
}

/** Per-route configs (Route/VirtualHost/WeightedCluster `typed_per_filter_config`), keyed by filter name. */
export type PerFilterConfig =
  | TypedAny<typeof TypedConfigType.fault, HttpFault>
  | TypedAny<typeof TypedConfigType.localRateLimit, LocalRateLimit>
  | TypedAny<typeof TypedConfigType.corsPolicy, CorsPolicy>
  | TypedAny<typeof TypedConfigType.rbacPerRoute, { rbac?: HttpRbac }>
  | TypedAny<typeof TypedConfigType.routeFilterConfig, { config?: PerFilterConfig; is_optional?: boolean; disabled?: boolean }>;
