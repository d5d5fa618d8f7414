// envoy.config.listener.v3 (api/envoy/config/listener/v3/listener.proto, listener_components.proto) and the two
// network filters that carry traffic: the HTTP connection manager and tcp_proxy.
import type { Address, CidrRange, ConfigSource, Duration, MetadataMatcher, TypedAny } from './common.ts';
import type { GrpcService, HttpFilter } from './http-filters.ts';
import type { Rbac } from './rbac.ts';
import type { RouteConfiguration } from './route.ts';
import type { TypedConfigType } from './type-urls.ts';
import type { DownstreamTlsContext } from './tls.ts';

/** FilterChainMatch: the most specific chain wins, criteria in Envoy's order (destination port, destination IP,
 * server names, transport protocol, application protocols, source type/IP/port). */
export interface FilterChainMatch {
  destination_port?: number;
  prefix_ranges?: CidrRange[];
  server_names?: string[];
  /** "tls" or "raw_buffer" (set by tls_inspector); istiod splits mTLS and plaintext inbound chains on it. */
  transport_protocol?: string;
  /** From tls_inspector/http_inspector: "istio-peer-exchange", "istio", "h2c", "http/1.1", … */
  application_protocols?: string[];
  source_type?: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  source_prefix_ranges?: CidrRange[];
  direct_source_prefix_ranges?: CidrRange[];
  source_ports?: number[];
}

export interface HttpConnectionManager {
  stat_prefix: string;
  /** One of rds / route_config. */
  rds?: { route_config_name: string; config_source?: ConfigSource };
  route_config?: RouteConfiguration;
  http_filters?: HttpFilter[];
  /** Trust the downstream address for XFF/internal decisions; gateways set it. */
  use_remote_address?: boolean;
  xff_num_trusted_hops?: number;
  skip_xff_append?: boolean;
  normalize_path?: boolean;
  merge_slashes?: boolean;
  path_with_escaped_slashes_action?: 'IMPLEMENTATION_SPECIFIC_DEFAULT' | 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';
  stream_idle_timeout?: Duration;
  request_timeout?: Duration;
  request_headers_timeout?: Duration;
  max_request_headers_kb?: number;
  strip_any_host_port?: boolean;
  forward_client_cert_details?: 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';
  common_http_protocol_options?: {
    idle_timeout?: Duration;
    max_connection_duration?: Duration;
    max_stream_duration?: Duration;
    max_requests_per_connection?: number;
  };
}

export interface TcpProxy {
  stat_prefix: string;
  cluster?: string;
  weighted_clusters?: { clusters: { name: string; weight: number }[] };
  idle_timeout?: Duration;
  max_connect_attempts?: number;
}

export interface NetworkRbac {
  stat_prefix: string;
  rules?: Rbac;
}

/** envoy.extensions.filters.network.ext_authz.v3.ExtAuthz, on istiod's TCP chains (which carry no traffic here). */
export interface NetworkExtAuthz {
  stat_prefix: string;
  grpc_service?: GrpcService;
  failure_mode_allow?: boolean;
  filter_enabled_metadata?: MetadataMatcher;
  transport_api_version?: 'V3';
}

export type NetworkFilterConfig =
  | TypedAny<typeof TypedConfigType.httpConnectionManager, HttpConnectionManager>
  | TypedAny<typeof TypedConfigType.tcpProxy, TcpProxy>
  | TypedAny<typeof TypedConfigType.networkRbac, NetworkRbac>
  | TypedAny<typeof TypedConfigType.networkExtAuthz, NetworkExtAuthz>;

export interface NetworkFilter {
  name: string;
  typed_config: NetworkFilterConfig;
}

/** Downstream transport socket: TLS (mTLS terminated by the sidecar) or raw buffer. */
export type DownstreamTransportSocket =
  | { name: string; typed_config: TypedAny<typeof TypedConfigType.downstreamTlsContext, DownstreamTlsContext> }
  | { name: string; typed_config: TypedAny<typeof TypedConfigType.rawBuffer, Record<never, never>> };

export interface FilterChain {
  name?: string;
  filter_chain_match?: FilterChainMatch;
  filters: NetworkFilter[];
  transport_socket?: DownstreamTransportSocket;
}

export interface ListenerFilter {
  name: string;
  typed_config?: TypedAny<typeof TypedConfigType.originalDst, Record<string, never>>;
}

export interface Listener {
  name: string;
  address?: Address;
  filter_chains?: FilterChain[];
  default_filter_chain?: FilterChain;
  /** Executed listener filters only (original_dst); sniffing ones are no-ops (see no-ops.ts). */
  listener_filters?: ListenerFilter[];
  /** Hand connections redirected by iptables to the listener of their original destination (virtualOutbound). */
  use_original_dst?: boolean;
  /** BoolValue, true unless set; istiod's per-port outbound listeners are false (reached via virtualOutbound). */
  bind_to_port?: boolean;
  traffic_direction?: 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';
}
