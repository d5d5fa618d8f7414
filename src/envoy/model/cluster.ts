// envoy.config.cluster.v3 (api/envoy/config/cluster/v3/cluster.proto, circuit_breaker.proto, outlier_detection.proto)
// and envoy.extensions.upstreams.http.v3.HttpProtocolOptions.
import type { ConfigSource, Duration, TypedAny } from './common.ts';
import type { ClusterLoadAssignment } from './endpoint.ts';
import type { TypedConfigType } from './type-urls.ts';
import type { UpstreamTlsContext } from './tls.ts';

export interface CircuitBreakerThresholds {
  priority?: 'DEFAULT' | 'HIGH';
  /** UInt32Values; Envoy's defaults are 1024 each and 3 retries. */
  max_connections?: number;
  max_pending_requests?: number;
  max_requests?: number;
  max_retries?: number;
  track_remaining?: boolean;
  /** Not executed by the local data plane: refused by evaluateCluster. */
  max_connection_pools?: number;
}

export interface CircuitBreakers {
  thresholds?: CircuitBreakerThresholds[];
}

/** OutlierDetection; unset wrappers take Envoy's defaults (consecutive_5xx 5, interval 10s, base ejection 30s, 10%). */
export interface OutlierDetection {
  consecutive_5xx?: number;
  consecutive_gateway_failure?: number;
  consecutive_local_origin_failure?: number;
  interval?: Duration;
  base_ejection_time?: Duration;
  max_ejection_time?: Duration;
  max_ejection_percent?: number;
  enforcing_consecutive_5xx?: number;
  enforcing_consecutive_gateway_failure?: number;
  enforcing_consecutive_local_origin_failure?: number;
  enforcing_success_rate?: number;
  split_external_local_origin_errors?: boolean;
}

export interface HttpProtocolOptions {
  common_http_protocol_options?: {
    idle_timeout?: Duration;
    max_connection_duration?: Duration;
    max_requests_per_connection?: number;
  };
  /** The protocol choice: explicit HTTP/1.1 or HTTP/2, or use the downstream's (istiod's auto protocol). */
  explicit_http_config?: { http_protocol_options?: Record<string, never>; http2_protocol_options?: { max_concurrent_streams?: number } };
  use_downstream_protocol_config?: { http_protocol_options?: Record<string, never>; http2_protocol_options?: { max_concurrent_streams?: number } };
}

export type UpstreamTransportSocket =
  | { name: string; typed_config: TypedAny<typeof TypedConfigType.upstreamTlsContext, UpstreamTlsContext> }
  | { name: string; typed_config: TypedAny<typeof TypedConfigType.rawBuffer, Record<never, never>> };

/** istiod's auto-mTLS: `tlsMode-istio` matches endpoints whose metadata `envoy.transport_socket_match.tlsMode` is
 * "istio" (sidecar present), `tlsMode-disabled` the rest. */
export interface TransportSocketMatch {
  name: string;
  match?: Record<string, string>;
  transport_socket?: UpstreamTransportSocket;
}

export interface Cluster {
  name: string;
  type?: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
  eds_cluster_config?: { eds_config?: ConfigSource; service_name?: string };
  connect_timeout?: Duration;
  lb_policy?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RING_HASH' | 'RANDOM' | 'MAGLEV' | 'CLUSTER_PROVIDED';
  /** RING_HASH's ring: Envoy's defaults 1024 and 8M entries, xxHash. */
  ring_hash_lb_config?: { minimum_ring_size?: number; maximum_ring_size?: number; hash_function?: 'XX_HASH' };
  load_assignment?: ClusterLoadAssignment;
  circuit_breakers?: CircuitBreakers;
  outlier_detection?: OutlierDetection;
  typed_extension_protocol_options?: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'?: TypedAny<typeof TypedConfigType.httpProtocolOptions, HttpProtocolOptions>;
  };
  transport_socket?: UpstreamTransportSocket;
  transport_socket_matches?: TransportSocketMatch[];
  common_lb_config?: { healthy_panic_threshold?: { value?: number } };
  /** ORIGINAL_DST clusters (PassthroughCluster, InboundPassthroughCluster). */
  original_dst_lb_config?: { upstream_port_override?: number };
}
