// istio_requests_total as a proxy's listeners configure it: the `istio.stats` HTTP filter istiod (or the built-in
// control plane, writing the same config) puts into each HTTP connection manager from the Telemetry resources
// (model/telemetry.go generateStatsConfig). The sidecar's inbound chains carry the SERVER metrics, its outbound HTTP
// listeners and a gateway's listeners the CLIENT ones (telemetry.go MetricsForClass); every chain of one class
// carries the same config, so the first HTTP chain of each side speaks for it.
import type { FilterChain, HttpFilter, Listener, StatsPluginConfig } from '../../envoy/model/index.ts';
import { TypedConfigType } from '../../envoy/model/index.ts';
import { requestCountMetricsOf, STANDARD_REQUEST_METRICS, type ProxyRequestMetrics, type RequestCountMetrics } from '../../istio/telemetry/telemetry.ts';

function httpFiltersOf(chain: FilterChain): HttpFilter[] | undefined {
  const hcm = chain.filters.find((f) => f.typed_config['@type'] === TypedConfigType.httpConnectionManager);
  return hcm?.typed_config['@type'] === TypedConfigType.httpConnectionManager ? (hcm.typed_config.http_filters ?? []) : undefined;
}

function firstHttpFilters(listeners: readonly Listener[]): HttpFilter[] | undefined {
  for (const l of listeners) {
    for (const chain of [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])]) {
      const filters = httpFiltersOf(chain);
      if (filters) return filters;
    }
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
 * side) serves no HTTP request, and keeps the standard metric.
 */
export function requestMetricsOfListeners(listeners: readonly Listener[]): ProxyRequestMetrics {
  const side = (filters: HttpFilter[] | undefined, standard: RequestCountMetrics) => (filters ? requestCountMetricsOf(statsConfigOf(filters)) : standard);
  const inbound = listeners.filter((l) => l.name === 'virtualInbound');
  const outbound = listeners.filter((l) => l.name !== 'virtualInbound' && l.traffic_direction !== 'INBOUND');
  return {
    client: side(firstHttpFilters(outbound), STANDARD_REQUEST_METRICS.client),
    server: side(firstHttpFilters(inbound), STANDARD_REQUEST_METRICS.server),
  };
}
