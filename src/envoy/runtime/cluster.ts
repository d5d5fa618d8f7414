// What of a Cluster the local data plane runs, with Envoy's defaults for what the configuration leaves unset:
// api/envoy/config/cluster/v3/cluster.proto (connect_timeout 5 s, lb_policy ROUND_ROBIN, common_lb_config
// healthy_panic_threshold 50 %), circuit_breaker.proto (1024 connections, pending and requests, 3 retries),
// outlier_detection.proto (consecutive_5xx 5 enforced at 100 %, consecutive_gateway_failure 5 enforced at 0 %,
// interval 10 s, base_ejection_time 30 s, max_ejection_time 300 s, max_ejection_percent 10 %) and
// upstreams/http/v3 HttpProtocolOptions (max_requests_per_connection unlimited).
import { TypedConfigType, type Cluster, type OutlierDetection, type StringMatcher } from '../model/index.ts';
import { matchString } from './matchers.ts';
import { DEFAULT_MAX_RING_SIZE, DEFAULT_MIN_RING_SIZE } from './ring-hash.ts';
import { durationMs } from './duration.ts';

export interface EvaluatedOutlierDetection {
  consecutive5xx: number;
  enforcingConsecutive5xx: number;
  consecutiveGatewayFailure: number;
  enforcingConsecutiveGatewayFailure: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
}

export interface EvaluatedCluster {
  name: string;
  connectTimeoutMs: number;
  /** CLUSTER_PROVIDED: an ORIGINAL_DST cluster, whose one host is where the connection was going. */
  lbPolicy: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'CLUSTER_PROVIDED';
  /** RING_HASH's ring sizes (ring_hash_lb_config; Envoy's defaults 1024 and 8M). */
  ring?: { minSize: number; maxSize: number };
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  /** 0: unlimited. */
  maxRequestsPerConnection: number;
  /** undefined: Envoy's one hour, never reached in a run. */
  idleTimeoutMs?: number;
  outlierDetection?: EvaluatedOutlierDetection;
  /** Below this share of healthy hosts the load balancer uses every host (0: never). */
  healthyPanicThresholdPercent: number;
  /** How upstream connections are secured: always mTLS, never, or by each endpoint's tlsMode (auto mTLS). */
  tls: 'mtls' | 'plaintext' | 'by-endpoint';
  /**
   * The peer identities an mTLS connection accepts (the TLS context's match_subject_alt_names); empty: any the mesh CA
   * signed. A server whose SPIFFE id matches none fails the handshake (CERTIFICATE_VERIFY_FAILED).
   */
  acceptedSans: StringMatcher[];
}

/** Enforcement is a percentage of detections; the local data plane runs the 0 % and 100 % istiod writes. */
function enforcing(value: number | undefined, fallback: number, field: string): number {
  const v = value ?? fallback;
  if (v !== 0 && v !== 100) throw new Error(`outlier_detection.${field}: ${v} % enforcement is not executed by the local data plane (0 or 100)`);
  return v;
}

function outlier(od: OutlierDetection, cluster: string): EvaluatedOutlierDetection {
  // Detectors the local data plane does not run are refused, not skipped: success-rate ejection (on unless
  // enforcing_success_rate is 0, as istiod always writes it) and split local-origin errors.
  const at = `cluster ${cluster}: outlier_detection`;
  if (od.enforcing_success_rate !== 0)
    throw new Error(
      `${at}.enforcing_success_rate: success-rate ejection (${od.enforcing_success_rate ?? 'unset: 100'} %) is not executed by the local data plane; set it to 0`,
    );
  if (od.split_external_local_origin_errors)
    throw new Error(`${at}.split_external_local_origin_errors: split local-origin error accounting is not executed by the local data plane`);
  if (od.consecutive_local_origin_failure !== undefined)
    throw new Error(`${at}.consecutive_local_origin_failure: not executed by the local data plane (it needs split_external_local_origin_errors)`);
  const ms = (d: string | undefined, fallback: number, field: string) => (d === undefined ? fallback : durationMs(d, `outlier_detection.${field}`));
  return {
    consecutive5xx: od.consecutive_5xx ?? 5,
    enforcingConsecutive5xx: enforcing(od.enforcing_consecutive_5xx, 100, 'enforcing_consecutive_5xx'),
    consecutiveGatewayFailure: od.consecutive_gateway_failure ?? 5,
    enforcingConsecutiveGatewayFailure: enforcing(od.enforcing_consecutive_gateway_failure, 0, 'enforcing_consecutive_gateway_failure'),
    intervalMs: ms(od.interval, 10_000, 'interval'),
    baseEjectionTimeMs: ms(od.base_ejection_time, 30_000, 'base_ejection_time'),
    maxEjectionTimeMs: ms(od.max_ejection_time, 300_000, 'max_ejection_time'),
    maxEjectionPercent: od.max_ejection_percent ?? 10,
  };
}

function tlsOf(cluster: Cluster): EvaluatedCluster['tls'] {
  if (cluster.transport_socket) return cluster.transport_socket.name === 'envoy.transport_sockets.tls' ? 'mtls' : 'plaintext';
  const matches = cluster.transport_socket_matches ?? [];
  if (matches.length === 0) return 'plaintext';
  // istiod's auto-mTLS pair: tlsMode istio → TLS, anything else → raw buffer. Any other shape is refused.
  const [istio, rest] = matches;
  if (
    matches.length === 2 &&
    istio &&
    rest &&
    istio.match?.tlsMode === 'istio' &&
    istio.transport_socket?.name === 'envoy.transport_sockets.tls' &&
    Object.keys(rest.match ?? {}).length === 0
  )
    return 'by-endpoint';
  throw new Error(`cluster ${cluster.name}: transport_socket_matches other than istiod's tlsMode-istio / tlsMode-disabled pair are not executed`);
}

function acceptedSansOf(cluster: Cluster): StringMatcher[] {
  const socket = cluster.transport_socket ?? cluster.transport_socket_matches?.find((m) => m.match?.tlsMode === 'istio')?.transport_socket;
  const context = socket?.typed_config['@type'] === TypedConfigType.upstreamTlsContext ? socket.typed_config : undefined;
  return context?.common_tls_context?.combined_validation_context?.default_validation_context?.match_subject_alt_names ?? [];
}

/** Whether a server with this SPIFFE id passes the SAN check (Envoy's DefaultCertValidator: any matcher matches a URI SAN). */
export function sanAccepted(accepted: readonly StringMatcher[], spiffeId: string): boolean {
  return accepted.length === 0 || accepted.some((m) => matchString(m, spiffeId));
}

/** What would change behaviour and the local data plane does not run, refused with its path. */
function refuseUnexecuted(cluster: Cluster): void {
  const at = `cluster ${cluster.name}`;
  const http = cluster.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  // The local upstream connections are HTTP/1.1; use_downstream_protocol_config picks HTTP/1.1 for the HTTP/1.1 clients
  // here, so only an explicit HTTP/2 upstream would differ (multiplexing, max_requests instead of pending requests).
  if (http?.explicit_http_config?.http2_protocol_options)
    throw new Error(
      `${at}: typed_extension_protocol_options.explicit_http_config.http2_protocol_options: HTTP/2 upstreams are not executed by the local data plane`,
    );
  if (http?.common_http_protocol_options?.max_connection_duration)
    throw new Error(
      `${at}: typed_extension_protocol_options.common_http_protocol_options.max_connection_duration: connection lifetimes are not executed by the local data plane`,
    );
  for (const [i, t] of (cluster.circuit_breakers?.thresholds ?? []).entries()) {
    if (t.max_connection_pools !== undefined)
      throw new Error(`${at}: circuit_breakers.thresholds[${i}].max_connection_pools: not executed by the local data plane`);
  }
  if (cluster.original_dst_lb_config?.upstream_port_override !== undefined)
    throw new Error(`${at}: original_dst_lb_config.upstream_port_override: not executed by the local data plane`);
}

export function evaluateCluster(cluster: Cluster): EvaluatedCluster {
  refuseUnexecuted(cluster);
  const thresholds = (cluster.circuit_breakers?.thresholds ?? []).find((t) => (t.priority ?? 'DEFAULT') === 'DEFAULT');
  const options = cluster.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']?.common_http_protocol_options;
  const lb = cluster.lb_policy ?? 'ROUND_ROBIN';
  const originalDst = cluster.type === 'ORIGINAL_DST' && lb === 'CLUSTER_PROVIDED';
  if (lb !== 'ROUND_ROBIN' && lb !== 'LEAST_REQUEST' && lb !== 'RANDOM' && lb !== 'RING_HASH' && !originalDst)
    throw new Error(`cluster ${cluster.name}: lb_policy ${lb} is not executed by the local data plane`);
  const ringConfig = cluster.ring_hash_lb_config;
  const panic = cluster.common_lb_config?.healthy_panic_threshold;
  return {
    name: cluster.name,
    connectTimeoutMs: cluster.connect_timeout === undefined ? 5_000 : durationMs(cluster.connect_timeout, 'connect_timeout'),
    lbPolicy: lb,
    ...(lb === 'RING_HASH'
      ? { ring: { minSize: ringConfig?.minimum_ring_size ?? DEFAULT_MIN_RING_SIZE, maxSize: ringConfig?.maximum_ring_size ?? DEFAULT_MAX_RING_SIZE } }
      : {}),
    maxConnections: thresholds?.max_connections ?? 1024,
    maxPendingRequests: thresholds?.max_pending_requests ?? 1024,
    maxRequests: thresholds?.max_requests ?? 1024,
    maxRetries: thresholds?.max_retries ?? 3,
    maxRequestsPerConnection: options?.max_requests_per_connection ?? 0,
    ...(options?.idle_timeout !== undefined ? { idleTimeoutMs: durationMs(options.idle_timeout, 'idle_timeout') } : {}),
    ...(cluster.outlier_detection ? { outlierDetection: outlier(cluster.outlier_detection, cluster.name) } : {}),
    healthyPanicThresholdPercent: panic === undefined ? 50 : (panic.value ?? 0),
    tls: tlsOf(cluster),
    acceptedSans: acceptedSansOf(cluster),
  };
}
