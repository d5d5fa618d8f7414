// Calibration of rateLimited under sequential looks, the way the runner uses it (src/runner/run.ts): load runs, every
// `checkEvery` recorded responses the client-side expectations are judged, and a conclusive rateLimited verdict at a
// look is final. At a look some requests are still in flight, and they are not a random sample: a request the bucket
// limits is answered at once by the sidecar (Envoy's local reply), one it lets through waits for the upstream, so the
// slow 200s are the ones missing from the replay. Seeded simulation with a true token bucket at the proxy.
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/assertions/index.ts';
import type { Outcome } from '../../src/assertions/verdict.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import type { SeededRandom } from '../../src/assertions/stats/simulate.ts';
import { LocalRateLimiter, parseLocalRateLimit } from '../../src/istio/ratelimit.ts';
import { istioBehaviour } from '../../src/istio/version.ts';
import { FakeObservation } from './fake-observation.ts';
import { contextOf, expectation, source } from './context.ts';
import { binomialAllowance, rates, SIMS } from './calibration-helpers.ts';
import { localRateLimitFilter } from '../support/ratelimit-filter.ts';
import { must } from '../../src/must.ts';

/** experiments/bookinfo/09-ratelimit-ratings.yaml's filter: 20 tokens, 20 more per minute. */
function ratingsFilter(maxTokens = 20, tokensPerFill = 20, fillInterval = '60s'): K8sObject {
  return localRateLimitFilter({ app: 'ratings', name: 'ratings-local-ratelimit', maxTokens, tokensPerFill, fillInterval });
}

interface SequentialRun {
  istioVersion: string;
  /** Open-model arrivals (Poisson) per second, total requests (the budget) and the look interval in responses. */
  rate: number;
  budget: number;
  checkEvery: number;
  /** Share of allowed requests that are slow at the upstream, and how slow (uniform in [min, max] ms). */
  slowShare: number;
  slowMs: [number, number];
  /** The applied filter's bucket (max_tokens, tokens_per_fill, fill_interval) ... */
  filter: [number, number, string];
  /** ... and the one the proxy really runs (default: the applied one). */
  truth?: [number, number, string];
}

interface Simulated {
  request: { sentAtMs: number; limited: boolean; doneAtMs: number }[];
}

/** One run: send times, the proxy's true decisions (arrival order, unknown refill phase), completion times. */
function simulateRun(rng: SeededRandom, run: SequentialRun): Simulated {
  const limit = parseLocalRateLimit(ratingsFilter(...(run.truth ?? run.filter)));
  const mode = istioBehaviour(run.istioVersion).rateLimitRefill;
  const sends: number[] = [];
  for (let t = 0; sends.length < run.budget; t += -Math.log(rng.uniform()) * (1000 / run.rate)) sends.push(t);
  const arrivals = sends.map((t) => t + 0.2 + rng.uniform() * 2.8);
  const limiter = new LocalRateLimiter(limit, mode, must(arrivals[0], 'arrivals[0]') - rng.uniform() * limit.bucket.fillIntervalMs);
  const order = [...arrivals.entries()].sort(([, a], [, b]) => a - b).map(([i]) => i);
  const limited = new Array<boolean>(sends.length);
  for (const i of order) limited[i] = limiter.decide(must(arrivals[i], 'arrivals[i]'), () => 0).action === 'reply';
  return {
    request: sends.map((sentAtMs, i) => {
      // A limited request is answered by the sidecar itself; an allowed one waits for ratings (a few ms, some slow).
      const service = limited[i]
        ? 0.1 + rng.uniform() * 0.4
        : rng.uniform() < run.slowShare
          ? run.slowMs[0] + rng.uniform() * (run.slowMs[1] - run.slowMs[0])
          : 1 + rng.uniform() * 4;
      return { sentAtMs, limited: limited[i] ?? false, doneAtMs: must(arrivals[i], 'arrivals[i]') + service + 0.2 + rng.uniform() * 2.8 };
    }),
  };
}

/** What the runner does: judge at every `checkEvery` recorded responses, stop at the first conclusive verdict. */
function judgeSequentially(sim: Simulated, run: SequentialRun): { outcome: Outcome; failedAtAnyLook: boolean; requests: number } {
  const e = expectation({ kind: 'rateLimited', slack: 0 });
  const apply = [{ object: ratingsFilter(...run.filter), source, origin: 'inline' }];
  const recorded = [...sim.request].sort((a, b) => a.doneAtMs - b.doneAtMs);
  const judgeFirst = (n: number, looks: number, final: boolean) => {
    const observation = FakeObservation.fromRequests(
      recorded.slice(0, n).map((r) => ({ sentAtMs: r.sentAtMs, labels: r.limited ? { status: '429', flag: 'RL' } : { status: '200', flag: '-' } })),
    );
    return judge(e, contextOf(observation, { apply, istioVersion: run.istioVersion, sequential: { looks, ...(final ? { final } : {}) } })).outcome;
  };
  let stopped: { outcome: Outcome; requests: number } | undefined;
  let failedAtAnyLook = false;
  let looks = 0;
  for (let n = run.checkEvery; n < recorded.length; n += run.checkEvery) {
    const outcome = judgeFirst(n, ++looks, false);
    if (outcome === 'fail') failedAtAnyLook = true;
    stopped ??= outcome === 'inconclusive' ? undefined : { outcome, requests: n };
  }
  // Budget spent: one more look on everything, as the final look.
  const last = judgeFirst(recorded.length, looks + 1, true);
  if (last === 'fail') failedAtAnyLook = true;
  return { ...(stopped ?? { outcome: last, requests: recorded.length }), failedAtAnyLook };
}

function calibrate(seed: number, run: SequentialRun) {
  let failedAtAnyLook = 0;
  const r = rates(seed, SIMS, (rng) => {
    const result = judgeSequentially(simulateRun(rng, run), run);
    if (result.failedAtAnyLook) failedAtAnyLook++;
    return result;
  });
  return { ...r, failedAtAnyLook: failedAtAnyLook / SIMS };
}

describe('rateLimited under sequential looks (in-flight slow 200s missing from the replay at a look)', () => {
  const alpha = 0.01; // the expectation's confidence is 99 %
  const allowance = binomialAllowance(SIMS, alpha);

  it('the binomial allowance is the exact tail quantile (Binomial(10, ½): P(X > 9) = 1/1024 ≤ 0.001 < P(X > 8) = 11/1024)', () => {
    expect(binomialAllowance(10, 0.5)).toBe(9);
    expect(binomialAllowance(10, 0.5, 0.011)).toBe(8);
  });

  // experiments/bookinfo/09-ratelimit-ratings.yaml: 20 tokens + 20 per minute, 200 requests at 200 per second, looks
  // every 20 responses; Envoy ≥ 1.31 refills continuously (istio/istio 1.23+). Many allowed requests are in flight at
  // the first looks.
  const burst: Omit<SequentialRun, 'istioVersion'> = { rate: 200, budget: 200, checkEvery: 20, slowShare: 0.1, slowMs: [20, 150], filter: [20, 20, '60s'] };
  // The istio.io task's bucket (4 tokens, 4 per fill) with a 10 s chunked refill, 2 per second for about 30 s, looks
  // every 20: several refills, so a bucket twice as large is distinguishable whatever the timer's phase.
  const task: Omit<SequentialRun, 'istioVersion'> = { rate: 2, budget: 60, checkEvery: 20, slowShare: 0.1, slowMs: [200, 1500], filter: [4, 4, '10s'] };

  it("continuous refill, experiment 09's load: the right filter is failed at most α, at the stopping look and at any look", () => {
    const r = calibrate(51, { ...burst, istioVersion: '1.28.0' });
    expect(Math.round(r.fail * SIMS)).toBeLessThanOrEqual(allowance);
    expect(Math.round(r.failedAtAnyLook * SIMS)).toBeLessThanOrEqual(allowance);
    expect(r.pass).toBeGreaterThan(0.9);
  });

  it("continuous refill, experiment 09's load: a proxy running a bucket twice as large is failed in most runs, passed at most α", () => {
    const r = calibrate(52, { ...burst, istioVersion: '1.28.0', truth: [40, 40, '60s'] });
    expect(r.fail).toBeGreaterThan(0.9);
    expect(Math.round(r.pass * SIMS)).toBeLessThanOrEqual(allowance);
  });

  it("chunked refill (Istio 1.22 / Envoy 1.30), the task's bucket: the right filter is failed at most α, at the stopping look and at any look", () => {
    const r = calibrate(53, { ...task, istioVersion: '1.22.0' });
    expect(Math.round(r.fail * SIMS)).toBeLessThanOrEqual(allowance);
    expect(Math.round(r.failedAtAnyLook * SIMS)).toBeLessThanOrEqual(allowance);
    expect(r.pass).toBeGreaterThan(0.9);
  });

  it("chunked refill, the task's bucket: a proxy running a bucket twice as large is failed in most runs, passed at most α", () => {
    const r = calibrate(54, { ...task, istioVersion: '1.22.0', truth: [8, 8, '10s'] });
    expect(r.fail).toBeGreaterThan(0.9);
    expect(Math.round(r.pass * SIMS)).toBeLessThanOrEqual(allowance);
  });
});
