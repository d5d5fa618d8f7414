// What of a proxy's listeners the fidelity comparison looks at while the built-in control plane builds only part of
// them: the sidecar's inbound listener (`virtualInbound`), and — until the AuthorizationPolicy translation is wired
// into it — that listener without its authorization filters, on both sides.
import type { EnvoyConfig, FilterChain, Listener } from '../envoy/model/index.ts';
import { TypedConfigType } from '../envoy/model/index.ts';

const AUTHZ_HTTP = new Set<string>([TypedConfigType.rbac, TypedConfigType.extAuthz]);
const AUTHZ_NETWORK = new Set<string>([TypedConfigType.networkRbac, TypedConfigType.networkExtAuthz]);

/** Only the `virtualInbound` listener of a configuration; its routes, clusters and endpoints as they are. */
export function onlyInboundListener(config: EnvoyConfig): EnvoyConfig {
  return { ...config, listeners: config.listeners.filter((l) => l.name === 'virtualInbound') };
}

function chainWithoutAuthz(chain: FilterChain): FilterChain {
  return {
    ...chain,
    filters: chain.filters
      .filter((f) => !AUTHZ_NETWORK.has(f.typed_config['@type']))
      .map((f) =>
        f.typed_config['@type'] === TypedConfigType.httpConnectionManager
          ? {
              ...f,
              typed_config: {
                ...f.typed_config,
                http_filters: (f.typed_config.http_filters ?? []).filter((h) => !AUTHZ_HTTP.has(h.typed_config?.['@type'] ?? '')),
              },
            }
          : f,
      ),
  };
}

/**
 * Every listener with its RBAC and ext_authz filters (HTTP and network) removed. Temporary: the built-in inbound
 * listener gets its authorization filters from src/istio/xds/authorization-filters.ts once that is wired in; then this
 * goes and the comparison covers them.
 */
export function withoutAuthzFilters(config: EnvoyConfig): EnvoyConfig {
  const strip = (l: Listener): Listener => ({
    ...l,
    ...(l.filter_chains ? { filter_chains: l.filter_chains.map(chainWithoutAuthz) } : {}),
    ...(l.default_filter_chain ? { default_filter_chain: chainWithoutAuthz(l.default_filter_chain) } : {}),
  });
  return { ...config, listeners: config.listeners.map(strip) };
}
