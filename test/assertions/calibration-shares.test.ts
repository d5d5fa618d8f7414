// Calibration of the share-based judges (status, denied, latency, flags as a ratio): seeded simulations with a known
// true share on or just beyond the edge of the accepted band, one look and sequential. False pass and false fail
// must stay at or below α = 1 − confidence (99 % unless stated).
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/assertions/index.ts';
import type { Expectation } from '../../src/spec/types.ts';
import type { CounterSample } from '../../src/observe/types.ts';
import type { JudgeContext, Outcome } from '../../src/assertions/verdict.ts';
import type { SeededRandom } from '../../src/assertions/stats/simulate.ts';
import { FakeObservation } from './fake-observation.ts';
import { contextOf, expectation } from './context.ts';
import { rates, sequentially, SIMS, type Rates } from './calibration-helpers.ts';

/** A judged share: how a simulated count of `hits` among `n` becomes a judge context. */
type Scenario = (hits: number, n: number) => Omit<Parameters<typeof contextOf>[1], 'sequential'> & { observation: FakeObservation };

function oneLook(e: Expectation, scenario: Scenario, truth: number, n: number, seed = 11): Rates {
  return rates(seed, SIMS, (rng) => ({ outcome: run(e, scenario, rng.binomial(n, truth), n), requests: n }));
}

/** Client-side kinds under sequential looks: judged at every look, load stops at the first conclusive verdict. */
function sequential(e: Expectation, scenario: Scenario, truth: number, every: number, budget: number, seed = 13): Rates {
  return rates(seed, SIMS, (rng: SeededRandom) =>
    sequentially(
      rng,
      { every, budget },
      { hits: 0, n: 0 },
      (s, batch, r) => ({ hits: s.hits + r.binomial(batch, truth), n: s.n + batch }),
      (s, looks, final) => {
        const { observation, ...rest } = scenario(s.hits, s.n);
        return judge(e, contextOf(observation, { ...rest, sequential: { looks, final } }));
      },
    ),
  );
}

/**
 * What the runner does with a share read from the mesh counters (flags, denied at a service) in a sequential experiment (src/runner/run.ts:
 * only client-side kinds are judged at looks, `judgedFromClient`): it is never looked at while load runs, so it never
 * stops load. It is judged once after load on all the requests sent, with `sequential: { looks: looks + 1, final:
 * true }` (the final look of the sequence, hence the anytime interval). Load runs to the budget unless the client-side
 * expectations all become conclusive first: `stopLook` draws the look at which they stopped it (independent of the mesh
 * counters, which the client never sees), or returns the number of looks in the budget.
 */
function judgedOnceAfterLoad(
  e: Expectation,
  scenario: Scenario,
  truth: number,
  every: number,
  budget: number,
  stopLook: (rng: SeededRandom) => number,
  seed = 13,
): Rates {
  return rates(seed, SIMS, (rng) => {
    const looks = stopLook(rng);
    const n = Math.min(looks * every, budget);
    const { observation, ...rest } = scenario(rng.binomial(n, truth), n);
    return { outcome: judge(e, contextOf(observation, { ...rest, sequential: { looks: looks + 1, final: true } })).outcome, requests: n };
  });
}

/** Looks every 200 up to 2,000: load ran the whole budget (no client-side expectation stopped it)... */
const wholeBudget = () => 10;
/** ...or the client-side expectations stopped it at a look drawn uniformly from the 10. */
const stoppedByClient = (rng: SeededRandom) => 1 + Math.floor(rng.uniform() * 10);

function run(e: Expectation, scenario: Scenario, hits: number, n: number, extra: Partial<JudgeContext> = {}): Outcome {
  const { observation, ...rest } = scenario(hits, n);
  return judge(e, { ...contextOf(observation, rest), ...extra }).outcome;
}

const statusScenario: Scenario = (hits, n) => ({
  observation: FakeObservation.fromCounts([
    [{ status: '503', class: '5xx', flag: 'UO' }, hits],
    [{ status: '200', class: '2xx', flag: '-' }, n - hits],
  ]),
});

describe('status calibration', () => {
  const maxOnePercent = expectation({ kind: 'status', code: '5xx', ratio: { max: 0.01 } });

  it('max 1 % of 5xx: a true 1 % is failed at most 1 % of the time; a true 1.2 % is passed at most 1 % (n = 5,000)', () => {
    expect(oneLook(maxOnePercent, statusScenario, 0.01, 5000).fail).toBeLessThanOrEqual(0.01);
    expect(oneLook(maxOnePercent, statusScenario, 0.012, 5000).pass).toBeLessThanOrEqual(0.01);
  });

  it('derived p^(n+1): failing 0.5 with 2 retries → 12.5 ± 3 points; truths on and beyond the edge', () => {
    const derived = expectation({ kind: 'status', code: '503', ratio: { approx: 0, tolerance: 0.03, derived: { failing: 0.5, retries: 2 } } });
    expect(oneLook(derived, statusScenario, 0.155, 2000).fail).toBeLessThanOrEqual(0.01);
    expect(oneLook(derived, statusScenario, 0.095, 2000).fail).toBeLessThanOrEqual(0.01);
    expect(oneLook(derived, statusScenario, 0.157, 2000).pass).toBeLessThanOrEqual(0.01);
    // And it has power: the true 12.5 % passes nearly always at 4,000 requests (99 % interval ± 1.4 points).
    expect(oneLook(derived, statusScenario, 0.125, 4000).pass).toBeGreaterThanOrEqual(0.95);
  });

  it('a response flag as a share (UO at least 40 %), sequential looks every 200 up to 2,000', () => {
    const e = expectation({ kind: 'status', flag: 'UO', ratio: { min: 0.4 } });
    expect(sequential(e, statusScenario, 0.4, 200, 2000).fail).toBeLessThanOrEqual(0.01);
    expect(sequential(e, statusScenario, 0.395, 200, 2000).pass).toBeLessThanOrEqual(0.01);
  });

  it('approx 50 ± 5 points under sequential stopping: edge truth rarely failed, truth beyond rarely passed', () => {
    const e = expectation({ kind: 'status', code: '503', ratio: { approx: 0.5, tolerance: 0.05 } });
    expect(sequential(e, statusScenario, 0.55, 200, 2000).fail).toBeLessThanOrEqual(0.01);
    expect(sequential(e, statusScenario, 0.552, 200, 2000).pass).toBeLessThanOrEqual(0.01);
  });
});

describe('denied calibration', () => {
  const clientScenario: Scenario = (hits, n) => ({
    observation: FakeObservation.fromCounts([
      [{ status: '403', denied: 'rbac', flag: '-' }, hits],
      [{ status: '200', flag: '-' }, n - hits],
    ]),
  });
  const meshScenario: Scenario = (hits, n) => ({
    observation: FakeObservation.fromCounts([[{ status: '200' }, 100]]),
    counters: [
      sample('ratings-v1', 'istio_requests_total', { reporter: 'destination', destination_service_name: 'ratings', response_code: '403' }, hits),
      sample('ratings-v1', 'istio_requests_total', { reporter: 'destination', destination_service_name: 'ratings', response_code: '200' }, n - hits),
      sample('ratings-v1', 'envoy_http_rbac_denied', {}, hits),
    ].filter((s) => s.value > 0),
  });

  it('client side, at least 99 % denied: true 99 % failed ≤ 1 %, true 98.7 % passed ≤ 1 % (n = 5,000)', () => {
    const e = expectation({ kind: 'denied', ratio: { min: 0.99 } });
    expect(oneLook(e, clientScenario, 0.99, 5000).fail).toBeLessThanOrEqual(0.01);
    expect(oneLook(e, clientScenario, 0.987, 5000).pass).toBeLessThanOrEqual(0.01);
  });

  it('mesh side (istio_requests_total at ratings), at most 5 % denied, sequential experiment judged once after load as run.ts does (budget 2,000, or stopped early by client-side expectations)', () => {
    const e = expectation({ kind: 'denied', service: 'ratings', ratio: { max: 0.05 } });
    for (const stopLook of [wholeBudget, stoppedByClient]) {
      expect(judgedOnceAfterLoad(e, meshScenario, 0.05, 200, 2000, stopLook).fail).toBeLessThanOrEqual(0.01);
      expect(judgedOnceAfterLoad(e, meshScenario, 0.052, 200, 2000, stopLook).pass).toBeLessThanOrEqual(0.01);
    }
  });
});

describe('latency calibration', () => {
  /** `hits` slow requests (at `slowMs`), the rest fast; the judge only sees latencies. */
  const latencies =
    (slowMs: number, fastMs = 40): Scenario =>
    (hits, n) => ({
      observation: new FakeObservation([
        { labels: {}, count: hits, latencyMs: slowMs },
        { labels: {}, count: n - hits, latencyMs: fastMs },
      ]),
    });

  it('p99 below 500 ms: a true p99 exactly at the threshold (1 % at ≥ 500 ms) is failed ≤ 1 %; 1.2 % slow is passed ≤ 1 %', () => {
    const e = expectation({ kind: 'latency', percentiles: { p99: { below: 500 } } });
    expect(oneLook(e, latencies(650), 0.01, 5000).fail).toBeLessThanOrEqual(0.01);
    expect(oneLook(e, latencies(650), 0.012, 5000).pass).toBeLessThanOrEqual(0.01);
  });

  it('p99 below 500 ms under sequential looks (latency is judged at looks, src/runner/run.ts): looks every 500 up to 5,000', () => {
    const e = expectation({ kind: 'latency', percentiles: { p99: { below: 500 } } });
    expect(sequential(e, latencies(650), 0.01, 500, 5000).fail).toBeLessThanOrEqual(0.01);
    expect(sequential(e, latencies(650), 0.012, 500, 5000).pass).toBeLessThanOrEqual(0.01);
  });

  it('p50 above 30 ms and p90 below 100 ms together (Bonferroni over two checks), at 90 %', () => {
    const e = expectation({ kind: 'latency', confidence: 0.9, percentiles: { p50: { above: 30 }, p90: { below: 100 } } });
    // Share at ≥ 100 ms exactly 10 %: the p90 check sits on its edge; p50 (all ≥ 40 ms) passes.
    expect(oneLook(e, latencies(120), 0.1, 2000).fail).toBeLessThanOrEqual(0.1);
    expect(oneLook(e, latencies(120), 0.105, 4000).pass).toBeLessThanOrEqual(0.1);
  });

  it('delay-fault form: about 10 ± 5 points take at least 7 s, one look and sequential', () => {
    const e = expectation({ kind: 'latency', percentiles: {}, delayed: { atLeastMs: 7000, share: { approx: 0.1, tolerance: 0.05 } } });
    const delayed = latencies(7003);
    expect(oneLook(e, delayed, 0.15, 2000).fail).toBeLessThanOrEqual(0.01);
    expect(oneLook(e, delayed, 0.152, 2000).pass).toBeLessThanOrEqual(0.01);
    expect(sequential(e, delayed, 0.05, 200, 2000).fail).toBeLessThanOrEqual(0.01);
    expect(sequential(e, delayed, 0.048, 200, 2000).pass).toBeLessThanOrEqual(0.01);
  });
});

describe('flags calibration (share from the mesh counters)', () => {
  const meshFlags: Scenario = (hits, n) => ({
    observation: FakeObservation.fromCounts([[{}, 1]]),
    counters: [
      sample('productpage-v1', 'istio_requests_total', { reporter: 'source', destination_service_name: 'reviews', response_flags: 'UO' }, hits),
      sample('productpage-v1', 'istio_requests_total', { reporter: 'source', destination_service_name: 'reviews', response_flags: '-' }, n - hits),
      // The destination side of the same requests (never flagged UO) must not dilute the share.
      sample('reviews-v1', 'istio_requests_total', { reporter: 'destination', destination_service_name: 'reviews', response_flags: '-' }, n - hits),
    ].filter((s) => s.value > 0),
  });
  const e = expectation({ kind: 'flags', flag: 'UO', from: 'mesh', service: 'reviews', ratio: { approx: 0.2, tolerance: 0.05 } });

  it('UO on 20 ± 5 points of calls to reviews, one look: edge truth failed ≤ 1 %, truth beyond passed ≤ 1 %', () => {
    expect(oneLook(e, meshFlags, 0.25, 2000).fail).toBeLessThanOrEqual(0.01);
    expect(oneLook(e, meshFlags, 0.252, 2000).pass).toBeLessThanOrEqual(0.01);
  });

  it('sequential experiment, judged once after load as run.ts does (2,000-request budget): edge truth (15 %) failed ≤ 1 %, just beyond (14.8 %) passed ≤ 1 %, a wrong one (30 %, one tolerance beyond) never passed and failed in ≥ 90 % of runs', () => {
    expect(judgedOnceAfterLoad(e, meshFlags, 0.15, 200, 2000, wholeBudget).fail).toBeLessThanOrEqual(0.01);
    expect(judgedOnceAfterLoad(e, meshFlags, 0.148, 200, 2000, wholeBudget).pass).toBeLessThanOrEqual(0.01);
    const wrong = judgedOnceAfterLoad(e, meshFlags, 0.3, 200, 2000, wholeBudget);
    expect(wrong.pass).toBe(0);
    expect(wrong.fail).toBeGreaterThanOrEqual(0.9); // measured 0.904 (seed 13); the rest is inconclusive at the budget
  });

  it('sequential experiment whose client-side expectations stopped load early: the flags share judged once then keeps both error rates ≤ 1 % (a confidence sequence holds at any stopping time)', () => {
    expect(judgedOnceAfterLoad(e, meshFlags, 0.15, 200, 2000, stoppedByClient).fail).toBeLessThanOrEqual(0.01);
    expect(judgedOnceAfterLoad(e, meshFlags, 0.148, 200, 2000, stoppedByClient).pass).toBeLessThanOrEqual(0.01);
    expect(judgedOnceAfterLoad(e, meshFlags, 0.25, 200, 2000, stoppedByClient).fail).toBeLessThanOrEqual(0.01);
    expect(judgedOnceAfterLoad(e, meshFlags, 0.3, 200, 2000, stoppedByClient).pass).toBe(0);
  });
});

function sample(proxy: string, name: string, labels: Record<string, string>, value: number): CounterSample {
  return { proxy, name, labels, value };
}
