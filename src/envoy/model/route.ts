// envoy.config.route.v3 (api/envoy/config/route/v3/route.proto, route_components.proto): what routing decides.
import type {
  Duration,
  HeaderMatcher,
  HeaderValueOption,
  Metadata,
  MetadataMatcher,
  RegexMatchAndSubstitute,
  RegexMatcher,
  RuntimeFractionalPercent,
  StringMatcher,
  TypedAny,
} from './common.ts';
import type { PerFilterConfig } from './http-filters.ts';
import type { TypedConfigType } from './type-urls.ts';

export type TypedPerFilterConfig = Record<string, PerFilterConfig>;

export interface QueryParameterMatcher {
  name: string;
  string_match?: StringMatcher;
  present_match?: boolean;
}

/** RouteMatch: exactly one of prefix / path / safe_regex / path_separated_prefix, then headers and query. */
export interface RouteMatch {
  prefix?: string;
  path?: string;
  safe_regex?: RegexMatcher;
  path_separated_prefix?: string;
  /** BoolValue, true unless set. */
  case_sensitive?: boolean;
  headers?: HeaderMatcher[];
  query_parameters?: QueryParameterMatcher[];
  runtime_fraction?: RuntimeFractionalPercent;
  /** Matched against the stream's dynamic metadata (istiod: `@request.auth.claims` keys on jwt_authn's payload). */
  dynamic_metadata?: MetadataMatcher[];
}

export interface ClusterWeight {
  name: string;
  weight: number;
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
  typed_per_filter_config?: TypedPerFilterConfig;
  host_rewrite_literal?: string;
}

/** WeightedCluster: weights are relative; `total_weight` (deprecated) must equal their sum when set. */
export interface WeightedCluster {
  clusters: ClusterWeight[];
  total_weight?: number;
}

export type RetryHostPredicate = {
  name: string;
  typed_config?: TypedAny<typeof TypedConfigType.previousHostsPredicate, Record<string, never>>;
};

/** envoy.config.route.v3.RetryPolicy. */
export interface RetryPolicy {
  /** Comma-separated conditions: 5xx, gateway-error, reset, reset-before-request, connect-failure, retriable-4xx,
   * refused-stream, retriable-status-codes, retriable-headers, cancelled, unavailable, … */
  retry_on?: string;
  /** UInt32Value, 1 unless set. */
  num_retries?: number;
  per_try_timeout?: Duration;
  per_try_idle_timeout?: Duration;
  retriable_status_codes?: number[];
  retry_host_predicate?: RetryHostPredicate[];
  host_selection_retry_max_attempts?: number;
  retry_back_off?: { base_interval: Duration; max_interval?: Duration };
  retriable_headers?: HeaderMatcher[];
  retriable_request_headers?: HeaderMatcher[];
}

/** RouteAction.HashPolicy: what the request's hash for a RING_HASH cluster is made of (one specifier each). */
export interface HashPolicy {
  header?: { header_name: string };
  cookie?: { name: string; ttl?: Duration; path?: string };
  connection_properties?: { source_ip?: boolean };
  query_parameter?: { name: string };
  terminal?: boolean;
}

export interface RouteAction {
  cluster?: string;
  weighted_clusters?: WeightedCluster;
  hash_policy?: HashPolicy[];
  cluster_not_found_response_code?: 'SERVICE_UNAVAILABLE' | 'NOT_FOUND' | 'INTERNAL_SERVER_ERROR';
  /** 15s unless set; "0s" = no timeout (istiod always sets it). */
  timeout?: Duration;
  idle_timeout?: Duration;
  max_stream_duration?: { max_stream_duration?: Duration; grpc_timeout_header_max?: Duration };
  retry_policy?: RetryPolicy;
  prefix_rewrite?: string;
  regex_rewrite?: RegexMatchAndSubstitute;
  host_rewrite_literal?: string;
  auto_host_rewrite?: boolean;
  /** Mirroring copies requests to another cluster and does not change the response. */
  request_mirror_policies?: { cluster: string; runtime_fraction?: RuntimeFractionalPercent }[];
}

export interface RedirectAction {
  host_redirect?: string;
  port_redirect?: number;
  scheme_redirect?: string;
  https_redirect?: boolean;
  path_redirect?: string;
  prefix_rewrite?: string;
  regex_rewrite?: RegexMatchAndSubstitute;
  response_code?: 'MOVED_PERMANENTLY' | 'FOUND' | 'SEE_OTHER' | 'TEMPORARY_REDIRECT' | 'PERMANENT_REDIRECT';
  strip_query?: boolean;
}

export interface DirectResponseAction {
  status: number;
  body?: { inline_string?: string; inline_bytes?: string };
}

export interface HeaderOperations {
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
}

/** One of route / redirect / direct_response. */
export interface Route extends HeaderOperations {
  name?: string;
  match: RouteMatch;
  route?: RouteAction;
  redirect?: RedirectAction;
  direct_response?: DirectResponseAction;
  typed_per_filter_config?: TypedPerFilterConfig;
  metadata?: Metadata;
}

export interface VirtualHost extends HeaderOperations {
  name: string;
  domains: string[];
  routes?: Route[];
  retry_policy?: RetryPolicy;
  typed_per_filter_config?: TypedPerFilterConfig;
  include_request_attempt_count?: boolean;
  include_attempt_count_in_response?: boolean;
}

export interface RouteConfiguration extends HeaderOperations {
  name: string;
  virtual_hosts?: VirtualHost[];
  /** BoolValue; false from istiod (a route to an unknown cluster answers 503 instead of rejecting the config). */
  validate_clusters?: boolean;
  ignore_port_in_host_matching?: boolean;
  typed_per_filter_config?: TypedPerFilterConfig;
}
