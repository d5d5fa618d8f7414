// Envoy v3 building blocks shared by listeners, routes and clusters, in canonical proto3 JSON
// (field names as in Envoy's api/envoy/**.proto and in a config_dump: snake_case; wrappers unwrapped;
// google.protobuf.Duration as "1.5s"; uint64 as a number once loaded).

/** google.protobuf.Duration in proto3 JSON: seconds with up to 9 fractional digits and an `s`, e.g. "0.250s". */
export type Duration = string;

/** Free-form google.protobuf.Struct / Value content. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** envoy.type.v3.FractionalPercent (api/envoy/type/v3/percent.proto). */
export interface FractionalPercent {
  numerator?: number;
  denominator?: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION';
}

/** envoy.config.core.v3.RuntimeFractionalPercent; the runtime key is a no-op here (no runtime layer). */
export interface RuntimeFractionalPercent {
  default_value?: FractionalPercent;
}

/** envoy.type.matcher.v3.RegexMatcher (RE2 only: `google_re2` is deprecated and implied). */
export interface RegexMatcher {
  regex: string;
}

/** envoy.type.matcher.v3.StringMatcher. */
export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safe_regex?: RegexMatcher;
  ignore_case?: boolean;
}

/** envoy.type.matcher.v3.RegexMatchAndSubstitute. */
export interface RegexMatchAndSubstitute {
  pattern: RegexMatcher;
  substitution: string;
}

/** envoy.type.v3.Int64Range: [start, end). */
export interface Int64Range {
  start: number;
  end: number;
}

/** envoy.config.route.v3.HeaderMatcher (also used by RBAC and the fault filter). */
export interface HeaderMatcher {
  name: string;
  exact_match?: string;
  safe_regex_match?: RegexMatcher;
  range_match?: Int64Range;
  present_match?: boolean;
  prefix_match?: string;
  suffix_match?: string;
  contains_match?: string;
  string_match?: StringMatcher;
  invert_match?: boolean;
  treat_missing_header_as_empty?: boolean;
}

/** envoy.config.core.v3.HeaderValue / HeaderValueOption. */
export interface HeaderValue {
  key: string;
  value?: string;
}
export interface HeaderValueOption {
  header: HeaderValue;
  /** Deprecated BoolValue; true = APPEND_IF_EXISTS_OR_ADD, false = OVERWRITE_IF_EXISTS_OR_ADD. */
  append?: boolean;
  append_action?: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
  keep_empty_value?: boolean;
}

/** envoy.config.core.v3.Metadata: filter name → Struct. Istio keys endpoints' `istio` metadata and tlsMode here. */
export interface Metadata {
  filter_metadata?: Record<string, Record<string, JsonValue>>;
}

/** envoy.type.matcher.v3.MetadataMatcher / ValueMatcher / ListMatcher (RBAC principals on JWT claims). */
export interface ValueMatcher {
  null_match?: Record<string, never>;
  double_match?: { range?: { start: number; end: number }; exact?: number };
  string_match?: StringMatcher;
  bool_match?: boolean;
  present_match?: boolean;
  list_match?: { one_of: ValueMatcher };
  or_match?: { value_matchers: ValueMatcher[] };
}
export interface MetadataMatcher {
  filter: string;
  path: { key: string }[];
  value: ValueMatcher;
  invert?: boolean;
}

/** envoy.config.core.v3.SocketAddress / Address (pipes and internal addresses are refused). */
export interface SocketAddress {
  address: string;
  port_value?: number;
  protocol?: 'TCP' | 'UDP';
}
export interface Address {
  socket_address: SocketAddress;
}

/** envoy.config.core.v3.CidrRange. */
export interface CidrRange {
  address_prefix: string;
  prefix_len?: number;
}

/** envoy.config.core.v3.ConfigSource as istiod sends it: ADS only. */
export interface ConfigSource {
  ads?: Record<string, never>;
  initial_fetch_timeout?: Duration;
  resource_api_version?: 'AUTO' | 'V2' | 'V3';
}

/** A google.protobuf.Any in canonical JSON: the message's own fields beside `@type`. */
export type TypedAny<Url extends string, Body> = { '@type': Url } & Body;
