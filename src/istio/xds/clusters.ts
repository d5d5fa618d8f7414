// The built-in control plane's clusters (CDS), mirroring istiod's pilot/pkg/networking/core: cluster.go
// buildOutboundClusters (a cluster per Service port and per DestinationRule subset), cluster_builder.go buildCluster,
// setUpstreamProtocol, buildBlackHoleCluster, buildDefaultPassthroughCluster, buildInboundPassthroughCluster and
// buildInboundCluster; cluster_traffic_policy.go applyTrafficPolicy (connection pool → circuit breakers and HTTP
// protocol options, outlier detection, load balancer); cluster_tls.go buildUpstreamTLSSettings and
// applyUpstreamTLSSettings (auto mTLS transport socket matches, ISTIO_MUTUAL).
import type {
  Cluster,
  CircuitBreakerThresholds,
  HttpProtocolOptions,
  OutlierDetection,
  TransportSocketMatch,
  UpstreamTransportSocket,
} from '../../envoy/model/index.ts';
import { TypedConfigType } from '../../envoy/model/index.ts';
import { effectiveTrafficPolicy } from '../networking/destination-rule.ts';
import type { DestinationRuleIndex } from '../networking/destination-rule-index.ts';
import type { TrafficPolicySettings } from '../networking/model.ts';
import { portProtocol } from '../protocol.ts';
import { effectivePeerAuthMode } from '../security/peer-authentication.ts';
import {
  destinationRuleIndex,
  serviceSelects,
  visibleServices,
  type ProxyDescriptor,
  type ServiceInput,
  type ServicePort,
  type TranslationInput,
} from './input.ts';
import { outboundCluster, protoDuration } from './routes.ts';

/** math.MaxUint32: istiod's circuit breaker thresholds when the DestinationRule sets none (getDefaultCircuitBreakerThresholds). */
const UNLIMITED = 4294967295;
/** MeshConfig connectTimeout's default. */
const MESH_CONNECT_TIMEOUT = '10s';
const ADS_EDS = { eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' as const } };

function defaultThresholds(): CircuitBreakerThresholds {
  return { max_connections: UNLIMITED, max_pending_requests: UNLIMITED, max_requests: UNLIMITED, max_retries: UNLIMITED };
}

/** A cluster under construction: the cluster and its HTTP protocol options (clusterWrapper). */
interface Building {
  cluster: Cluster;
  protocolOptions?: HttpProtocolOptions;
}

/** setUpstreamProtocol: HTTP/2 ports get explicit HTTP/2; an undetected (auto) port on a sidecar uses the downstream's. */
function setUpstreamProtocol(b: Building, port: ServicePort, proxy: ProxyDescriptor): void {
  const protocol = portProtocol(port.port, port.name, port.appProtocol);
  if (protocol === 'HTTP2' || protocol === 'GRPC' || protocol === 'GRPC-Web') {
    b.protocolOptions ??= {};
    b.protocolOptions.explicit_http_config ??= { http2_protocol_options: {} };
    return;
  }
  if (proxy.type === 'sidecar' && protocol === 'auto') useDownstreamProtocol(b);
}

function useDownstreamProtocol(b: Building): void {
  b.protocolOptions ??= {};
  delete b.protocolOptions.explicit_http_config;
  b.protocolOptions.use_downstream_protocol_config = { http_protocol_options: {}, http2_protocol_options: {} };
}

/** applyConnectionPool: circuit breaker thresholds, connect timeout and the HTTP options of the pool settings. */
function applyConnectionPool(b: Building, settings: TrafficPolicySettings): void {
  const pool = settings.connectionPool ?? {};
  const threshold = defaultThresholds();
  if ((pool.http2MaxRequests ?? 0) > 0) threshold.max_requests = pool.http2MaxRequests;
  if ((pool.http1MaxPendingRequests ?? 0) > 0) threshold.max_pending_requests = pool.http1MaxPendingRequests;
  if ((pool.maxRetries ?? 0) > 0) threshold.max_retries = pool.maxRetries;
  if ((pool.maxConnections ?? 0) > 0) threshold.max_connections = pool.maxConnections;
  b.cluster.connect_timeout = pool.connectTimeoutMs !== undefined ? protoDuration(pool.connectTimeoutMs) : MESH_CONNECT_TIMEOUT;
  b.cluster.circuit_breakers = { thresholds: [threshold] };
  const idle = pool.idleTimeoutMs;
  const perConnection = pool.maxRequestsPerConnection ?? 0;
  if (idle !== undefined || perConnection > 0) {
    b.protocolOptions ??= {};
    const common = (b.protocolOptions.common_http_protocol_options ??= {});
    if (idle !== undefined) common.idle_timeout = protoDuration(idle);
    if (perConnection > 0) common.max_requests_per_connection = perConnection;
  }
}

/** applyOutlierDetection: only what the rule sets, success rate off, the panic threshold at minHealthPercent. */
function applyOutlierDetection(b: Building, settings: TrafficPolicySettings): void {
  const od = settings.outlierDetection;
  if (!od) return;
  const out: OutlierDetection = { enforcing_success_rate: 0 };
  if (od.consecutive5xxErrors !== undefined) {
    out.consecutive_5xx = od.consecutive5xxErrors;
    out.enforcing_consecutive_5xx = od.consecutive5xxErrors > 0 ? 100 : 0;
  }
  if (od.consecutiveGatewayErrors !== undefined) {
    out.consecutive_gateway_failure = od.consecutiveGatewayErrors;
    out.enforcing_consecutive_gateway_failure = od.consecutiveGatewayErrors > 0 ? 100 : 0;
  }
  if (od.intervalMs !== undefined) out.interval = protoDuration(od.intervalMs);
  if (od.baseEjectionTimeMs !== undefined) out.base_ejection_time = protoDuration(od.baseEjectionTimeMs);
  if ((od.maxEjectionPercent ?? 0) > 0) out.max_ejection_percent = od.maxEjectionPercent;
  b.cluster.outlier_detection = out;
  b.cluster.common_lb_config = { healthy_panic_threshold: percent(od.minHealthPercent ?? 0) };
}

/** A Percent as proto3 JSON writes it: no `value` when 0. */
function percent(value: number): { value?: number } {
  return value === 0 ? {} : { value };
}

/** applyLoadBalancer for the simple policies (LEAST_CONN is LEAST_REQUEST; ROUND_ROBIN is the proto default, unwritten). */
function applyLoadBalancer(b: Building, settings: TrafficPolicySettings): void {
  // PILOT_SEND_UNHEALTHY_ENDPOINTS (on by default): the panic threshold is 0 unless outlier detection set it.
  b.cluster.common_lb_config ??= { healthy_panic_threshold: {} };
  switch (settings.loadBalancer?.simple) {
    case 'ROUND_ROBIN':
      delete b.cluster.lb_policy;
      break;
    case 'RANDOM':
      b.cluster.lb_policy = 'RANDOM';
      break;
    default:
      b.cluster.lb_policy = 'LEAST_REQUEST';
  }
  // cluster_traffic_policy.go ApplyRingHashLoadBalancer: consistent hashing is a ring; ringHash with size 0 writes no
  // ring config (Envoy's 1024 applies), otherwise the size given, or 1024.
  const hash = settings.loadBalancer?.consistentHash;
  if (!hash) return;
  b.cluster.lb_policy = 'RING_HASH';
  if (hash.ringHash && !hash.minimumRingSize) return;
  b.cluster.ring_hash_lb_config = { minimum_ring_size: hash.minimumRingSize || 1024 };
}

/**
 * buildIstioMutualTLS: the peer's SPIFFE ids and the `outbound_.<port>_.<subset>_.<host>` SNI; ALPN with metadata
 * exchange, plus h2 on HTTP/2 clusters (cluster_tls.go: util.ALPNInMeshH2WithMxc).
 */
function istioMutual(serviceAccounts: string[], sni: string, h2: boolean): UpstreamTransportSocket {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TypedConfigType.upstreamTlsContext,
      common_tls_context: {
        combined_validation_context: {
          default_validation_context: serviceAccounts.length > 0 ? { match_subject_alt_names: serviceAccounts.map((exact) => ({ exact })) } : {},
        },
        alpn_protocols: h2 ? ['istio-peer-exchange', 'istio', 'h2'] : ['istio-peer-exchange', 'istio'],
      },
      sni,
    },
  };
}

const rawBuffer = (): UpstreamTransportSocket => ({ name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': TypedConfigType.rawBuffer } });

/**
 * buildUpstreamTLSSettings / applyUpstreamTLSSettings: DISABLE sends plaintext; ISTIO_MUTUAL always mTLS; no mode
 * means auto mTLS — mTLS to endpoints labelled tlsMode istio, plaintext to the rest — unless the Service's namespace
 * (or the mesh) PeerAuthentication is DISABLE (BestEffortInferServiceMTLSMode).
 */
function applyTls(
  b: Building,
  settings: TrafficPolicySettings,
  service: ServiceInput,
  port: number,
  subset: string | undefined,
  input: TranslationInput,
): void {
  if (settings.tls === 'DISABLE') return;
  const sni = `outbound_.${port}_.${subset ?? ''}_.${service.fqdn}`;
  const accounts = serviceAccounts(service, input);
  const h2 = b.protocolOptions?.explicit_http_config?.http2_protocol_options !== undefined;
  if (settings.tls === 'ISTIO_MUTUAL') {
    // cluster_tls.go buildUpstreamTLSSettings: the rule's subjectAltNames when it gives any, else the Service's accounts.
    b.cluster.transport_socket = istioMutual(settings.subjectAltNames ?? accounts, sni, h2);
    return;
  }
  if (effectivePeerAuthMode(input.peerAuthentications, service.namespace, {}, -1) === 'DISABLE') return;
  const matches: TransportSocketMatch[] = [
    { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutual(accounts, sni, h2) },
    { name: 'tlsMode-disabled', match: {}, transport_socket: rawBuffer() },
  ];
  b.cluster.transport_socket_matches = matches;
}

/** PushContext.ServiceAccounts: the SPIFFE ids of the Service's workloads, sorted. */
function serviceAccounts(service: ServiceInput, input: TranslationInput): string[] {
  const out = new Set<string>();
  for (const i of input.instances) {
    if (!serviceSelects(service, i.namespace, i.labels)) continue;
    out.add(`spiffe://cluster.local/ns/${i.namespace}/sa/${i.serviceAccount}`);
  }
  return [...out].sort();
}

/** clusterWrapper.build: protocol options default to explicit HTTP/1.1 once any is set. */
function finish(b: Building): Cluster {
  if (b.protocolOptions) {
    if (!b.protocolOptions.explicit_http_config && !b.protocolOptions.use_downstream_protocol_config)
      b.protocolOptions.explicit_http_config = { http_protocol_options: {} };
    b.cluster.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': TypedConfigType.httpProtocolOptions, ...b.protocolOptions },
    };
  }
  return b.cluster;
}

/**
 * cluster.go convertResolution: a Kubernetes Service's cluster is EDS; a ServiceEntry host resolved by DNS is
 * STRICT_DNS with the host itself as its one endpoint (conversion.go convertServiceEntryToInstances: a DNS entry
 * without endpoints resolves its host; cluster_builder.go buildCluster writes the load assignment), one with
 * resolution NONE is ORIGINAL_DST (the address the app connected to), except on a gateway, which cannot pass through.
 */
function discovery(service: ServiceInput, port: ServicePort, name: string, proxy: ProxyDescriptor): Cluster {
  const external = service.external;
  const resolution = external?.resolution;
  if (external && resolution === 'DNS') {
    // The instance's telemetry metadata (AppendLbEndpointMetadata): the entry is its workload and canonical service.
    const entry = external.entry;
    const endpoint = {
      endpoint: { address: { socket_address: { address: service.fqdn, port_value: port.port } } },
      metadata: { filter_metadata: { istio: { workload: `${entry};${service.namespace};${entry};;Kubernetes` } } },
      load_balancing_weight: 1,
    };
    return {
      name,
      type: 'STRICT_DNS',
      load_assignment: { cluster_name: name, endpoints: [{ locality: {}, lb_endpoints: [endpoint], load_balancing_weight: 1 }] },
    };
  }
  if (resolution === 'NONE' && proxy.type === 'sidecar') return { name, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' };
  return { name, type: 'EDS', eds_cluster_config: { ...ADS_EDS, service_name: name } };
}

function outbound(
  service: ServiceInput,
  port: ServicePort,
  subset: string | undefined,
  settings: TrafficPolicySettings,
  proxy: ProxyDescriptor,
  input: TranslationInput,
): Cluster {
  const name = outboundCluster(port.port, subset, service.fqdn);
  const b: Building = { cluster: discovery(service, port, name, proxy) };
  setUpstreamProtocol(b, port, proxy);
  applyConnectionPool(b, settings);
  applyOutlierDetection(b, settings);
  const originalDst = b.cluster.type === 'ORIGINAL_DST';
  applyLoadBalancer(b, settings);
  // cluster_traffic_policy.go applyLoadBalancer: an original-destination cluster keeps CLUSTER_PROVIDED.
  if (originalDst) b.cluster.lb_policy = 'CLUSTER_PROVIDED';
  // cluster_tls.go buildUpstreamTLSSettings: no auto mTLS to a MeshExternal service (the app's own TLS passes through).
  if (!service.external || settings.tls !== undefined) applyTls(b, settings, service, port.port, subset, input);
  return finish(b);
}

function blackHole(): Cluster {
  return { name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: MESH_CONNECT_TIMEOUT };
}

function passthrough(name: 'PassthroughCluster' | 'InboundPassthroughCluster'): Cluster {
  return {
    name,
    type: 'ORIGINAL_DST',
    connect_timeout: MESH_CONNECT_TIMEOUT,
    lb_policy: 'CLUSTER_PROVIDED',
    circuit_breakers: { thresholds: [defaultThresholds()] },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': TypedConfigType.httpProtocolOptions,
        common_http_protocol_options: { idle_timeout: '300s' },
        use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
      },
    },
  };
}

/**
 * buildInboundCluster: `inbound|<port>||` per port the proxy's workload serves for a Service, ORIGINAL_DST to the
 * application; the connection pool of the Service's DestinationRule for that port applies (no outlier detection,
 * load balancer or TLS: applyTrafficPolicy skips them inbound).
 */
function inbound(service: ServiceInput, port: ServicePort, index: DestinationRuleIndex, proxy: ProxyDescriptor): Cluster {
  const b: Building = { cluster: { name: `inbound|${port.targetPort}||`, type: 'ORIGINAL_DST', common_lb_config: {} } };
  setUpstreamProtocol(b, port, proxy);
  const rule = index.get(service.fqdn, proxy.namespace, service.namespace);
  applyConnectionPool(b, effectiveTrafficPolicy(rule, undefined, port.port));
  b.cluster.lb_policy = 'CLUSTER_PROVIDED';
  return finish(b);
}

/** Every cluster the proxy is sent: outbound ones for each Service port and subset, and a sidecar's own. */
export function buildClusters(input: TranslationInput, proxy: ProxyDescriptor): Cluster[] {
  const index = destinationRuleIndex(input);
  const out: Cluster[] = [];
  for (const service of visibleServices(input, proxy.namespace)) {
    const rule = index.get(service.fqdn, proxy.namespace, service.namespace);
    for (const port of service.ports) {
      out.push(outbound(service, port, undefined, effectiveTrafficPolicy(rule, undefined, port.port), proxy, input));
      for (const subset of rule?.subsets ?? [])
        out.push(outbound(service, port, subset.name, effectiveTrafficPolicy(rule, subset.name, port.port), proxy, input));
    }
  }
  out.push(blackHole());
  if (proxy.type === 'sidecar') {
    out.push(passthrough('PassthroughCluster'), passthrough('InboundPassthroughCluster'));
    const seen = new Set<number>();
    for (const service of input.services) {
      if (!serviceSelects(service, proxy.namespace, proxy.labels)) continue;
      for (const port of service.ports) {
        if (seen.has(port.targetPort)) continue;
        seen.add(port.targetPort);
        out.push(inbound(service, port, index, proxy));
      }
    }
  }
  return out;
}
