// Counter names of Istio's RBAC (AuthorizationPolicy) filters, as Envoy stores them and as :15090/stats/prometheus shows.
//
// Envoy: the HTTP RBAC filter's stats live under the connection manager's prefix `http.<hcm stat_prefix>.` plus
// `rbac.` (source/extensions/filters/common/rbac/utility.cc generateStats): `allowed`, `denied`, `shadow_allowed`,
// `shadow_denied`. Istio adds one RBAC filter per action present on the workload (DENY, then ALLOW), each counting its
// own decision, and always exports the suffixes rbac.allowed / rbac.denied / shadow_allowed / shadow_denied (bootstrap
// stats_matcher inclusion list, istio/istio tools/packaging/common/envoy_bootstrap.json). Its stats_tags turn
// `rbac.(allowed|denied)` into the label authz_enforce_result.
// Inbound HCM stat prefix: `inbound_` + listener name `0.0.0.0_<port>` (pilot/pkg/networking/core/listener_inbound.go
// StatPrefix), ending with `;` from 1.23 (ENABLE_DELIMITED_STATS_TAG_REGEX) so that the http_conn_manager_prefix tag is
// extracted. Hence, on 1.23+: envoy_http_rbac{http_conn_manager_prefix="inbound_0.0.0.0_9080",authz_enforce_result="allowed"}
// (the form queried as envoy_http_rbac{authz_enforce_result="denied"} in public dashboards), and before 1.23:
// envoy_http_inbound_0_0_0_0_9080_rbac{authz_enforce_result="allowed"}.
import { istioStatTags, statPrefix, tagStat } from '../../envoy/stats/tags.ts';
import type { IstioBehaviour } from '../version.ts';
import type { CounterSeries } from '../ratelimit/stats.ts';

export type RbacResult = 'allowed' | 'denied';

/** The sidecar inbound connection manager's stat prefix for a workload port (without the 1.23+ delimiter). */
export function inboundHcmStatPrefix(port: number): string {
  return `inbound_0.0.0.0_${port}`;
}

/**
 * The RBAC counter series for one result.
 * @param hcmStatPrefix e.g. inboundHcmStatPrefix(9080); for a gateway pass its connection manager's stat prefix.
 */
export function rbacCounterSeries(behaviour: Pick<IstioBehaviour, 'delimitedStatPrefixes'>, hcmStatPrefix: string, result: RbacResult): CounterSeries {
  const stat = `http.${statPrefix(hcmStatPrefix, behaviour.delimitedStatPrefixes)}.rbac.${result}`;
  return { stat, ...tagStat(stat, istioStatTags(behaviour.delimitedStatPrefixes)) };
}

/** Both series (allowed, denied) for a connection manager. */
export function rbacCounters(behaviour: Pick<IstioBehaviour, 'delimitedStatPrefixes'>, hcmStatPrefix: string): CounterSeries[] {
  return (['allowed', 'denied'] as const).map((r) => rbacCounterSeries(behaviour, hcmStatPrefix, r));
}

export type ExtAuthzResult = 'ok' | 'denied' | 'error' | 'failure_mode_allowed' | 'disabled';

/**
 * The ext_authz filter's counters under the connection manager's prefix (source/extensions/filters/http/ext_authz/
 * ext_authz.h ALL_EXT_AUTHZ_FILTER_STATS, scoped `http.<stat_prefix>.ext_authz.`).
 */
export function extAuthzCounterSeries(behaviour: Pick<IstioBehaviour, 'delimitedStatPrefixes'>, hcmStatPrefix: string, result: ExtAuthzResult): CounterSeries {
  const stat = `http.${statPrefix(hcmStatPrefix, behaviour.delimitedStatPrefixes)}.ext_authz.${result}`;
  return { stat, ...tagStat(stat, istioStatTags(behaviour.delimitedStatPrefixes)) };
}
