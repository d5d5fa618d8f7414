// The built-in control plane's inbound listener of a sidecar, `virtualInbound` (15006), as istiod 1.31 builds it
// (pilot/pkg/networking/core/listener_inbound.go buildInboundListeners, inboundVirtualListener,
// buildInboundPassthroughChains, buildInboundBlackhole, getFilterChainsByServicePort, inboundChainForOpts,
// buildInboundNetworkFiltersForHTTP, buildInboundNetworkFilters; filterchain_options.go getFilterChainMatchOptions;
// listener_builder.go buildHTTPConnectionManager; httproute.go buildSidecarInboundHTTPRouteConfig; route/route.go
// BuildDefaultHTTPInboundRoute; security/authn policy_applier.go ComposePeerAuthentication, InboundMTLSSettings,
// authn/utils BuildInboundTLS; plugin/authn ForPassthrough; envoyfilter/listener_patch.go for HTTP_FILTER patches).
//
// It is written as istiod writes it, no-op filters included (EnvoyFilter patches may name them), then read with the
// model's loader, which keeps what the data plane executes — the same reduction istiod's own listener goes through.
import { loadEnvoyResource } from '../../envoy/load/index.ts';
import type { Listener } from '../../envoy/model/index.ts';
import { ResourceType, TypedConfigType } from '../../envoy/model/type-urls.ts';
import type { Json } from '../../spec/untyped.ts';
import { portProtocol } from '../protocol.ts';
import { composePeerAuthentication, type MtlsMode } from '../security/peer-authentication.ts';
import { classFilters, HCM, httpFiltersAt, statPrefix, type AuthzFilterBuilder, type ClassFilters } from './http-connection-manager.ts';
import { serviceSelects, type ProxyDescriptor, type TranslationInput } from './input.ts';

const INBOUND_PORT = 15006;
const PASSTHROUGH = 'InboundPassthroughCluster';

/** The ports a sidecar's own listeners hold: virtualOutbound, virtualInbound, and the agent's status and Prometheus
 * ports that pilot-agent announces (model/context.go conflictWithReservedListener). */
const RESERVED_PORTS = new Set([15001, 15006, 15021, 15090]);

type ListenerProtocol = 'HTTP' | 'TCP' | 'AUTO';

/** istionetworking.ModelProtocolToListenerProtocol. */
function listenerProtocol(protocol: string): ListenerProtocol {
  if (['HTTP', 'HTTP2', 'GRPC', 'GRPC-Web', 'HTTP_PROXY'].includes(protocol)) return 'HTTP';
  return protocol === 'auto' ? 'AUTO' : 'TCP';
}

/** One filter chain option (filterchain_options.go FilterChainMatchOptions). */
interface MatchOption {
  alpn?: string[];
  transport: 'tls' | 'raw_buffer';
  protocol: 'HTTP' | 'TCP';
  /** Terminates the mesh's mTLS. */
  tls: boolean;
}

const PLAINTEXT_HTTP_ALPNS = ['http/1.1', 'h2c'];
const MTLS_HTTP_ALPNS = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
const ALL_ISTIO_MTLS_ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
const MTLS_TCP_WITH_MXC_ALPNS = ['istio-peer-exchange', 'istio'];

/** getFilterChainMatchOptions: the chains a port gets for its mTLS mode and protocol. */
function matchOptions(mode: MtlsMode, protocol: ListenerProtocol): MatchOption[] {
  const o = (transport: 'tls' | 'raw_buffer', p: 'HTTP' | 'TCP', tls: boolean, alpn?: string[]): MatchOption => ({
    transport,
    protocol: p,
    tls,
    ...(alpn ? { alpn } : {}),
  });
  if (protocol === 'HTTP') {
    if (mode === 'STRICT') return [o('tls', 'HTTP', true)];
    if (mode === 'PERMISSIVE') return [o('tls', 'HTTP', true, ALL_ISTIO_MTLS_ALPNS), o('raw_buffer', 'HTTP', false)];
    return [o('raw_buffer', 'HTTP', false)];
  }
  if (protocol === 'AUTO') {
    if (mode === 'STRICT') return [o('tls', 'HTTP', true, MTLS_HTTP_ALPNS), o('tls', 'TCP', true)];
    if (mode === 'PERMISSIVE') {
      return [
        o('tls', 'HTTP', true, MTLS_HTTP_ALPNS),
        o('raw_buffer', 'HTTP', false, PLAINTEXT_HTTP_ALPNS),
        o('tls', 'TCP', true, MTLS_TCP_WITH_MXC_ALPNS),
        o('raw_buffer', 'TCP', false),
        o('tls', 'TCP', false),
      ];
    }
    return [o('raw_buffer', 'HTTP', false, PLAINTEXT_HTTP_ALPNS), o('raw_buffer', 'TCP', false)];
  }
  if (mode === 'STRICT') return [o('tls', 'TCP', true)];
  if (mode === 'PERMISSIVE') return [o('tls', 'TCP', true, ALL_ISTIO_MTLS_ALPNS), o('tls', 'TCP', false), o('raw_buffer', 'TCP', false)];
  return [o('raw_buffer', 'TCP', false)];
}

/** BuildInboundTLS for the default mesh config: a client certificate from the trust domain, ALPN by protocol. */
function downstreamTls(protocol: 'HTTP' | 'TCP'): Json {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TypedConfigType.downstreamTlsContext,
      common_tls_context: {
        combined_validation_context: { default_validation_context: { match_subject_alt_names: [{ prefix: 'spiffe://cluster.local/' }] } },
        alpn_protocols: protocol === 'TCP' ? ['istio-peer-exchange', 'h2', 'http/1.1'] : ['h2', 'http/1.1'],
      },
      require_client_certificate: true,
    },
  };
}

/** An inbound chain config (inboundChainConfig): a Service target port, or a passthrough (port 0 or a port-level one). */
interface ChainConfig {
  targetPort: number;
  /** The Service port (route naming); 0 for passthrough. */
  servicePort: number;
  protocol: string;
  passthrough: boolean;
  mode: MtlsMode;
}

const clusterOf = (cc: ChainConfig) => (cc.passthrough ? PASSTHROUGH : `inbound|${cc.targetPort}||`);

function chainName(cc: ChainConfig, protocol: 'HTTP' | 'TCP'): string {
  if (cc.passthrough) return protocol === 'HTTP' ? 'virtualInbound-catchall-http' : 'virtualInbound';
  return `0.0.0.0_${cc.targetPort}`;
}

/** buildSidecarInboundHTTPRouteConfig with BuildDefaultHTTPInboundRoute. */
function inboundRouteConfig(cc: ChainConfig): Json {
  const grpc = ['GRPC', 'GRPC-Web'].includes(cc.protocol);
  const cluster = clusterOf(cc);
  return {
    name: cluster,
    virtual_hosts: [
      {
        name: `inbound|http|${cc.servicePort}`,
        domains: ['*'],
        routes: [
          {
            name: 'default',
            match: { prefix: '/' },
            route: {
              cluster,
              timeout: '0s',
              // "reset-before-request" does not work well for gRPC streaming services.
              ...(grpc ? {} : { retry_policy: { retry_on: 'reset-before-request', num_retries: 2 } }),
              max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' },
            },
          },
        ],
      },
    ],
    validate_clusters: false,
  };
}

function httpChain(input: TranslationInput, cc: ChainConfig, opt: MatchOption, f: ClassFilters): Json {
  const match = filterChainMatch(cc, opt);
  const name = chainName(cc, 'HTTP');
  const filters = httpFiltersAt(f, { listenerName: 'virtualInbound', listenerPort: INBOUND_PORT, chain: { name, ...match }, networkFilterName: HCM });
  const hcm = {
    '@type': TypedConfigType.httpConnectionManager,
    stat_prefix: statPrefix(input, cc.passthrough ? PASSTHROUGH : `inbound_0.0.0.0_${cc.targetPort}`),
    route_config: inboundRouteConfig(cc),
    http_filters: filters,
    stream_idle_timeout: '0s',
    use_remote_address: false,
    forward_client_cert_details: 'APPEND_FORWARD',
    normalize_path: true,
    path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
  };
  return { name, filter_chain_match: match, filters: [{ name: HCM, typed_config: hcm }], ...(opt.tls ? { transport_socket: downstreamTls('HTTP') } : {}) };
}

function tcpChain(cc: ChainConfig, opt: MatchOption): Json {
  const cluster = clusterOf(cc);
  return {
    name: chainName(cc, 'TCP'),
    filter_chain_match: filterChainMatch(cc, opt),
    filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TypedConfigType.tcpProxy, stat_prefix: cluster, cluster } }],
    ...(opt.tls ? { transport_socket: downstreamTls('TCP') } : {}),
  };
}

/** inboundChainConfig.ToFilterChainMatch. */
function filterChainMatch(cc: ChainConfig, opt: MatchOption): { destination_port?: number; transport_protocol: string; application_protocols?: string[] } {
  return {
    ...(cc.targetPort > 0 ? { destination_port: cc.targetPort } : {}),
    transport_protocol: opt.transport,
    ...(opt.alpn ? { application_protocols: opt.alpn } : {}),
  };
}

/** inboundChainForOpts. */
function chainsFor(input: TranslationInput, cc: ChainConfig, protocol: ListenerProtocol, f: ClassFilters): Json[] {
  return matchOptions(cc.mode, protocol).map((opt) => (opt.protocol === 'HTTP' ? httpChain(input, cc, opt, f) : tcpChain(cc, opt)));
}

/**
 * getFilterChainsByServicePort: one chain config per target port of the Services selecting the pod; of two Services
 * targeting one port the oldest wins, then the first by hostname (Proxy.SetServiceTargets). The input carries no
 * creation times (as istio-translate's Services have none), so the hostname decides. Ports the sidecar's own
 * listeners hold are skipped. Sorted by target port (buildInboundChainConfigs).
 */
function serviceChainConfigs(input: TranslationInput, proxy: ProxyDescriptor, mtls: ReturnType<typeof composePeerAuthentication>): ChainConfig[] {
  const byPort = new Map<number, ChainConfig>();
  const byHostname = [...input.services].sort((a, b) => (a.fqdn < b.fqdn ? -1 : a.fqdn > b.fqdn ? 1 : 0));
  for (const service of byHostname) {
    if (!serviceSelects(service, proxy.namespace, proxy.labels)) continue;
    for (const p of service.ports) {
      if (RESERVED_PORTS.has(p.targetPort) || byPort.has(p.targetPort)) continue;
      const protocol = portProtocol(p.port, p.name, p.appProtocol);
      byPort.set(p.targetPort, {
        targetPort: p.targetPort,
        servicePort: p.port,
        protocol,
        passthrough: false,
        mode: mtls.ports.get(p.targetPort) ?? mtls.mode,
      });
    }
  }
  return [...byPort.values()].sort((a, b) => a.targetPort - b.targetPort);
}

/**
 * The sidecar's `virtualInbound` listener (empty for a router). `authzFilters` gives the proxy's AuthorizationPolicy
 * filters in istiod's order (CUSTOM, then AUDIT, DENY, ALLOW); the CUSTOM ones go before jwt_authn, the others after,
 * on every HTTP chain.
 */
export function buildInboundListener(input: TranslationInput, proxy: ProxyDescriptor, authzFilters?: AuthzFilterBuilder): Listener[] {
  if (proxy.type !== 'sidecar') return [];
  const filters = classFilters(input, proxy, 'SIDECAR_INBOUND', authzFilters);
  const mtls = composePeerAuthentication(input.peerAuthentications, proxy.namespace, proxy.labels);
  const services = serviceChainConfigs(input, proxy, mtls);
  const targeted = new Set(services.map((s) => s.targetPort));
  // ForPassthrough: the catch-all for any port, and one per port-level mode on a port no Service targets.
  const passthrough: ChainConfig[] = [{ targetPort: 0, servicePort: 0, protocol: 'auto', passthrough: true, mode: mtls.mode }];
  for (const [port, mode] of [...mtls.ports].sort((a, b) => a[0] - b[0])) {
    if (!targeted.has(port)) passthrough.push({ targetPort: port, servicePort: 0, protocol: 'auto', passthrough: true, mode });
  }
  const blackhole = {
    name: 'virtualInbound-blackhole',
    filter_chain_match: { destination_port: INBOUND_PORT },
    filters: [
      {
        name: 'envoy.filters.network.tcp_proxy',
        typed_config: { '@type': TypedConfigType.tcpProxy, stat_prefix: 'BlackHoleCluster', cluster: 'BlackHoleCluster' },
      },
    ],
  };
  const raw = {
    name: 'virtualInbound',
    address: { socket_address: { address: '0.0.0.0', port_value: INBOUND_PORT } },
    filter_chains: [
      blackhole,
      ...passthrough.flatMap((cc) => chainsFor(input, cc, 'AUTO', filters)),
      ...services.flatMap((cc) => chainsFor(input, cc, listenerProtocol(cc.protocol), filters)),
    ],
    listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: { '@type': TypedConfigType.originalDst } }],
    traffic_direction: 'INBOUND',
  };
  const loaded = loadEnvoyResource(ResourceType.listener, raw, 'virtualInbound');
  if (loaded.issues.length > 0 || loaded.resource === undefined) {
    throw new Error(
      `the inbound listener of ${proxy.podName}.${proxy.namespace} is not executable: ${loaded.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  }
  return [loaded.resource as Listener];
}
