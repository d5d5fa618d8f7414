// counter: any exported proxy counter's rise during the load, judged exactly (counters are counts, not samples).
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/assertions/index.ts';
import type { CounterExpectation } from '../../src/spec/types.ts';
import type { CounterSample } from '../../src/observe/types.ts';
import { FakeObservation } from './fake-observation.ts';
import { contextOf, source } from './context.ts';

const cluster = 'outbound|9080||productpage.default.svc.cluster.local';
const overflow = (count: CounterExpectation['count'], extra: Partial<CounterExpectation> = {}): CounterExpectation => ({
  kind: 'counter',
  title: 'pending overflow',
  source,
  confidence: 0.99,
  name: 'envoy_cluster_upstream_rq_pending_overflow',
  labels: { cluster_name: cluster },
  count,
  ...extra,
});
const counters = [
  { proxy: 'istio-ingressgateway-5d9f8-abcde', name: 'envoy_cluster_upstream_rq_pending_overflow', labels: { cluster_name: cluster }, value: 40 },
  { proxy: 'istio-ingressgateway-5d9f8-fghij', name: 'envoy_cluster_upstream_rq_pending_overflow', labels: { cluster_name: cluster }, value: 2 },
  {
    proxy: 'productpage-v1',
    name: 'envoy_cluster_upstream_rq_pending_overflow',
    labels: { cluster_name: 'outbound|9080||details.default.svc.cluster.local' },
    value: 7,
  },
  { proxy: 'productpage-v1', name: 'envoy_cluster_upstream_rq_retry', labels: { cluster_name: cluster }, value: 99 },
];
const observation = FakeObservation.fromCounts([[{ status: '200' }, 100]]);

describe('counter expectations (Envoy cluster statistics, e.g. upstream_rq_pending_overflow)', () => {
  it("sums the matching series of the named workload's proxies (pod names start with the workload name)", () => {
    const v = judge(overflow({ min: 1 }, { proxy: 'istio-ingressgateway' }), contextOf(observation, { counters }));
    expect(v.outcome).toBe('pass');
    expect(v.observed).toBe(42);
    expect(v.explanation).toBe(
      `envoy_cluster_upstream_rq_pending_overflow{cluster_name="${cluster}"} rose by 42 at istio-ingressgateway's proxies (istio-ingressgateway-5d9f8-abcde 40, istio-ingressgateway-5d9f8-fghij 2); expected at least 1.`,
    );
  });

  it('fails above a max, exactly', () => {
    const v = judge(overflow({ max: 0 }, { labels: {} }), contextOf(observation, { counters }));
    expect(v.outcome).toBe('fail');
    expect(v.observed).toBe(49);
    expect(v.explanation).toBe(
      'envoy_cluster_upstream_rq_pending_overflow rose by 49 (istio-ingressgateway-5d9f8-abcde 40, istio-ingressgateway-5d9f8-fghij 2, productpage-v1 7); expected at most 0, but 49 is above 0.',
    );
  });

  it('says when no series moved, which is also what a proxy that does not export it looks like', () => {
    const v = judge(overflow({ min: 1 }, { proxy: 'reviews-v2' }), contextOf(observation, { counters }));
    expect(v.outcome).toBe('fail');
    expect(v.explanation).toBe(
      `envoy_cluster_upstream_rq_pending_overflow{cluster_name="${cluster}"} rose by 0 at reviews-v2's proxies; expected at least 1, but 0 is below 1 (no series of it moved at reviews-v2's proxies: if the proxies do not export it, add its prefix to proxyStatsMatcher).`,
    );
  });

  it('a min not reached yet stays inconclusive until the last look of a sequential run', () => {
    expect(judge(overflow({ min: 100 }), contextOf(observation, { counters, sequential: { looks: 2 } })).outcome).toBe('inconclusive');
    expect(judge(overflow({ min: 100 }), contextOf(observation, { counters, sequential: { looks: 3, final: true } })).outcome).toBe('fail');
  });

  it('an empty label value selects the series without that label, as Prometheus treats them (a Telemetry removed response_code)', () => {
    const requests: CounterSample[] = [
      { proxy: 'api-gateway-v1', name: 'istio_requests_total', labels: { reporter: 'destination', method: 'GET' }, value: 30 },
      { proxy: 'api-gateway-v1', name: 'istio_requests_total', labels: { reporter: 'destination', method: 'GET', response_code: '200' }, value: 5 },
    ];
    const e = (labels: Record<string, string>) => overflow({ min: 1 }, { name: 'istio_requests_total', labels });
    expect(judge(e({ method: 'GET', response_code: '' }), contextOf(observation, { counters: requests })).observed).toBe(30);
    expect(judge(e({ method: 'GET', response_code: '200' }), contextOf(observation, { counters: requests })).observed).toBe(5);
    expect(judge(e({ method: '' }), contextOf(observation, { counters: requests })).observed).toBe(0);
  });
});
