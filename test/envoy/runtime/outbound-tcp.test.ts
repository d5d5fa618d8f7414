// Envoy's outbound filter chain selection for a TCP connection (filter_chain_manager_impl.cc): the port's listener,
// else virtualOutbound; destination IP ranges before server names before transport protocol, each narrowing to the
// most specific; an exact server name before the longest wildcard before none; the default chain when nothing matches.
import { describe, expect, it } from 'vitest';
import { TypedConfigType, type FilterChain, type Listener } from '../../../src/envoy/model/index.ts';
import { outboundTcpTarget, type OutboundConnection } from '../../../src/envoy/runtime/outbound-tcp.ts';

const chain = (cluster: string, match: FilterChain['filter_chain_match'] = {}): FilterChain => ({
  filter_chain_match: match,
  filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TypedConfigType.tcpProxy, stat_prefix: cluster, cluster } }],
});

const listeners: Listener[] = [
  {
    name: '0.0.0.0_443',
    filter_chains: [
      chain('exact', { server_names: ['api.example.com'] }),
      chain('wildcard', { server_names: ['*.example.com'] }),
      chain('longer-wildcard', { server_names: ['*.eu.example.com'] }),
      chain('range', { prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }),
      chain('tls-only', { server_names: ['tls.example.org'], transport_protocol: 'tls' }),
    ],
    default_filter_chain: chain('default'),
  },
  { name: 'virtualOutbound', filter_chains: [chain('catch-all')] },
];

const pick = (c: Partial<OutboundConnection>) => {
  const t = outboundTcpTarget(listeners, { port: 443, tls: true, ...c });
  return t.kind === 'cluster' ? t.cluster : t.reason;
};

describe('outboundTcpTarget', () => {
  it('an exact server name, else the longest wildcard suffix, else the default chain', () => {
    expect(pick({ serverName: 'api.example.com' })).toBe('exact');
    expect(pick({ serverName: 'www.example.com' })).toBe('wildcard');
    expect(pick({ serverName: 'a.eu.example.com' })).toBe('longer-wildcard');
    expect(pick({ serverName: 'elsewhere.org' })).toBe('default');
    expect(pick({})).toBe('default');
  });

  it("a destination IP in a chain's range decides before the server name", () => {
    expect(pick({ destinationIp: '10.1.2.3', serverName: 'api.example.com' })).toBe('range');
  });

  it('a chain for TLS does not take plaintext', () => {
    expect(pick({ serverName: 'tls.example.org' })).toBe('tls-only');
    expect(pick({ serverName: 'tls.example.org', tls: false })).toBe('default');
  });

  it('a port without a listener goes to virtualOutbound; without either the connection is closed', () => {
    expect(outboundTcpTarget(listeners, { port: 5432, tls: false })).toEqual({ kind: 'cluster', cluster: 'catch-all', listener: 'virtualOutbound' });
    expect(outboundTcpTarget([], { port: 5432, tls: false })).toEqual({ kind: 'closed', reason: 'no outbound listener' });
  });
});
