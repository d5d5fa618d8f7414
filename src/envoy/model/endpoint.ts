// envoy.config.endpoint.v3 (api/envoy/config/endpoint/v3/endpoint.proto, endpoint_components.proto).
import type { Address, Metadata } from './common.ts';

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LbEndpoint {
  endpoint?: { address: Address; hostname?: string };
  /** istiod keeps not-ready endpoints in EDS as UNHEALTHY. */
  health_status?: HealthStatus;
  /** `istio` (workload, namespace, labels) and `envoy.transport_socket_match` (tlsMode). */
  metadata?: Metadata;
  load_balancing_weight?: number;
}

export interface LocalityLbEndpoints {
  locality?: { region?: string; zone?: string; sub_zone?: string };
  lb_endpoints?: LbEndpoint[];
  load_balancing_weight?: number;
  priority?: number;
}

export interface ClusterLoadAssignment {
  cluster_name: string;
  endpoints?: LocalityLbEndpoints[];
}
