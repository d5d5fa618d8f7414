// Calibration of the judges that read exact counts (retries, flags as a count, reconcile) and of rateLimited,
// whose prediction is exact given the arrivals but whose tolerance must absorb what the judge cannot know (the
// refill timer's phase, arrival jitter). Seeded simulations with known truth; distractor series are mixed in so
// that matching the wrong counters would show up as errors.
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/assertions/index.ts';
import type { CounterSample } from '../../src/observe/types.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import type { SeededRandom } from '../../src/assertions/stats/simulate.ts';
import { LocalRateLimiter, localRateLimitSamples, parseLocalRateLimit } from '../../src/istio/ratelimit.ts';
import { istioBehaviour } from '../../src/istio/version.ts';
import { FakeObservation } from './fake-observation.ts';
import { contextOf, expectation, source } from './context.ts';
import { rates, SIMS } from './calibration-helpers.ts';
import { localRateLimitFilter } from '../support/ratelimit-filter.ts';
import { must } from '../../src/must.ts';

const cluster = (subset: string, service: string) => `outbound|9080|${subset}|${service}.default.svc.cluster.local`;
const retry = (proxy: string, subset: string, service: string, value: number): CounterSample => ({
  proxy,
  name: 'envoy_cluster_upstream_rq_retry',
  labels: { cluster_name: cluster(subset, service) },
  value,
});

/** Requests each failing independently with `failing` per attempt, retried up to `attempts` times: retries made. */
function simulateRetries(rng: SeededRandom, requests: number, failing: number, attempts: number): number {
  let retries = 0;
  for (let i = 0; i < requests; i++) {
    for (let a = 0; a < attempts && rng.uniform() < failing; a++) retries++;
  }
  return retries;
}

describe('retries: exact counts from envoy_cluster_upstream_rq_retry', () => {
  it('judges the counted retries of reviews-v2 → ratings exactly, ignoring other callers, services and subsets', () => {
    const e = expectation({ kind: 'retries', service: 'ratings', subset: 'v1', from: 'reviews-v2', count: { approx: 240, tolerance: 30 } });
    let wrong = 0;
    let passes = 0;
    const r = rates(21, SIMS, (rng) => {
      const truth = simulateRetries(rng, 1000, 0.2, 2); // mean 1000 · (0.2 + 0.04) = 240, sd ≈ 16
      const counters = [
        retry('reviews-v2', 'v1', 'ratings', truth),
        retry('reviews-v3', 'v1', 'ratings', simulateRetries(rng, 1000, 0.2, 2)),
        retry('reviews-v2', 'v2', 'ratings', simulateRetries(rng, 100, 0.5, 2)),
        retry('productpage-v1', 'v2', 'reviews', simulateRetries(rng, 1000, 0.1, 2)),
      ].filter((s) => s.value > 0);
      const v = judge(e, contextOf(FakeObservation.fromCounts([[{}, 1000]]), { counters }));
      const expected = truth >= 210 && truth <= 270 ? 'pass' : 'fail';
      if (v.outcome !== expected || v.observed !== truth) wrong++;
      if (v.outcome === 'pass') passes++;
      return { outcome: v.outcome, requests: 1000 };
    });
    expect(wrong).toBe(0);
    expect(r.inconclusive).toBe(0);
    expect(passes).toBeGreaterThan(0.9 * SIMS); // the truth's spread is inside ± 30 almost always
  });

  it('sums every subset and every caller when neither is named', () => {
    const e = expectation({ kind: 'retries', service: 'ratings', count: { max: 10 } });
    const counters = [retry('reviews-v2', 'v1', 'ratings', 4), retry('reviews-v3', 'v2', 'ratings', 7), retry('reviews-v3', 'v1', 'reviews', 100)];
    const v = judge(e, contextOf(FakeObservation.fromCounts([[{}, 10]]), { counters }));
    expect(v.observed).toBe(11);
    expect(v.outcome).toBe('fail');
  });

  it('in sequential mode a minimum not reached yet is inconclusive until the last look, then a failure', () => {
    const e = expectation({ kind: 'retries', service: 'ratings', count: { min: 5 } });
    const counters = [retry('reviews-v2', 'v1', 'ratings', 3)];
    const obs = FakeObservation.fromCounts([[{}, 10]]);
    expect(judge(e, contextOf(obs, { counters, sequential: { looks: 2 } })).outcome).toBe('inconclusive');
    expect(judge(e, contextOf(obs, { counters, sequential: { looks: 9, final: true } })).outcome).toBe('fail');
    expect(judge(e, contextOf(obs, { counters: [retry('reviews-v2', 'v1', 'ratings', 6)], sequential: { looks: 2 } })).outcome).toBe('pass');
  });
});

describe('flags counted from the mesh', () => {
  it('counts UO exactly within one reporter, with several flags per series ("UO,URX")', () => {
    const e = expectation({ kind: 'flags', flag: 'UO', from: 'mesh', service: 'reviews', count: { max: 50 } });
    let wrong = 0;
    rates(23, SIMS, (rng) => {
      const uo = rng.binomial(1000, 0.05);
      const both = rng.binomial(uo, 0.3);
      const counters: CounterSample[] = [
        {
          proxy: 'productpage-v1',
          name: 'istio_requests_total',
          labels: { reporter: 'source', destination_service_name: 'reviews', response_flags: 'UO' },
          value: uo - both,
        },
        {
          proxy: 'productpage-v1',
          name: 'istio_requests_total',
          labels: { reporter: 'source', destination_service_name: 'reviews', response_flags: 'UO,URX' },
          value: both,
        },
        {
          proxy: 'productpage-v1',
          name: 'istio_requests_total',
          labels: { reporter: 'source', destination_service_name: 'reviews', response_flags: '-' },
          value: 1000 - uo,
        },
        {
          proxy: 'productpage-v1',
          name: 'istio_requests_total',
          labels: { reporter: 'source', destination_service_name: 'details', response_flags: 'UO' },
          value: 17,
        },
      ].filter((s) => s.value > 0);
      const v = judge(e, contextOf(FakeObservation.fromCounts([[{}, 1]]), { counters }));
      if (v.observed !== uo || v.outcome !== (uo <= 50 ? 'pass' : 'fail')) wrong++;
      return { outcome: v.outcome, requests: 1000 };
    });
    expect(wrong).toBe(0);
  });
});

describe('reconcile', () => {
  const gateway = (value: number): CounterSample[] => [
    { proxy: 'istio-ingressgateway', name: 'istio_requests_total', labels: { reporter: 'source', response_code: '200' }, value },
    // A sidecar's own counts must not be mixed in.
    { proxy: 'productpage-v1', name: 'istio_requests_total', labels: { reporter: 'destination', response_code: '200' }, value: value * 3 },
  ];
  const e = expectation({ kind: 'reconcile', proxy: 'istio-ingressgateway' });

  it('never fails when the only difference is requests in flight (≤ allowance) and transport errors that never arrived', () => {
    const r = rates(31, SIMS, (rng) => {
      const answered = 1000 + Math.floor(rng.uniform() * 1000);
      const errors = rng.binomial(answered, 0.01);
      const allowance = 1 + Math.floor(rng.uniform() * 10);
      const inFlight = Math.floor(rng.uniform() * (allowance + 1)) * (rng.uniform() < 0.5 ? -1 : 1);
      const reachedErrors = rng.binomial(errors, 0.5);
      const mesh = answered + reachedErrors + inFlight;
      const obs = FakeObservation.fromCounts([
        [{ status: '200' }, answered],
        [{ status: 'error' }, errors],
      ]);
      return { outcome: judge(e, contextOf(obs, { counters: gateway(mesh), inFlightAllowance: allowance })).outcome, requests: answered };
    });
    expect(r.fail).toBe(0);
    expect(r.pass).toBe(1);
  });

  it('always fails when more requests are missing (or extra) than the allowance explains', () => {
    const r = rates(32, SIMS, (rng) => {
      const client = 1000 + Math.floor(rng.uniform() * 1000);
      const allowance = Math.floor(rng.uniform() * 10);
      const off = (allowance + 1 + Math.floor(rng.uniform() * 50)) * (rng.uniform() < 0.5 ? -1 : 1);
      const obs = FakeObservation.fromCounts([[{ status: '200' }, client]]);
      return { outcome: judge(e, contextOf(obs, { counters: gateway(client + off), inFlightAllowance: allowance })).outcome, requests: client };
    });
    expect(r.fail).toBe(1);
  });

  it('fails when the proxy reported nothing at all', () => {
    const v = judge(e, contextOf(FakeObservation.fromCounts([[{ status: '200' }, 10]]), { counters: [] }));
    expect(v.outcome).toBe('fail');
  });
});

/** The istio.io rate-limit task's filter, with a 10 s fill interval so a 30 s run sees three refills. */
function rateLimitFilter(maxTokens = 4, tokensPerFill = 4, fillInterval = '10s'): K8sObject {
  return localRateLimitFilter({ app: 'productpage', name: 'filter-local-ratelimit-svc', namespace: 'istio-system', maxTokens, tokensPerFill, fillInterval });
}

interface ProxyTruth {
  /** The filter the proxy really runs (may differ from the applied one to simulate a broken setup). */
  filter?: K8sObject;
  /** The filter never engaged: every request passes, counters do not move. */
  disengaged?: boolean;
}

/**
 * Poisson arrivals at `ratePerSecond` for `seconds`; the proxy sees each one 0.2–3 ms after it was sent, and its
 * refill timer (chunked mode) fired at an unknown moment: a uniform phase in one fill interval.
 */
function simulateRateLimit(rng: SeededRandom, istioVersion: string, ratePerSecond: number, seconds: number, truth: ProxyTruth = {}) {
  const applied = rateLimitFilter();
  const sends: number[] = [];
  for (let t = -Math.log(rng.uniform()) * (1000 / ratePerSecond); t < seconds * 1000; t += -Math.log(rng.uniform()) * (1000 / ratePerSecond)) {
    sends.push(t);
  }
  const mode = istioBehaviour(istioVersion).rateLimitRefill;
  const limit = parseLocalRateLimit(truth.filter ?? applied);
  const arrivals = sends.map((t) => t + 0.2 + rng.uniform() * 2.8);
  const phase = rng.uniform() * limit.bucket.fillIntervalMs;
  const limiter = new LocalRateLimiter(limit, mode, (arrivals[0] ?? 0) - phase);
  const order = [...arrivals.entries()].sort(([, a], [, b]) => a - b).map(([i]) => i);
  const limited = new Set<number>();
  for (const i of order) {
    if (!truth.disengaged && limiter.decide(must(arrivals[i], 'arrivals[i]'), () => 0).action === 'reply') limited.add(i);
  }
  const observation = FakeObservation.fromRequests(
    sends.map((t, i) => ({ sentAtMs: t, labels: limited.has(i) ? { status: '429', flag: 'RL' } : { status: '200', flag: '-' } })),
  );
  const counters: CounterSample[] = [
    { proxy: 'istio-ingressgateway', name: 'istio_requests_total', labels: { reporter: 'source' }, value: sends.length },
    ...(truth.disengaged
      ? []
      : localRateLimitSamples(limit.statPrefix, limiter.counters).map((s) => ({ proxy: 'productpage-v1', name: s.name, labels: s.labels, value: s.value }))),
  ].filter((s) => s.value > 0);
  const apply = [{ object: applied, source, origin: 'inline' }];
  return { context: contextOf(observation, { counters, apply, istioVersion }), requests: sends.length, limited: limited.size };
}

describe('rateLimited calibration (replaying arrivals through the applied bucket)', () => {
  const e = expectation({ kind: 'rateLimited', slack: 0 });

  it('chunked refill (Istio 1.22 / Envoy 1.30): the right filter with an unknown timer phase and arrival jitter is failed ≤ 1 %', () => {
    const r = rates(41, SIMS, (rng) => {
      const sim = simulateRateLimit(rng, '1.22.0', 2, 30);
      return { outcome: judge(e, sim.context).outcome, requests: sim.requests };
    });
    expect(r.fail).toBeLessThanOrEqual(0.01);
    expect(r.inconclusive).toBe(0);
  });

  it('continuous refill (Istio 1.28 / Envoy 1.36): the right filter with arrival jitter is failed ≤ 1 %', () => {
    const r = rates(42, SIMS, (rng) => {
      const sim = simulateRateLimit(rng, '1.28.0', 2, 30);
      return { outcome: judge(e, sim.context).outcome, requests: sim.requests };
    });
    expect(r.fail).toBeLessThanOrEqual(0.01);
  });

  it('a proxy running a twice as generous bucket is passed ≤ 1 % (both refill modes)', () => {
    for (const version of ['1.22.0', '1.28.0']) {
      const r = rates(43, SIMS, (rng) => {
        const sim = simulateRateLimit(rng, version, 2, 30, { filter: rateLimitFilter(8, 8) });
        return { outcome: judge(e, sim.context).outcome, requests: sim.requests };
      });
      expect(r.pass).toBeLessThanOrEqual(0.01);
    }
  });

  it('a filter that never engaged is always failed, and the sentence says so', () => {
    let said = 0;
    const r = rates(44, SIMS, (rng) => {
      const sim = simulateRateLimit(rng, '1.28.0', 2, 30, { disengaged: true });
      const v = judge(e, sim.context);
      if (v.explanation.startsWith('The filter never engaged')) said++;
      return { outcome: v.outcome, requests: sim.requests };
    });
    expect(r.fail).toBe(1);
    expect(said).toBe(SIMS);
  });
});
