// The built-in control plane's listeners of a gateway (a router proxy), as istiod builds them for the plaintext HTTP
// servers of the Gateways bound to it (pilot/pkg/networking/core/gateway.go buildGatewayListeners,
// buildGatewayTCPBasedFilterChains, createGatewayHTTPFilterChainOpts, buildGatewayConnectionManager; listener.go
// buildGatewayListener; listener_builder.go buildHTTPConnectionManager): one listener `0.0.0.0_<port>` per server port
// (a Gateway Service port already resolved to its target port, as MergeGateways does), one filter chain matching
// everything whose connection manager takes its routes from `http.<port>` and runs the GATEWAY class's
// filters with the GATEWAY EnvoyFilter patches. Gateways reach this model only with plaintext HTTP servers
// (networking/gateway.ts refuses TLS and other protocols, naming the field), so no SNI chains are written.
// Read with the model's loader, as istiod's own listeners are.
import { loadEnvoyResource } from '../../envoy/load/index.ts';
import type { Listener } from '../../envoy/model/index.ts';
import { ResourceType, TypedConfigType } from '../../envoy/model/type-urls.ts';
import { classFilters, HCM, httpFiltersAt, rds, statPrefix, type AuthzFilterBuilder } from './http-connection-manager.ts';
import type { ProxyDescriptor, TranslationInput } from './input.ts';

/** The Gateways whose selector picks the proxy (model.MergeGateways; as buildGatewayRoutes selects them). */
function boundGateways(input: TranslationInput, proxy: ProxyDescriptor) {
  return input.gateways.filter((g) => Object.keys(g.selector).length > 0 && Object.entries(g.selector).every(([k, v]) => proxy.labels[k] === v));
}

export function buildGatewayListeners(input: TranslationInput, proxy: ProxyDescriptor, authzFilters?: AuthzFilterBuilder): Listener[] {
  if (proxy.type !== 'router') return [];
  const ports = new Set(boundGateways(input, proxy).flatMap((g) => g.servers.map((s) => s.port)));
  if (ports.size === 0) return [];
  const filters = classFilters(input, proxy, 'GATEWAY', authzFilters);
  return [...ports]
    .sort((a, b) => a - b)
    .map((port) => {
      const name = `0.0.0.0_${port}`;
      const hcm = {
        '@type': TypedConfigType.httpConnectionManager,
        stat_prefix: statPrefix(input, `outbound_${name}`),
        // model/gateway.go gatewayRDSRouteName: `http.<port listened on>`.
        rds: rds(`http.${port}`),
        http_filters: httpFiltersAt(filters, { listenerName: name, listenerPort: port, chain: {}, networkFilterName: HCM }),
        stream_idle_timeout: '0s',
        use_remote_address: true,
        forward_client_cert_details: 'SANITIZE_SET',
        normalize_path: true,
        path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
      };
      const raw = {
        name,
        address: { socket_address: { address: '0.0.0.0', port_value: port } },
        filter_chains: [{ filters: [{ name: HCM, typed_config: hcm }] }],
        traffic_direction: 'OUTBOUND',
      };
      const loaded = loadEnvoyResource(ResourceType.listener, raw, name);
      if (loaded.issues.length > 0 || loaded.resource === undefined) {
        throw new Error(
          `the gateway listener ${name} of ${proxy.podName}.${proxy.namespace} is not executable: ${loaded.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        );
      }
      return loaded.resource as Listener;
    });
}
