// Reading the mesh counters assertions need: Envoy/Istio Prometheus names, matched the way both a real sidecar and
// the local target export them. Counter deltas drop zero series, so "absent" means "did not move".
import type { CounterSample } from '../observe/types.ts';
import { sumCounter } from '../observe/prometheus.ts';

export const ISTIO_REQUESTS_TOTAL = 'istio_requests_total';
export const UPSTREAM_RQ_RETRY = 'envoy_cluster_upstream_rq_retry';

/** Proxy `name` belongs to workload or service `who`: `reviews` matches reviews-v2, `reviews-v2` matches reviews-v2-7c9f. */
export function proxyBelongsTo(proxy: string, who: string): boolean {
  return proxy === who || proxy.startsWith(`${who}-`);
}

/** `outbound|9080|v1|ratings.default.svc.cluster.local` → { direction, port, subset, host, service }. */
export function parseClusterName(name: string): { direction: string; port: string; subset: string; host: string; service: string } | undefined {
  const [direction, port, subset, host, ...rest] = name.split('|');
  if (direction === undefined || port === undefined || subset === undefined || host === undefined || rest.length > 0) return undefined;
  return { direction, port, subset, host, service: host.split('.')[0] ?? host };
}

/** Samples of Envoy cluster counters (any name) for outbound calls to `service` (and `subset`), from proxies of `from`. */
export function clusterSamples(counters: CounterSample[], service: string, subset?: string, from?: string): CounterSample[] {
  return counters.filter((s) => {
    if (from !== undefined && !proxyBelongsTo(s.proxy, from)) return false;
    const cluster = s.labels.cluster_name !== undefined ? parseClusterName(s.labels.cluster_name) : undefined;
    return cluster !== undefined && cluster.direction === 'outbound' && cluster.service === service && (subset === undefined || cluster.subset === subset);
  });
}

/**
 * RBAC filter counters. Istio ≥ 1.23 exports `envoy_http_rbac{authz_enforce_result="denied"}` (delimited stat
 * prefixes); older releases `envoy_http_<prefix>_rbac{authz_enforce_result="denied"}`; plain Envoy names end in
 * `rbac_denied`. Shadow (dry-run) results are excluded. See src/istio/version.ts delimitedStatPrefixes.
 */
export function rbacCount(counters: CounterSample[], result: 'allowed' | 'denied', proxyOf?: string): number {
  let total = 0;
  for (const s of counters) {
    if (proxyOf !== undefined && !proxyBelongsTo(s.proxy, proxyOf)) continue;
    if (/shadow/.test(s.name)) continue;
    const tagged = /(^|_)rbac$/.test(s.name) && s.labels.authz_enforce_result === result;
    const named = new RegExp(`(^|_)rbac_${result}$`).test(s.name);
    if (tagged || named) total += s.value;
  }
  return total;
}

/**
 * Local-rate-limit filter counters `<stat_prefix>.http_local_rate_limit.<stat>` in Prometheus form, e.g.
 * `envoy_http_local_rate_limiter_http_local_rate_limit_rate_limited`. `statPrefix` narrows to one filter.
 */
export function localRateLimitCount(
  counters: CounterSample[],
  stat: 'enabled' | 'ok' | 'rate_limited' | 'enforced',
  statPrefix?: string,
  proxyOf?: string,
): number {
  let total = 0;
  const suffix = `http_local_rate_limit_${stat}`;
  for (const s of counters) {
    if (proxyOf !== undefined && !proxyBelongsTo(s.proxy, proxyOf)) continue;
    if (!s.name.endsWith(suffix)) continue;
    if (statPrefix !== undefined && !s.name.includes(statPrefix.replace(/[^a-zA-Z0-9_]/g, '_'))) continue;
    total += s.value;
  }
  return total;
}

/** Sum of istio_requests_total over samples matching `where`, restricted to proxies of `proxyOf` when given. */
export function requestsTotal(counters: CounterSample[], where: Record<string, string>, proxyOf?: string): number {
  if (proxyOf === undefined) return sumCounter(counters, ISTIO_REQUESTS_TOTAL, where);
  return sumCounter(
    counters.filter((s) => proxyBelongsTo(s.proxy, proxyOf)),
    ISTIO_REQUESTS_TOTAL,
    where,
  );
}
