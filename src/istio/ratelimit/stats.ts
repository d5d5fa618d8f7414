// Names of the local rate limiter's counters as Envoy stores them and as a sidecar's :15090/stats/prometheus shows them.
//
// Envoy: `<stat_prefix>.http_local_rate_limit.{enabled,ok,rate_limited,enforced}` in the listener's scope
// (local_ratelimit.cc FilterConfig::generateStats). Prometheus form: Envoy prefixes `envoy_` and turns every character
// outside [a-zA-Z0-9_] into `_`, after tag extraction. Istio's bootstrap sets `use_all_default_tags: false` with its
// own stats_tags (istio/istio tools/packaging/common/envoy_bootstrap.json), none of which matches these names, so on
// Istio the stat prefix stays in the metric name: `envoy_http_local_rate_limiter_http_local_rate_limit_rate_limited`.
// (Plain Envoy ≥ 1.24 with default tags would instead show `envoy_http_local_rate_limit_rate_limited
// {envoy_local_http_ratelimit_prefix="..."}` — envoy changelogs 1.24.0; not what an Istio sidecar exports.)
// Visibility: Istio exports them only when the workload's proxy.istio.io/config sets proxyStatsMatcher inclusions,
// as the rate-limit task does with inclusionRegexps: [".*http_local_rate_limit.*"].
import { istioStatTags, tagStat } from '../../envoy/stats/tags.ts';
import type { LocalRateLimitCounters } from './bucket.ts';

export const LOCAL_RATE_LIMIT_COUNTERS = ['enabled', 'ok', 'rate_limited', 'enforced'] as const;
export type LocalRateLimitCounterName = (typeof LOCAL_RATE_LIMIT_COUNTERS)[number];

export interface CounterSeries {
  /** Envoy's dotted stat name, e.g. `http_local_rate_limiter.http_local_rate_limit.rate_limited`. */
  stat: string;
  /** Prometheus metric name as an Istio sidecar exports it. */
  name: string;
  labels: Record<string, string>;
}

export function localRateLimitSeries(statPrefix: string, counter: LocalRateLimitCounterName): CounterSeries {
  const stat = `${statPrefix}.http_local_rate_limit.${counter}`;
  // No Istio stat tag matches a local rate limiter's stats (either bootstrap), so both give the same series.
  return { stat, ...tagStat(stat, istioStatTags(true)) };
}

/** The four series with their values, ready for a Prometheus text writer. */
export function localRateLimitSamples(statPrefix: string, counters: LocalRateLimitCounters): (CounterSeries & { value: number })[] {
  return LOCAL_RATE_LIMIT_COUNTERS.map((c) => ({ ...localRateLimitSeries(statPrefix, c), value: counters[c] }));
}
