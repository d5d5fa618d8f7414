// What of a proxy's listeners the fidelity comparison looks at while the built-in control plane builds only part of
// them: the sidecar's inbound listener (`virtualInbound`) and the HTTP listeners on the wildcard address (a gateway's
// `0.0.0.0_<port>` servers, a sidecar's outbound `0.0.0.0_<port>`), without the network RBAC and ext_authz filters
// istiod puts on TCP chains (the built-in control plane does not write them and the local data plane runs no TCP
// policy). Left out: the outbound TCP-only listeners and the listeners bound to a Service's IP (docs/fidelity.md).
import type { EnvoyConfig, FilterChain, Listener } from '../envoy/model/index.ts';
import { TypedConfigType } from '../envoy/model/index.ts';

const AUTHZ_NETWORK = new Set<string>([TypedConfigType.networkRbac, TypedConfigType.networkExtAuthz]);

/** Only the `virtualInbound` listener of a configuration; its routes, clusters and endpoints as they are. */
export function onlyInboundListener(config: EnvoyConfig): EnvoyConfig {
  return { ...config, listeners: config.listeners.filter((l) => l.name === 'virtualInbound') };
}

const hasHttpChain = (l: Listener) =>
  [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])].some((c) =>
    c.filters.some((f) => f.typed_config['@type'] === TypedConfigType.httpConnectionManager),
  );

/** `virtualInbound` and the outbound-direction HTTP listeners on the wildcard address; routes, clusters and endpoints as they are. */
export function comparedListeners(config: EnvoyConfig): EnvoyConfig {
  const kept = (l: Listener) => l.name === 'virtualInbound' || (l.traffic_direction === 'OUTBOUND' && l.name.startsWith('0.0.0.0_') && hasHttpChain(l));
  return { ...config, listeners: config.listeners.filter(kept) };
}

function chainWithoutNetworkAuthz(chain: FilterChain): FilterChain {
  return { ...chain, filters: chain.filters.filter((f) => !AUTHZ_NETWORK.has(f.typed_config['@type'])) };
}

/**
 * Every listener without the network RBAC and ext_authz filters of its TCP chains (AuthorizationPolicies on TCP
 * traffic: builder.go buildTCP); the HTTP chains' authorization filters stay and are compared.
 */
export function withoutNetworkAuthzFilters(config: EnvoyConfig): EnvoyConfig {
  const strip = (l: Listener): Listener => ({
    ...l,
    ...(l.filter_chains ? { filter_chains: l.filter_chains.map(chainWithoutNetworkAuthz) } : {}),
    ...(l.default_filter_chain ? { default_filter_chain: chainWithoutNetworkAuthz(l.default_filter_chain) } : {}),
  });
  return { ...config, listeners: config.listeners.map(strip) };
}
