// The built-in control plane's outbound listeners of a sidecar (pilot/pkg/networking/core/listener.go
// buildSidecarOutboundListeners, buildSidecarOutboundListener, buildSidecarOutboundHTTPListenerOpts,
// buildListenerFromEntry; listener_builder.go buildHTTPConnectionManager). A port some Service serves as HTTP (or
// sniffs, `auto`, without a cluster IP) gets the HTTP listener `0.0.0.0_<port>`: one chain matching plaintext HTTP
// (transport `raw_buffer`, ALPN http/1.1 or h2c) whose connection manager takes its routes from `<port>` and runs the
// SIDECAR_OUTBOUND EnvoyFilter patches; the first sniffed Service's tcp_proxy, else the PassthroughFilterChain, as
// its default. A sniffed port of a Service with a cluster IP has a listener of its own on that IP (not built: the
// local mesh runs no protocol sniffing; routes.ts writes its `<host>:<port>` routes). The TCP listeners are as istiod
// builds them for ports no Service serves as HTTP (tls.go
// buildSidecarOutboundTLSFilterChainOpts, buildSidecarOutboundTCPFilterChainOpts; listener_builder.go
// buildOutboundCatchAllNetworkFiltersOnly): a listener `0.0.0.0_<port>` per such port with, for each TLS or HTTPS
// service without an address, a chain matching its host as SNI (the sidecar passes the app's TLS through: tcp_proxy to
// `outbound|<port>||<host>`), a TCP service's chain matching everything, and the `PassthroughFilterChain` default:
// tcp_proxy to the PassthroughCluster (ALLOW_ANY) or the BlackHoleCluster (REGISTRY_ONLY). `virtualOutbound` (15001)
// takes connections to ports without a listener with the same catch-all.
import { loadEnvoyResource } from '../../envoy/load/index.ts';
import type { FilterChain, Listener, NetworkFilter } from '../../envoy/model/index.ts';
import { ResourceType, TypedConfigType } from '../../envoy/model/type-urls.ts';
import { classFilters, HCM, httpFiltersAt, rds, statPrefix, type ClassFilters } from './http-connection-manager.ts';
import { portProtocol, servedAsHttp } from '../protocol.ts';
import { visibleServices, type ProxyDescriptor, type TranslationInput } from './input.ts';
import { outboundCluster } from './routes.ts';

function tcpProxy(cluster: string): NetworkFilter {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TypedConfigType.tcpProxy, stat_prefix: cluster, cluster } };
}

/** buildOutboundCatchAllNetworkFiltersOnly: the PassthroughCluster, or the BlackHoleCluster under REGISTRY_ONLY. */
function catchAllCluster(input: TranslationInput): 'PassthroughCluster' | 'BlackHoleCluster' {
  return input.outboundTrafficPolicy === 'REGISTRY_ONLY' ? 'BlackHoleCluster' : 'PassthroughCluster';
}

function passthroughChain(input: TranslationInput): FilterChain {
  return { name: 'PassthroughFilterChain', filter_chain_match: {}, filters: [tcpProxy(catchAllCluster(input))] };
}

const PLAINTEXT_HTTP_ALPNS = ['http/1.1', 'h2c'];

/** The HTTP listener of a port (buildSidecarOutboundHTTPListenerOpts on the wildcard bind, then buildListenerFromEntry). */
function httpListener(
  input: TranslationInput,
  proxy: ProxyDescriptor,
  port: number,
  filters: ClassFilters,
  tcp: { chains: FilterChain[]; matchAll?: FilterChain },
): Listener {
  const name = `0.0.0.0_${port}`;
  const match = { transport_protocol: 'raw_buffer', application_protocols: PLAINTEXT_HTTP_ALPNS };
  const hcm = {
    '@type': TypedConfigType.httpConnectionManager,
    stat_prefix: statPrefix(input, `outbound_${name}`),
    rds: rds(String(port)),
    http_filters: httpFiltersAt(filters, { listenerName: name, listenerPort: port, chain: match, networkFilterName: HCM }),
    stream_idle_timeout: '0s',
    use_remote_address: false,
    normalize_path: true,
    path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
  };
  const raw = {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    filter_chains: [...tcp.chains, { filter_chain_match: match, filters: [{ name: HCM, typed_config: hcm }] }],
    default_filter_chain: tcp.matchAll ?? passthroughChain(input),
    listener_filters: [
      {
        name: 'envoy.filters.listener.http_inspector',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' },
      },
    ],
    traffic_direction: 'OUTBOUND',
    bind_to_port: false,
  };
  const loaded = loadEnvoyResource(ResourceType.listener, raw, name);
  if (loaded.issues.length > 0 || loaded.resource === undefined) {
    throw new Error(
      `the outbound listener ${name} of ${proxy.podName}.${proxy.namespace} is not executable: ${loaded.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  }
  return loaded.resource as Listener;
}

export function buildSidecarOutboundListeners(input: TranslationInput, proxy: ProxyDescriptor): Listener[] {
  if (proxy.type !== 'sidecar') return [];
  const byPort = new Map<number, { chains: FilterChain[]; matchAll?: FilterChain; http: boolean }>();
  for (const service of visibleServices(input, proxy.namespace)) {
    for (const p of service.ports) {
      const protocol = portProtocol(p.port, p.name, p.appProtocol);
      let entry = byPort.get(p.port);
      if (!entry) byPort.set(p.port, (entry = { chains: [], http: false }));
      if (servedAsHttp(protocol)) {
        // A sniffed port of a Service with a cluster IP listens on that IP (not built, see above).
        if (protocol === 'auto' && service.clusterIp) continue;
        // buildSidecarOutboundListener, ListenerProtocolAuto: the Service's TCP chain (match-all: the default) and the HTTP chain.
        if (protocol === 'auto') entry.matchAll ??= { filters: [tcpProxy(outboundCluster(p.port, undefined, service.fqdn))] };
        entry.http = true;
        continue;
      }
      const cluster = outboundCluster(p.port, undefined, service.fqdn);
      // tls.go: without a service address the host is the only way to tell services apart, so it is the SNI match.
      if (protocol === 'TLS' || protocol === 'HTTPS') entry.chains.push({ filter_chain_match: { server_names: [service.fqdn] }, filters: [tcpProxy(cluster)] });
      else entry.matchAll ??= { filters: [tcpProxy(cluster)] };
    }
  }
  const listeners: Listener[] = [];
  let filters: ClassFilters | undefined;
  for (const [port, entry] of [...byPort].sort((a, b) => a[0] - b[0])) {
    if (entry.http) {
      // HTTPOverTCP / TCPOverHTTP (mergeTCPFilterChains): the port's TCP chains join the HTTP listener.
      listeners.push(httpListener(input, proxy, port, (filters ??= classFilters(input, proxy, 'SIDECAR_OUTBOUND')), entry));
      continue;
    }
    if (entry.chains.length === 0 && !entry.matchAll) continue;
    const listener: Listener = {
      name: `0.0.0.0_${port}`,
      address: { socket_address: { address: '0.0.0.0', port_value: port } },
      traffic_direction: 'OUTBOUND',
      bind_to_port: false,
    };
    // buildListenerFromEntry: a match-all chain becomes the default once other chains exist; a lone one stays a chain.
    if (entry.matchAll && entry.chains.length === 0) listener.filter_chains = [entry.matchAll];
    else {
      listener.filter_chains = entry.chains;
      listener.default_filter_chain = entry.matchAll ?? passthroughChain(input);
    }
    listeners.push(listener);
  }
  listeners.push({
    name: 'virtualOutbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    traffic_direction: 'OUTBOUND',
    use_original_dst: true,
    filter_chains: [passthroughChain(input)],
  });
  return listeners;
}
