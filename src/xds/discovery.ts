// envoy.service.discovery.v3 DiscoveryRequest / DiscoveryResponse (api/envoy/service/discovery/v3/discovery.proto)
// in canonical JSON, and the resource types in the order istiod pushes them (pilot/pkg/xds/ads.go PushOrder).
import type { XdsNode } from './node.ts';

export const TypeUrl = {
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
} as const;
export type XdsTypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/** CDS, EDS, LDS, RDS: the order istiod pushes in, and the order a sidecar subscribes in. */
export const PUSH_ORDER: readonly XdsTypeUrl[] = [TypeUrl.cluster, TypeUrl.endpoint, TypeUrl.listener, TypeUrl.route];

export const SHORT_NAME: Record<XdsTypeUrl, 'CDS' | 'EDS' | 'LDS' | 'RDS'> = {
  [TypeUrl.cluster]: 'CDS',
  [TypeUrl.endpoint]: 'EDS',
  [TypeUrl.listener]: 'LDS',
  [TypeUrl.route]: 'RDS',
};

/** google.rpc.Status; a NACK carries code 3 (INVALID_ARGUMENT), as Envoy's GrpcMuxImpl sends. */
export interface RpcStatus {
  code: number;
  message: string;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: XdsNode;
  resource_names?: string[];
  type_url: string;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

export interface DiscoveryResponse {
  version_info?: string;
  /** Each resource as canonical JSON with its "@type" (normalised at the gRPC edge). */
  resources?: Record<string, unknown>[];
  type_url: string;
  nonce?: string;
}
