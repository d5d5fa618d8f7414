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
import { buildInboundAuthzFilters } from './authorization-filters.ts';
import { SpecError } from '../../errors.ts';
import { loadEnvoyResource } from '../../envoy/load/index.ts';
import type { HttpFilter, Listener } from '../../envoy/model/index.ts';
import { ResourceType, TypedConfigType } from '../../envoy/model/type-urls.ts';
import type { Json } from '../../spec/untyped.ts';
import { portProtocol } from '../protocol.ts';
import { composePeerAuthentication, type MtlsMode } from '../security/peer-authentication.ts';
import { httpFilterPatches, patchHttpFilters, type HttpFilterPatch, type RawHttpFilter } from './http-filter-patches.ts';
import { serviceSelects, type ProxyDescriptor, type TranslationInput } from './input.ts';
import { buildJwtFilter } from './jwt-filter.ts';

const INBOUND_PORT = 15006;
const HCM = 'envoy.filters.network.http_connection_manager';
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

/** The filters placed before the router, built once per proxy; patches then apply per chain. */
interface ProxyFilters {
  customAuthz: HttpFilter[];
  jwt?: Json;
  authz: HttpFilter[];
  patches: HttpFilterPatch[];
  delimitedStats: boolean;
}

/** Filters istiod adds that the data plane does not run; kept while patching (a patch may name them), then dropped. */
const noOp = (name: string): RawHttpFilter => ({ name, [NO_OP]: true });
const NO_OP = '__noOp';

/** buildHTTPConnectionManager's filters for the sidecar inbound class: metadata exchange, CUSTOM authorization,
 * authentication (jwt_authn), DENY/ALLOW authorization, grpc_stats, fault, CORS, stats, router. */
function baseHttpFilters(f: ProxyFilters): RawHttpFilter[] {
  return [
    noOp('istio.metadata_exchange'),
    ...(f.customAuthz as unknown as RawHttpFilter[]),
    ...(f.jwt ? [f.jwt] : []),
    ...(f.authz as unknown as RawHttpFilter[]),
    noOp('envoy.filters.http.grpc_stats'),
    { name: 'envoy.filters.http.fault', typed_config: { '@type': TypedConfigType.fault } },
    { name: 'envoy.filters.http.cors', typed_config: { '@type': TypedConfigType.cors } },
    noOp('istio.stats'),
    { name: 'envoy.filters.http.router', typed_config: { '@type': TypedConfigType.router } },
  ];
}

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

function httpChain(cc: ChainConfig, opt: MatchOption, f: ProxyFilters): Json {
  const match = filterChainMatch(cc, opt);
  const name = chainName(cc, 'HTTP');
  const patched = patchHttpFilters(baseHttpFilters(f), f.patches, {
    listenerName: 'virtualInbound',
    listenerPort: INBOUND_PORT,
    chain: { name, ...match },
    networkFilterName: HCM,
  });
  const statPrefix = cc.passthrough ? PASSTHROUGH : `inbound_0.0.0.0_${cc.targetPort}`;
  const hcm = {
    '@type': TypedConfigType.httpConnectionManager,
    stat_prefix: f.delimitedStats ? `${statPrefix};` : statPrefix,
    route_config: inboundRouteConfig(cc),
    http_filters: patched.filters.filter((x) => !x[NO_OP]),
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
function chainsFor(cc: ChainConfig, protocol: ListenerProtocol, f: ProxyFilters): Json[] {
  return matchOptions(cc.mode, protocol).map((opt) => (opt.protocol === 'HTTP' ? httpChain(cc, opt, f) : tcpChain(cc, opt)));
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

/** A CUSTOM AuthorizationPolicy's filter: ext_authz, or an RBAC filter whose policies are the CUSTOM builder's
 * (named `istio-ext-authz-…`, security/authz/builder policyName). istiod builds them before authentication. */
function isCustomAuthz(filter: HttpFilter): boolean {
  const c = filter.typed_config;
  if (c?.['@type'] === TypedConfigType.extAuthz) return true;
  if (c?.['@type'] !== TypedConfigType.rbac) return false;
  const names = [...Object.keys(c.rules?.policies ?? {}), ...Object.keys(c.shadow_rules?.policies ?? {})];
  return names.length > 0 && names.every((n) => n.startsWith('istio-ext-authz'));
}

/** A patch's filter must be one the data plane runs (istiod would send it; the local proxies would refuse it): a
 * SpecError naming the EnvoyFilter's field otherwise. */
function checkPatchValues(patches: readonly HttpFilterPatch[]): void {
  const at = 'filter_chains[0].filters[0].typed_config.http_filters[0]';
  for (const patch of patches) {
    if (!patch.value) continue;
    const stub = {
      name: 'check',
      filter_chains: [
        {
          filters: [
            {
              name: HCM,
              typed_config: {
                '@type': TypedConfigType.httpConnectionManager,
                stat_prefix: 'check',
                rds: { route_config_name: 'check' },
                http_filters: [patch.value],
              },
            },
          ],
        },
      ],
    };
    const [issue] = loadEnvoyResource(ResourceType.listener, stub).issues;
    if (issue) throw new SpecError(issue.message, undefined, `${patch.origin}.patch.value${issue.path.startsWith(at) ? issue.path.slice(at.length) : ''}`);
  }
}

/**
 * The sidecar's `virtualInbound` listener (empty for a router). `authzFilters` gives the proxy's AuthorizationPolicy
 * filters in istiod's order (CUSTOM, then AUDIT, DENY, ALLOW); the CUSTOM ones go before jwt_authn, the others after,
 * on every HTTP chain.
 */
export function buildInboundListener(
  input: TranslationInput,
  proxy: ProxyDescriptor,
  authzFilters: (input: TranslationInput, proxy: ProxyDescriptor) => HttpFilter[] = buildInboundAuthzFilters,
): Listener[] {
  if (proxy.type !== 'sidecar') return [];
  const authz = authzFilters(input, proxy);
  const jwt = buildJwtFilter(input, proxy);
  const patches = httpFilterPatches(input, proxy, 'SIDECAR_INBOUND');
  checkPatchValues(patches);
  const filters: ProxyFilters = {
    customAuthz: authz.filter(isCustomAuthz),
    ...(jwt ? { jwt } : {}),
    authz: authz.filter((x) => !isCustomAuthz(x)),
    patches,
    delimitedStats: input.behaviour.delimitedStatPrefixes,
  };
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
      ...passthrough.flatMap((cc) => chainsFor(cc, 'AUTO', filters)),
      ...services.flatMap((cc) => chainsFor(cc, listenerProtocol(cc.protocol), filters)),
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
