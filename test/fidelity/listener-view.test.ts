// The view the inbound-listener comparison uses: only the TCP chains' network authorization filters go; every HTTP
// filter (the authorization ones included), chain and listener stays.
import { describe, expect, it } from 'vitest';
import { onlyInboundListener, withoutNetworkAuthzFilters } from '../../src/fidelity/listener-view.ts';
import { TypedConfigType, type EnvoyConfig, type FilterChain } from '../../src/envoy/model/index.ts';

const chain: FilterChain = {
  filter_chain_match: { destination_port: 9080, transport_protocol: 'tls' },
  filters: [
    { name: 'envoy.filters.network.rbac', typed_config: { '@type': TypedConfigType.networkRbac, stat_prefix: 'tcp.' } },
    {
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': TypedConfigType.httpConnectionManager,
        stat_prefix: 'inbound_0.0.0.0_9080;',
        http_filters: [
          { name: 'envoy.filters.http.rbac', typed_config: { '@type': TypedConfigType.rbac } },
          { name: 'envoy.filters.http.ext_authz', typed_config: { '@type': TypedConfigType.extAuthz } },
          { name: 'envoy.filters.http.jwt_authn', typed_config: { '@type': TypedConfigType.jwtAuthn } },
          { name: 'envoy.filters.http.local_ratelimit', typed_config: { '@type': TypedConfigType.localRateLimit, stat_prefix: 'x' } },
          { name: 'envoy.filters.http.router', typed_config: { '@type': TypedConfigType.router } },
        ],
      },
    },
  ],
};
const config: EnvoyConfig = {
  listeners: [
    { name: 'virtualInbound', filter_chains: [chain], default_filter_chain: chain },
    { name: 'virtualOutbound', filter_chains: [chain] },
  ],
  routes: [],
  clusters: [],
  endpoints: [],
};

describe('the inbound listener view of the fidelity comparison', () => {
  it('keeps only virtualInbound, drops the network RBAC filter and keeps every HTTP filter in order', () => {
    const view = withoutNetworkAuthzFilters(onlyInboundListener(config));
    expect(view.listeners.map((l) => l.name)).toEqual(['virtualInbound']);
    for (const c of [view.listeners[0]?.filter_chains?.[0], view.listeners[0]?.default_filter_chain]) {
      expect(c?.filters.map((f) => f.name)).toEqual(['envoy.filters.network.http_connection_manager']);
      const hcm = c?.filters[0]?.typed_config;
      expect(hcm?.['@type'] === TypedConfigType.httpConnectionManager ? hcm.http_filters?.map((f) => f.name) : []).toEqual([
        'envoy.filters.http.rbac',
        'envoy.filters.http.ext_authz',
        'envoy.filters.http.jwt_authn',
        'envoy.filters.http.local_ratelimit',
        'envoy.filters.http.router',
      ]);
    }
    // The input is left as it was.
    expect(config.listeners[0]?.filter_chains?.[0]?.filters).toHaveLength(2);
  });
});
