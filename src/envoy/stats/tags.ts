// Envoy's stat tag extraction with the tags an Istio sidecar's bootstrap declares, and the Prometheus name Envoy then
// prints (the :15090 /stats/prometheus view).
//
// Envoy (source/common/stats/tag_producer_impl.cc produceTags, tag_extractor_impl.cc TagExtractorStdRegexImpl::
// extractTag): every extractor's regex is searched in the full dotted stat name; on a match the tag's value is the
// second sub-match (the first when there is only one) and the characters of the first sub-match are removed from the
// name. Prometheus (source/server/admin/prometheus_stats.cc): `envoy_` + the tag-extracted name with every character
// outside [a-zA-Z0-9_] replaced by `_`; labels in the order the tags were extracted.
//
// Istio's bootstrap sets `use_all_default_tags: false` with its own list (tools/packaging/common/envoy_bootstrap.json
// of the pinned istio module, the 1.31 line). From 1.23 stat prefixes end with `;` (ENABLE_DELIMITED_STATS_TAG_REGEX,
// istio/istio#52271: cluster `alt_stat_name` `outbound|9080||reviews.default.svc.cluster.local;`, connection manager
// `inbound_0.0.0.0_9080;`) and the cluster_name / http_conn_manager_prefix regexes end on that `;`. The earlier list
// (≤ 1.22 bootstraps) matched cluster names up to `.svc.cluster.local` and connection-manager prefixes of digits only.
// Tags for stats the local mesh never produces (mongo, wasm, dry-run, thread names) are left out.
import { must } from '../../must.ts';

export interface StatTag {
  name: string;
  regex: RegExp;
}

/** std::regex ECMAScript accepts POSIX classes inside brackets; JavaScript does not. */
function ecmascript(source: string): RegExp {
  // `d`: the match's indices, to remove exactly the first sub-match's characters.
  return new RegExp(source.replaceAll('[:digit:]', '0-9'), 'd');
}

const common = {
  tcpPrefix: { name: 'tcp_prefix', regex: ecmascript('^tcp\\.((.*?)\\.)\\w+?$') },
  responseCode: { name: 'response_code', regex: ecmascript('_rq(_(\\d{3}))$') },
  responseCodeClass: { name: 'response_code_class', regex: ecmascript('_rq(_(\\dxx))$') },
  listenerHcmPrefix: {
    name: 'http_conn_manager_listener_prefix',
    regex: ecmascript('^listener(?=\\.).*?\\.http\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)'),
  },
  listenerAddress: { name: 'listener_address', regex: ecmascript('^listener\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)') },
  authzEnforceResult: { name: 'authz_enforce_result', regex: ecmascript('rbac(\\.(allowed|denied))') },
  authzDryRunResult: { name: 'authz_dry_run_result', regex: ecmascript('(\\.shadow_(allowed|denied))') },
} satisfies Record<string, StatTag>;

/** The 1.23+ bootstrap's tags, in its order. */
const delimitedTags: StatTag[] = [
  { name: 'cluster_name', regex: ecmascript('^cluster(\\.(.+);)') },
  { name: 'http_conn_manager_prefix', regex: ecmascript('^http\\.(((?:[_.[:digit:]\\w]*|[_\\[\\]aAbBcCdDeEfF[:digit:]\\w\\:]*));\\.)') },
  common.tcpPrefix,
  common.responseCode,
  common.responseCodeClass,
  common.listenerHcmPrefix,
  common.listenerAddress,
  common.authzEnforceResult,
  common.authzDryRunResult,
];

/** The ≤ 1.22 bootstrap's tags, in its order. */
const legacyTags: StatTag[] = [
  { name: 'cluster_name', regex: ecmascript('^cluster\\.((.+?(\\..+?\\.svc\\.cluster\\.local)?)\\.)') },
  common.tcpPrefix,
  common.responseCode,
  common.responseCodeClass,
  common.listenerHcmPrefix,
  { name: 'http_conn_manager_prefix', regex: ecmascript('^http\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)') },
  common.listenerAddress,
  common.authzEnforceResult,
  common.authzDryRunResult,
];

export function istioStatTags(delimitedStatPrefixes: boolean): StatTag[] {
  return delimitedStatPrefixes ? delimitedTags : legacyTags;
}

/** The `;` an Istio ≥ 1.23 stat prefix ends with (istio pilot/pkg/networking/util DelimitedStatsPrefix). */
export function statPrefix(prefix: string, delimitedStatPrefixes: boolean): string {
  return delimitedStatPrefixes ? `${prefix};` : prefix;
}

export interface TaggedStat {
  /** Prometheus metric name, e.g. `envoy_cluster_upstream_rq`. */
  name: string;
  /** Labels in extraction order, e.g. `{cluster_name: "outbound|9080||…", response_code: "503"}`. */
  labels: Record<string, string>;
}

/** The Prometheus form of a dotted Envoy stat name under the given tags. */
export function tagStat(statName: string, tags: StatTag[]): TaggedStat {
  const remove: [number, number][] = [];
  const labels: Record<string, string> = {};
  for (const tag of tags) {
    const match = tag.regex.exec(statName);
    if (!match || match[1] === undefined) continue;
    labels[tag.name] = match[2] ?? match[1];
    remove.push(must(match.indices?.[1], "the span of the tag's value (tag regexes carry the d flag)"));
  }
  let extracted = '';
  for (let i = 0; i < statName.length; i++) if (!remove.some(([a, b]) => i >= a && i < b)) extracted += statName.charAt(i);
  return { name: prometheusMetricName(extracted), labels };
}

/** Envoy's Prometheus sanitising: `envoy_` + the name with every character outside [a-zA-Z0-9_] turned into `_`. */
export function prometheusMetricName(tagExtractedName: string): string {
  return `envoy_${tagExtractedName.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}
