// Calibration of rateLimited at the arrivals the issue measured (issue 15 item 5): autocannon's open model releases
// each connection's per-second budget at the start of the second (lib/httpClient.js reqsMadeThisSecond), so the
// sidecar receives a burst that its one event loop works through one request after another, tens of milliseconds
// from the first to the last; a steady (k6 constant-arrival-rate) load is the smooth case. The client records send
// times and latencies; the proxy decides with its own arrival times through Envoy's continuous token bucket
// (token_bucket_impl.h AtomicTokenBucketImpl, Envoy ≥ 1.31). Final verdicts (no sequential looks), 1,000 seeded runs.
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/assertions/index.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import type { SeededRandom } from '../../src/assertions/stats/simulate.ts';
import { LocalRateLimiter, parseLocalRateLimit } from '../../src/istio/ratelimit.ts';
import { FakeObservation } from './fake-observation.ts';
import { contextOf, expectation, source } from './context.ts';
import { rates, SIMS } from './calibration-helpers.ts';
import { localRateLimitFilter } from '../support/ratelimit-filter.ts';
import { must } from '../../src/must.ts';

type Bucket = [maxTokens: number, tokensPerFill: number, fillInterval: string];

function filter([maxTokens, tokensPerFill, fillInterval]: Bucket): K8sObject {
  return localRateLimitFilter({ app: 'productpage', name: 'productpage-local-ratelimit', maxTokens, tokensPerFill, fillInterval });
}

interface Load {
  /** Requests per second and seconds of load. */
  rate: number;
  seconds: number;
  /** autocannon: every connection's request at the start of each second; smooth: evenly spaced with jitter. */
  arrivals: 'bursts' | 'smooth';
  applied: Bucket;
  /** The sidecar's work per request before the next one reaches the filter, ms (uniform). */
  workMs: [number, number];
  /** Chance per request that the sidecar's process stalls first (garbage collection, the CPU taken by a build), and for how long (ms). */
  stall?: { chance: number; ms: [number, number] };
  /** The bucket the proxy really runs (default: the applied one). */
  truth?: Bucket;
}

/** One run: client send times and latencies; the proxy's own arrival times and decisions. */
function simulate(rng: SeededRandom, load: Load) {
  const limit = parseLocalRateLimit(filter(load.truth ?? load.applied));
  const connections = Math.min(load.rate, 100);
  const connectionOffset = Array.from({ length: connections }, () => rng.uniform() * 3); // each client's 1 s interval
  const sends: number[] = [];
  for (let second = 0; second < load.seconds; second++) {
    for (let k = 0; k < load.rate; k++) {
      sends.push(
        load.arrivals === 'bursts'
          ? second * 1000 + must(connectionOffset[k % connections], 'connectionOffset[k % connections]') + rng.uniform() * 0.5
          : second * 1000 + (k * 1000) / load.rate + rng.uniform() * 4,
      );
    }
  }
  sends.sort((a, b) => a - b);
  // The sidecar's event loop takes the requests one after another: each reaches the filter `workMs` after the one
  // before it at the earliest, plus loopback latency.
  // A connection's first request also waits for the TCP (and mTLS) set-up: 5–30 ms.
  const arrivals: number[] = [];
  let free = -Infinity;
  for (const [i, s] of sends.entries()) {
    const connect = i < connections ? 5 + rng.uniform() * 25 : 0;
    if (load.stall && rng.uniform() < load.stall.chance) free = Math.max(free, s) + load.stall.ms[0] + rng.uniform() * (load.stall.ms[1] - load.stall.ms[0]);
    const at = Math.max(s + connect + 0.2 + rng.uniform() * 0.6, free);
    arrivals.push(at);
    free = at + load.workMs[0] + rng.uniform() * (load.workMs[1] - load.workMs[0]);
  }
  // The proxy's clock starts at an unknown offset from the client's; the bucket has been full since long before.
  const offset = 1e6 * rng.uniform();
  const limiter = new LocalRateLimiter(limit, 'continuous', offset - 60_000);
  return sends.map((sentAtMs, i) => {
    const limited = limiter.decide(must(arrivals[i], 'arrivals[i]') + offset, () => 0).action === 'reply';
    // A limited request is answered by the sidecar at once; an allowed one waits for the app (1–8 ms).
    const service = limited ? 0.2 + rng.uniform() * 0.8 : 1 + rng.uniform() * 7;
    return { sentAtMs, limited, latencyMs: must(arrivals[i], 'arrivals[i]') - sentAtMs + service + 0.2 + rng.uniform() * 0.5 };
  });
}

function calibrate(seed: number, load: Load) {
  const e = expectation({ kind: 'rateLimited', slack: 0 });
  const apply = [{ object: filter(load.applied), source, origin: 'inline' }];
  return rates(seed, SIMS, (rng) => {
    const requests = simulate(rng, load);
    const observation = FakeObservation.fromRequests(
      requests.map((r) => ({ sentAtMs: r.sentAtMs, latencyMs: r.latencyMs, labels: r.limited ? { status: '429', flag: 'RL' } : { status: '200', flag: '-' } })),
    );
    return { outcome: judge(e, contextOf(observation, { apply, istioVersion: '1.28.0' })).outcome, requests: requests.length };
  });
}

describe('rateLimited at bursty and smooth arrivals: the allowance covers the arrival spread the proxy saw (issue 15 item 5)', () => {
  // 50 req/s in autocannon's per-second bursts against 10 tokens + 10 per second: 400 of 500 limited. The local mesh
  // measured 401 of 500 (its slowest response 30–49 ms): the sidecar works through a burst at 0.2–1.2 ms a request.
  const fifty: Load = { rate: 50, seconds: 10, arrivals: 'bursts', applied: [10, 10, '1s'], workMs: [0.2, 1.2] };
  // A busy 2-core machine (Go builds alongside): 1–4 ms a request, and now and then a stall of 0.1–0.5 s.
  const busy = { workMs: [1, 4] as [number, number], stall: { chance: 0.001, ms: [100, 500] as [number, number] } };
  // A faster refill makes the same spread worth more tokens: 20 tokens + 25 per second.
  const fiftyFast: Load = { ...fifty, applied: [20, 25, '1s'], workMs: [1, 4] };
  // 5 req/s against 5 tokens + 5 per 2 s (about half limited), on a busy machine stalling before 5 % of requests.
  const five: Load = { rate: 5, seconds: 60, arrivals: 'bursts', applied: [5, 5, '2s'], workMs: [1, 4], stall: { chance: 0.05, ms: [100, 500] } };
  const cases: [string, Load, Bucket][] = [
    ['50 req/s in bursts', fifty, [20, 20, '1s']],
    ['50 req/s in bursts, busy machine', { ...fifty, ...busy }, [20, 20, '1s']],
    ['50 req/s in bursts, 25 tokens a second', fiftyFast, [40, 50, '1s']],
    ['5 req/s in bursts, busy machine', five, [10, 10, '2s']],
    ['5 req/s smooth, busy machine', { ...five, arrivals: 'smooth' }, [10, 10, '2s']],
  ];

  // Before the allowance covered the spread (a fixed 1-request jitter) these seeds passed 93.1 % busy at 50 req/s and
  // 0 % with 25 tokens a second (5 req/s in bursts: 98.6 % with another seed).
  it.each(cases.map(([name, load], i) => [name, load, 81 + i] as const))('%s: the right filter passes at least 99 % of runs', (_name, load, seed) => {
    expect(calibrate(seed, load).pass).toBeGreaterThanOrEqual(0.99);
  });

  it("50 req/s in bursts, busy machine: two tokens more (12 instead of 10) fail at least 95 % of runs, since each request's own response time bounds its delay (predictRateLimitedUnderDelays)", () => {
    expect(calibrate(99, { ...fifty, ...busy, truth: [12, 10, '1s'] }).fail).toBeGreaterThanOrEqual(0.95);
  });

  it.each(cases.map(([name, load, twice], i) => [name, load, twice, 91 + i] as const))(
    '%s: a proxy running a bucket twice as large fails every run',
    (_name, load, twice, seed) => {
      expect(calibrate(seed, { ...load, truth: twice }).fail).toBe(1);
    },
  );
});
