// The local rate limit of one EnvoyFilter patch, as Envoy's envoy.filters.http.local_ratelimit would run it.
import type { SourcePos } from '../../spec/types.ts';

export type EnvoyFilterContext = 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND' | 'GATEWAY';

/** Where the filter lands in the HTTP filter chain (istio/api networking/v1alpha3/envoy_filter.proto, Operation). */
export type FilterPosition =
  /** INSERT_FIRST, or INSERT_BEFORE without subFilter ("If no filter is selected, the specified element will be inserted at the beginning"): before jwt_authn and RBAC, so denied requests still take tokens. */
  | 'first'
  /** INSERT_BEFORE with subFilter envoy.filters.http.router: after Istio's authn/RBAC filters, just before the router. */
  | 'beforeRouter';

export interface TokenBucketSpec {
  maxTokens: number;
  /** Default 1 (envoy type/v3/token_bucket.proto). */
  tokensPerFill: number;
  /** ≥ 50 ms (Envoy refuses shorter: "local rate limit token bucket fill timer must be >= 50ms"). */
  fillIntervalMs: number;
}

export interface ResponseHeader {
  name: string;
  value: string;
  /** false: overwrite (append: false / OVERWRITE_IF_EXISTS_OR_ADD); true: add another value. */
  append: boolean;
}

export interface LocalRateLimit {
  /** EnvoyFilter name and namespace. */
  name: string;
  namespace: string;
  /** `workloadSelector.labels`; undefined: every workload of the namespace (of the mesh in the root namespace). */
  selector?: Record<string, string>;
  context: EnvoyFilterContext;
  /** `match.listener.portNumber`: only the listener on this port (inbound: the workload's port; gateway: 8080). */
  portNumber?: number;
  position: FilterPosition;
  statPrefix: string;
  bucket: TokenBucketSpec;
  /** filter_enabled default_value as a percentage 0..100 (0 when the field is absent: the filter does nothing). */
  enabledPercent: number;
  /** filter_enforced default_value as a percentage 0..100 (0 when absent: limited requests are counted, not refused). */
  enforcedPercent: number;
  /** Status of the local reply; Envoy turns codes below 400 into 429. Default 429. */
  status: number;
  responseHeaders: ResponseHeader[];
  /** local_rate_limit_per_downstream_connection: one bucket per downstream connection instead of per proxy. */
  perConnection: boolean;
  /** Things a user should know, e.g. "filter_enabled is absent: the filter never engages". */
  findings: string[];
  /** Index of the patch in spec.configPatches. */
  patchIndex: number;
  /** The EnvoyFilter's `spec.priority` (0 when absent): lower ones are applied first. */
  priority: number;
  source?: SourcePos;
}

/** Body of Envoy's local-rate-limit reply (source/extensions/filters/http/local_ratelimit/local_ratelimit.cc). */
export const LOCAL_RATE_LIMIT_BODY = 'local_rate_limited';
/** Response flag set on the stream (CoreResponseFlag::RateLimited). */
export const LOCAL_RATE_LIMIT_FLAG = 'RL';
