import { describe, expect, it } from 'vitest';
import { counterDelta, parsePrometheusText, sumCounter } from '../../src/observe/prometheus.ts';

const text = `# TYPE istio_requests_total counter
istio_requests_total{reporter="source",destination_service_name="reviews",response_code="200",response_flags="-"} 10
istio_requests_total{reporter="source",destination_service_name="reviews",response_code="503",response_flags="UO"} 3
envoy_cluster_upstream_rq_retry{cluster_name="outbound|9080|v1|reviews.default.svc.cluster.local"} 4
envoy_server_uptime 12.5
weird{path="a\\"b\\\\c"} 1
`;

describe('Prometheus text parsing (the format of a sidecar :15090/stats/prometheus)', () => {
  it('reads names, labels (with escapes) and values', () => {
    const samples = parsePrometheusText(text, 'productpage-v1');
    expect(samples).toHaveLength(5);
    expect(samples[1]).toEqual({
      proxy: 'productpage-v1',
      name: 'istio_requests_total',
      labels: { reporter: 'source', destination_service_name: 'reviews', response_code: '503', response_flags: 'UO' },
      value: 3,
    });
    expect(samples[2]?.labels.cluster_name).toBe('outbound|9080|v1|reviews.default.svc.cluster.local');
    expect(samples[4]?.labels.path).toBe('a"b\\c');
  });

  it('rejects a malformed line rather than guessing', () => {
    expect(() => parsePrometheusText('not a metric line at all {', 'p')).toThrow(/malformed/);
  });

  it('takes deltas per series, counting new series from zero and dropping unchanged ones', () => {
    const before = parsePrometheusText(text, 'p');
    const after = parsePrometheusText(text.replace('} 10', '} 25') + 'new_counter 2\n', 'p');
    const delta = counterDelta(before, after);
    expect(delta.map((s) => [s.name, s.value])).toEqual([
      ['istio_requests_total', 15],
      ['new_counter', 2],
    ]);
    expect(sumCounter(after, 'istio_requests_total', { reporter: 'source' })).toBe(28);
    expect(sumCounter(after, 'istio_requests_total', { response_flags: 'UO' }, 'other-proxy')).toBe(0);
  });
});
