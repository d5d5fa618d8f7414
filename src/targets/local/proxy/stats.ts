// A proxy's counters with Envoy's stat names, rendered as Prometheus text the way a sidecar's :15090 serves it:
// Istio's standard metrics (istio_requests_total) always, Envoy stats only when the stats matcher includes them. The
// Prometheus name and labels of an Envoy stat come from its dotted name by Istio's bootstrap tags (src/envoy/stats),
// never written by hand: `cluster.<name>;.upstream_rq_503` is envoy_cluster_upstream_rq{cluster_name,response_code}.
import { istioStatTags, statPrefix, tagStat, type StatTag } from '../../../envoy/stats/tags.ts';
import { must } from '../../../must.ts';
import { istioRequestLabelNames, STANDARD_REQUEST_METRICS, type ProxyRequestMetrics } from '../../../istio/telemetry/telemetry.ts';

export interface StatsMatcher {
  inclusionPrefixes: string[];
  inclusionSuffixes: string[];
  inclusionRegexps: RegExp[];
}

/** Prefixes Istio exports without any proxyStatsMatcher (istio/istio bootstrap defaults), plus RBAC (facts file). */
const alwaysIncluded = ['cluster_manager', 'listener_manager', 'server', 'cluster.xds-grpc', 'wasm'];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{k="v",...}`, or nothing for a stat without labels (Envoy prints `name 4`, never `name{} 4`). */
function renderLabels(labels: Record<string, string>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** One Envoy stat: its dotted Envoy name (what the matcher sees) and its Prometheus form. */
export class EnvoyStat {
  value = 0;
  constructor(
    readonly envoyName: string,
    readonly promName: string,
    readonly labels: Record<string, string>,
    readonly type: 'counter' | 'gauge',
  ) {}
}

export { istioRequestLabelNames };

export type IstioRequestLabels = Record<(typeof istioRequestLabelNames)[number], string>;

export interface ProxyStatsOptions {
  /** Istio ≥ 1.23 ends stat prefixes with `;` and tags them by it (IstioBehaviour.delimitedStatPrefixes). */
  delimitedStatPrefixes: boolean;
}

export class ProxyStats {
  private readonly envoy = new Map<string, EnvoyStat>();
  private readonly requests = new Map<string, { labels: string; value: number }>();
  private readonly tags: StatTag[];
  private readonly delimited: boolean;
  /** What the Telemetries that apply to this proxy make of istio_requests_total (Istio's standard labels by default). */
  requestMetrics: ProxyRequestMetrics = STANDARD_REQUEST_METRICS;

  constructor(
    private readonly matcher: StatsMatcher,
    options: ProxyStatsOptions = { delimitedStatPrefixes: true },
  ) {
    this.delimited = options.delimitedStatPrefixes;
    this.tags = istioStatTags(this.delimited);
  }

  /** The stat whose dotted Envoy name is `envoyName` (created on first use). */
  stat(envoyName: string, type: 'counter' | 'gauge' = 'counter'): EnvoyStat {
    let s = this.envoy.get(envoyName);
    if (!s) {
      const tagged = tagStat(envoyName, this.tags);
      s = new EnvoyStat(envoyName, tagged.name, tagged.labels, type);
      this.envoy.set(envoyName, s);
    }
    return s;
  }

  /**
   * A cluster stat, in the scope of the cluster's alt_stat_name (`cluster.<cluster>;.<name>` from 1.23):
   * `upstream_rq_total` → envoy_cluster_upstream_rq_total{cluster_name}, `upstream_rq_503` →
   * envoy_cluster_upstream_rq{cluster_name,response_code="503"}, `outlier_detection.ejections_active` →
   * envoy_cluster_outlier_detection_ejections_active{cluster_name}.
   */
  cluster(cluster: string, name: string, type: 'counter' | 'gauge' = 'counter'): EnvoyStat {
    return this.stat(`cluster.${statPrefix(cluster, this.delimited)}.${name}`, type);
  }

  /** An HTTP connection manager stat: `http.<stat_prefix>.<name>`. */
  http(hcmStatPrefix: string, name: string): EnvoyStat {
    return this.stat(`http.${statPrefix(hcmStatPrefix, this.delimited)}.${name}`);
  }

  /** A stat rooted at a filter's stat_prefix, e.g. `http_local_rate_limiter.http_local_rate_limit.ok`. */
  rooted(envoyName: string): EnvoyStat {
    return this.stat(envoyName);
  }

  /** Count one request in istio_requests_total; `key` identifies the label set (built only on first use). */
  countRequest(key: string, labels: () => IstioRequestLabels | [string, string][]): void {
    const entry = this.requests.get(key);
    if (entry) {
      entry.value++;
      return;
    }
    const l = labels();
    let text = '';
    if (Array.isArray(l)) for (const [name, value] of l) text += `${name}="${escapeLabel(value)}",`;
    else for (const name of istioRequestLabelNames) text += `${name}="${escapeLabel(l[name])}",`;
    this.requests.set(key, { labels: text === '' ? '' : `{${text.slice(0, -1)}}`, value: 1 });
  }

  private included(envoyName: string): boolean {
    if (envoyName.includes('.rbac.')) return true;
    for (const p of alwaysIncluded) if (envoyName.startsWith(p)) return true;
    for (const p of this.matcher.inclusionPrefixes) if (envoyName.startsWith(p)) return true;
    for (const s of this.matcher.inclusionSuffixes) if (envoyName.endsWith(s)) return true;
    for (const r of this.matcher.inclusionRegexps) if (r.test(envoyName)) return true;
    return false;
  }

  /** Prometheus text exposition. */
  render(): string {
    const lines: string[] = [];
    if (this.requests.size > 0) {
      lines.push('# TYPE istio_requests_total counter');
      for (const { labels, value } of this.requests.values()) lines.push(`istio_requests_total${labels} ${value}`);
    }
    const byName = new Map<string, EnvoyStat[]>();
    for (const s of this.envoy.values()) {
      if (!this.included(s.envoyName)) continue;
      const list = byName.get(s.promName);
      if (list) list.push(s);
      else byName.set(s.promName, [s]);
    }
    for (const [name, stats] of [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      lines.push(`# TYPE ${name} ${must(stats[0], `a stat named ${name}`).type}`);
      for (const s of stats) lines.push(`${name}${renderLabels(s.labels)} ${s.value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** proxyStatsMatcher from a pod's `proxy.istio.io/config` annotation (already parsed YAML). */
export function statsMatcherFrom(proxyConfig: unknown): StatsMatcher {
  const m = (proxyConfig as { proxyStatsMatcher?: Record<string, unknown> } | undefined)?.proxyStatsMatcher ?? {};
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return {
    inclusionPrefixes: list(m.inclusionPrefixes),
    inclusionSuffixes: list(m.inclusionSuffixes),
    inclusionRegexps: list(m.inclusionRegexps).map((r) => new RegExp(`^(?:${r})$`)),
  };
}
