// A proxy's stats as Envoy names and prints them: Prometheus lines without labels carry no braces, and outlier
// detection stats live under the cluster's `outlier_detection.` scope (Envoy docs, cluster manager stats:
// cluster.<name>.outlier_detection.ejections_*), so a proxyStatsMatcher written against Envoy's names selects them.
import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../src/observe/prometheus.ts';
import { Cluster } from '../../src/targets/local/proxy/cluster.ts';
import { ProxyStats } from '../../src/targets/local/proxy/stats.ts';

describe('stat names and text', () => {
  it('a stat without labels renders as `name value`, and the parser reads it', () => {
    const stats = new ProxyStats({ inclusionPrefixes: [], inclusionSuffixes: [], inclusionRegexps: [/^(?:.*http_local_rate_limit.*)$/] });
    stats.rooted('http_local_rate_limiter.http_local_rate_limit.ok').value = 4;
    const text = stats.render();
    expect(text).toContain('\nenvoy_http_local_rate_limiter_http_local_rate_limit_ok 4\n');
    expect(text).not.toContain('{}');
    expect(parsePrometheusText(text, 'p')).toEqual([expect.objectContaining({ name: 'envoy_http_local_rate_limiter_http_local_rate_limit_ok', value: 4 })]);
  });

  it('outlier detection stats are cluster.<name>.outlier_detection.* in Envoy, envoy_cluster_outlier_detection_* in Prometheus', () => {
    const name = 'outbound|9080|v1|reviews.default.svc.cluster.local';
    // Only Envoy's dotted name matches this suffix.
    const stats = new ProxyStats({ inclusionPrefixes: [], inclusionSuffixes: ['outlier_detection.ejections_enforced_total'], inclusionRegexps: [] });
    new Cluster({ name, sourceIp: '127.0.0.1', sourcePrincipal: 'p', meshSecret: 's', stats }).s.ejectionsEnforcedTotal.value = 2;
    expect(stats.render()).toBe(
      `# TYPE envoy_cluster_outlier_detection_ejections_enforced_total counter\nenvoy_cluster_outlier_detection_ejections_enforced_total{cluster_name="${name}"} 2\n`,
    );
  });
});
