// Envoy's tag extraction under Istio's bootstrap stats_tags (istio tools/packaging/common/envoy_bootstrap.json; Envoy
// tag_producer_impl.cc produceTags, tag_extractor_impl.cc extractTag, admin prometheus_stats.cc metricName).
import { describe, expect, it } from 'vitest';
import { istioStatTags, prometheusMetricName, statPrefix, tagStat } from '../../src/envoy/stats/tags.ts';
import { ProxyStats } from '../../src/targets/local/proxy/stats.ts';

const delimited = istioStatTags(true);
const legacy = istioStatTags(false);
const cluster = 'outbound|9080|v2|reviews.default.svc.cluster.local';

describe('Istio stat tags (1.23+, `;`-delimited prefixes)', () => {
  it('a per-code counter is envoy_cluster_upstream_rq{cluster_name, response_code} (response_code regex _rq(_(\\d{3}))$)', () => {
    expect(tagStat(`cluster.${cluster};.upstream_rq_503`, delimited)).toEqual({
      name: 'envoy_cluster_upstream_rq',
      labels: { cluster_name: cluster, response_code: '503' },
    });
  });

  it('a per-class counter is envoy_cluster_upstream_rq{cluster_name, response_code_class} (_rq(_(\\dxx))$)', () => {
    expect(tagStat(`cluster.${cluster};.upstream_rq_5xx`, delimited)).toEqual({
      name: 'envoy_cluster_upstream_rq',
      labels: { cluster_name: cluster, response_code_class: '5xx' },
    });
  });

  it('other cluster counters keep their name; nested scopes become underscores', () => {
    expect(tagStat(`cluster.${cluster};.upstream_rq_retry`, delimited)).toEqual({ name: 'envoy_cluster_upstream_rq_retry', labels: { cluster_name: cluster } });
    expect(tagStat(`cluster.${cluster};.outlier_detection.ejections_active`, delimited)).toEqual({
      name: 'envoy_cluster_outlier_detection_ejections_active',
      labels: { cluster_name: cluster },
    });
    expect(tagStat(`cluster.${cluster};.upstream_rq_pending_overflow`, delimited).name).toBe('envoy_cluster_upstream_rq_pending_overflow');
  });

  it('RBAC decisions: envoy_http_rbac{http_conn_manager_prefix, authz_enforce_result}', () => {
    expect(tagStat('http.inbound_0.0.0.0_9080;.rbac.denied', delimited)).toEqual({
      name: 'envoy_http_rbac',
      labels: { http_conn_manager_prefix: 'inbound_0.0.0.0_9080', authz_enforce_result: 'denied' },
    });
  });

  it('the local rate limiter stats match no tag: the stat prefix stays in the name', () => {
    expect(tagStat('http_local_rate_limiter.http_local_rate_limit.rate_limited', delimited)).toEqual({
      name: 'envoy_http_local_rate_limiter_http_local_rate_limit_rate_limited',
      labels: {},
    });
  });
});

describe('Istio stat tags (≤ 1.22 bootstrap)', () => {
  it('cluster names end at .svc.cluster.local, and codes are tagged the same way', () => {
    expect(tagStat(`cluster.${cluster}.upstream_rq_504`, legacy)).toEqual({
      name: 'envoy_cluster_upstream_rq',
      labels: { cluster_name: cluster, response_code: '504' },
    });
  });

  it('a connection-manager prefix with letters is not a tag: it stays in the metric name', () => {
    expect(tagStat('http.inbound_0.0.0.0_9080.rbac.allowed', legacy)).toEqual({
      name: 'envoy_http_inbound_0_0_0_0_9080_rbac',
      labels: { authz_enforce_result: 'allowed' },
    });
  });
});

describe('ProxyStats names every stat by those tags', () => {
  it('counts per code and per class under one metric name, told apart by labels', () => {
    const stats = new ProxyStats({ inclusionPrefixes: ['cluster.outbound'], inclusionSuffixes: [], inclusionRegexps: [] });
    stats.cluster(cluster, 'upstream_rq_503').value = 3;
    stats.cluster(cluster, 'upstream_rq_5xx').value = 3;
    expect(stats.render()).toBe(
      `# TYPE envoy_cluster_upstream_rq counter\n` +
        `envoy_cluster_upstream_rq{cluster_name="${cluster}",response_code="503"} 3\n` +
        `envoy_cluster_upstream_rq{cluster_name="${cluster}",response_code_class="5xx"} 3\n`,
    );
  });

  it('the stats matcher sees the dotted name with the delimiter, as Envoy does', () => {
    const stats = new ProxyStats({
      inclusionPrefixes: [],
      inclusionSuffixes: [],
      inclusionRegexps: [/^(?:cluster\.outbound\|9080\|v2\|reviews\.default\.svc\.cluster\.local;\..*)$/],
    });
    stats.cluster(cluster, 'upstream_rq_total').value = 1;
    expect(stats.render()).toContain(`envoy_cluster_upstream_rq_total{cluster_name="${cluster}"} 1`);
    expect(statPrefix('x', true)).toBe('x;');
    expect(prometheusMetricName('a.b-c|d')).toBe('envoy_a_b_c_d');
  });
});
