// The built-in control plane's outbound TCP listeners of a sidecar, as istiod builds them for ports no Service serves
// as HTTP (pilot/pkg/networking/core/listener.go buildSidecarOutboundListeners, buildListenerFromEntry; tls.go
// buildSidecarOutboundTLSFilterChainOpts, buildSidecarOutboundTCPFilterChainOpts; listener_builder.go
// buildOutboundCatchAllNetworkFiltersOnly): a listener `0.0.0.0_<port>` per such port with, for each TLS or HTTPS
// service without an address, a chain matching its host as SNI (the sidecar passes the app's TLS through: tcp_proxy to
// `outbound|<port>||<host>`), a TCP service's chain matching everything, and the `PassthroughFilterChain` default:
// tcp_proxy to the PassthroughCluster (ALLOW_ANY) or the BlackHoleCluster (REGISTRY_ONLY). `virtualOutbound` (15001)
// takes connections to ports without a listener with the same catch-all.
import type { FilterChain, Listener, NetworkFilter } from '../../envoy/model/index.ts';
import { TypedConfigType } from '../../envoy/model/index.ts';
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

export function buildSidecarOutboundTcpListeners(input: TranslationInput, proxy: ProxyDescriptor): Listener[] {
  if (proxy.type !== 'sidecar') return [];
  const byPort = new Map<number, { chains: FilterChain[]; matchAll?: FilterChain; http: boolean }>();
  for (const service of visibleServices(input, proxy.namespace)) {
    for (const p of service.ports) {
      const protocol = portProtocol(p.port, p.name, p.appProtocol);
      let entry = byPort.get(p.port);
      if (!entry) byPort.set(p.port, (entry = { chains: [], http: false }));
      if (servedAsHttp(protocol)) {
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
  for (const [port, entry] of [...byPort].sort((a, b) => a[0] - b[0])) {
    // A port some Service serves as HTTP has its HTTP listener (routes.ts); the local mesh runs no sniffing between them.
    if (entry.http || (entry.chains.length === 0 && !entry.matchAll)) continue;
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
