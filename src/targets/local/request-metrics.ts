// istio_requests_total as a proxy's listeners configure it: the `istio.stats` HTTP filter istiod (or the built-in
// control plane, writing the same config) puts into each HTTP connection manager from the Telemetry resources
// (model/telemetry.go generateStatsConfig). The sidecar's inbound chains carry the SERVER metrics, its outbound HTTP
// listeners and a gateway's listeners the CLIENT ones (telemetry.go MetricsForClass). istiod writes one config per
// class, but an EnvoyFilter can patch one port's chain: a request counts by the chain of its port.
import type { FilterChain, HttpFilter, Listener, StatsPluginConfig } from '../../envoy/model/index.ts';
import { TypedConfigType } from '../../envoy/model/index.ts';
import { requestCountMetricsOf, STANDARD_REQUEST_METRICS, type ProxyRequestMetrics, type RequestCountMetrics } from '../../istio/telemetry/telemetry.ts';

function httpFiltersOf(chain: FilterChain): HttpFilter[] | undefined {
  const hcm = chain.filters.find((f) => f.typed_config['@type'] === TypedConfigType.httpConnectionManager);
  return hcm?.typed_config['@type'] === TypedConfigType.httpConnectionManager ? (hcm.typed_config.http_filters ?? []) : undefined;
}

function chainsOf(l: Listener): FilterChain[] {
  return [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])];
}

function firstHttpFilters(chains: readonly FilterChain[]): HttpFilter[] | undefined {
  for (const chain of chains) {
    const filters = httpFiltersOf(chain);
    if (filters) return filters;
  }
  return undefined;
}

/** The `istio.stats` config of an HTTP filter chain; undefined when the chain has no stats filter. */
export function statsConfigOf(filters: readonly HttpFilter[]): StatsPluginConfig | undefined {
  const config = filters.find((f) => f.typed_config?.['@type'] === TypedConfigType.istioStats && f.disabled !== true)?.typed_config;
  if (config?.['@type'] !== TypedConfigType.istioStats) return undefined;
  const { '@type': _type, ...rest } = config;
  return rest;
}

/**
 * Both sides' istio_requests_total from the proxy's listeners. A side without any HTTP chain (a gateway's inbound
 * side) serves no HTTP request, and keeps the standard metric. Each outbound listener's port and each inbound
 * destination port with an HTTP chain of its own carries its own config (an EnvoyFilter can patch one port's); the
 * side's default is the first HTTP chain (inbound: the catch-all one, without a destination port, when there is one).
 */
export function requestMetricsOfListeners(listeners: readonly Listener[]): ProxyRequestMetrics {
  const metricsOf = (filters: HttpFilter[]) => requestCountMetricsOf(statsConfigOf(filters));
  const inboundChains = listeners.filter((l) => l.name === 'virtualInbound').flatMap(chainsOf);
  const outbound = listeners.filter((l) => l.name !== 'virtualInbound' && l.traffic_direction !== 'INBOUND');

  const clientByPort = new Map<number, RequestCountMetrics>();
  for (const l of outbound) {
    const port = l.address?.socket_address.port_value;
    const filters = firstHttpFilters(chainsOf(l));
    if (port !== undefined && filters && !clientByPort.has(port)) clientByPort.set(port, metricsOf(filters));
  }
  const serverByPort = new Map<number, RequestCountMetrics>();
  for (const chain of inboundChains) {
    const port = chain.filter_chain_match?.destination_port;
    const filters = httpFiltersOf(chain);
    if (port !== undefined && filters && !serverByPort.has(port)) serverByPort.set(port, metricsOf(filters));
  }
  const client = firstHttpFilters(outbound.flatMap(chainsOf));
  const server = firstHttpFilters(inboundChains.filter((c) => c.filter_chain_match?.destination_port === undefined)) ?? firstHttpFilters(inboundChains);
  return {
    client: client ? metricsOf(client) : STANDARD_REQUEST_METRICS.client,
    server: server ? metricsOf(server) : STANDARD_REQUEST_METRICS.server,
    ...(clientByPort.size > 0 ? { clientByPort } : {}),
    ...(serverByPort.size > 0 ? { serverByPort } : {}),
  };
}
