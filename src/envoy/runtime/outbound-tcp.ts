// Where a sidecar's outbound TCP connection goes, as Envoy selects it from the sidecar's listeners
// (source/common/listener_manager/filter_chain_manager_impl.cc): the listener of the original destination's port
// (`0.0.0.0_<port>`), else `virtualOutbound`; in it the filter chain whose match is most specific — destination IP
// ranges, then server names (the ClientHello's SNI, read by tls_inspector: an exact name before the longest wildcard
// suffix before no name), then transport protocol (`tls` before none) — else the default filter chain; its tcp_proxy
// names the cluster.
import { TypedConfigType, type CidrRange, type FilterChain, type Listener } from '../model/index.ts';

export interface OutboundConnection {
  port: number;
  /** The original destination address, when the app's name resolution gave one. */
  destinationIp?: string;
  /** The SNI of the app's ClientHello (a TLS connection), lower case. */
  serverName?: string;
  tls: boolean;
}

export type OutboundTcpTarget =
  | { kind: 'cluster'; cluster: string; listener: string; chain?: string }
  /** No chain takes the connection, or its chain is not a tcp_proxy one (an HTTP listener): Envoy closes it. */
  | { kind: 'closed'; listener?: string; reason: string };

function ipv4(ip: string): number | undefined {
  const [a, b, c, d, ...rest] = ip.split('.').map(Number);
  if (a === undefined || b === undefined || c === undefined || d === undefined || rest.length > 0) return undefined;
  if ([a, b, c, d].some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

/** The prefix length of the narrowest range holding `ip`; -1 when none does (or the chain names no range: 0 then). */
function rangeScore(ranges: CidrRange[] | undefined, ip: string | undefined): number {
  if (!ranges || ranges.length === 0) return 0;
  const address = ip === undefined ? undefined : ipv4(ip);
  if (address === undefined) return -1;
  let best = -1;
  for (const r of ranges) {
    const base = ipv4(r.address_prefix);
    const len = r.prefix_len ?? 32;
    if (base === undefined) continue;
    const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
    if ((address & mask) >>> 0 === (base & mask) >>> 0) best = Math.max(best, len + 1);
  }
  return best;
}

/** An exact server name scores above any wildcard; a longer wildcard suffix above a shorter one; none matches as 0. */
function serverNameScore(names: string[] | undefined, sni: string | undefined): number {
  if (!names || names.length === 0) return 0;
  if (sni === undefined) return -1;
  let best = -1;
  for (const n of names.map((x) => x.toLowerCase())) {
    if (n === sni) return 100_000;
    if (n.startsWith('*.') && sni.endsWith(n.slice(1))) best = Math.max(best, n.length);
  }
  return best;
}

function transportScore(transport: string | undefined, tls: boolean): number {
  if (transport === undefined || transport === '') return 0;
  return transport === (tls ? 'tls' : 'raw_buffer') ? 1 : -1;
}

/** Envoy's order of criteria: each narrows the candidates to the most specific, before the next is looked at. */
function selectChain(chains: readonly FilterChain[], c: OutboundConnection): FilterChain | undefined {
  let candidates = chains.filter((chain) => {
    const port = chain.filter_chain_match?.destination_port;
    return port === undefined || port === c.port;
  });
  const narrow = (score: (chain: FilterChain) => number) => {
    const scored = candidates.map((chain) => [chain, score(chain)] as const).filter(([, s]) => s >= 0);
    const top = Math.max(-1, ...scored.map(([, s]) => s));
    candidates = scored.filter(([, s]) => s === top).map(([chain]) => chain);
  };
  narrow((chain) => (chain.filter_chain_match?.destination_port === c.port ? 1 : 0));
  narrow((chain) => rangeScore(chain.filter_chain_match?.prefix_ranges, c.destinationIp));
  narrow((chain) => serverNameScore(chain.filter_chain_match?.server_names, c.serverName));
  narrow((chain) => transportScore(chain.filter_chain_match?.transport_protocol, c.tls));
  // application_protocols, source criteria: istiod's outbound TCP chains set none.
  narrow((chain) => (chain.filter_chain_match?.application_protocols?.length ? -1 : 0));
  return candidates[0];
}

export function outboundTcpTarget(listeners: readonly Listener[], c: OutboundConnection): OutboundTcpTarget {
  const listener = listeners.find((l) => l.name === `0.0.0.0_${c.port}`) ?? listeners.find((l) => l.name === 'virtualOutbound');
  if (!listener) return { kind: 'closed', reason: 'no outbound listener' };
  const chain = selectChain(listener.filter_chains ?? [], c) ?? listener.default_filter_chain;
  if (!chain) return { kind: 'closed', listener: listener.name, reason: 'no filter chain matches' };
  const proxy = chain.filters.find((f) => f.typed_config['@type'] === TypedConfigType.tcpProxy);
  if (!proxy || proxy.typed_config['@type'] !== TypedConfigType.tcpProxy)
    return { kind: 'closed', listener: listener.name, reason: 'the chain does not proxy TCP' };
  const cluster = proxy.typed_config.cluster;
  if (cluster === undefined) throw new Error(`listener ${listener.name}: weighted tcp_proxy clusters are not executed by the local data plane`);
  return { kind: 'cluster', cluster, listener: listener.name, ...(chain.name ? { chain: chain.name } : {}) };
}
