// Seeded simulations with a known truth: how often does a judge pass, fail or stay inconclusive?
import type { Outcome, Verdict } from '../../src/assertions/verdict.ts';
import { seededRandom, type SeededRandom } from '../../src/assertions/stats/simulate.ts';
import { must } from '../../src/must.ts';

export interface Rates {
  pass: number;
  fail: number;
  inconclusive: number;
  sims: number;
  /** Mean requests used (sequential runs). */
  meanRequests: number;
}

export const SIMS = 1000;

/** Run `sims` seeded simulations; each returns the final outcome and how many requests it used. */
export function rates(seed: number, sims: number, simulate: (rng: SeededRandom) => { outcome: Outcome; requests: number }): Rates {
  const rng = seededRandom(seed);
  const counts = { pass: 0, fail: 0, inconclusive: 0 };
  let requests = 0;
  for (let i = 0; i < sims; i++) {
    const r = simulate(rng);
    counts[r.outcome]++;
    requests += r.requests;
  }
  return { pass: counts.pass / sims, fail: counts.fail / sims, inconclusive: counts.inconclusive / sims, sims, meanRequests: requests / sims };
}

/**
 * Sequential stopping: add `every` requests at a time (drawn by `grow`), judge after each batch with the verdict
 * of look number k, stop at the first conclusive verdict or when `budget` requests were sent.
 */
export function sequentially<S>(
  rng: SeededRandom,
  options: { every: number; budget: number },
  start: S,
  grow: (state: S, batch: number, rng: SeededRandom) => S,
  judgeLook: (state: S, look: number, final: boolean) => Verdict,
): { outcome: Outcome; requests: number } {
  let state = start;
  let sent = 0;
  let look = 0;
  while (sent < options.budget) {
    const batch = Math.min(options.every, options.budget - sent);
    state = grow(state, batch, rng);
    sent += batch;
    look++;
    const verdict = judgeLook(state, look, sent >= options.budget);
    if (verdict.outcome !== 'inconclusive') return { outcome: verdict.outcome, requests: sent };
  }
  return { outcome: 'inconclusive', requests: sent };
}

/** Multinomial category counts that grow batch by batch. */
export function growCounts(probs: number[]) {
  return (counts: number[], batch: number, rng: SeededRandom) => {
    const add = rng.multinomial(batch, probs);
    return counts.map((c, i) => c + must(add[i], 'add[i]'));
  };
}

/**
 * The largest count of errors in `sims` runs that is still consistent with an error rate of `alpha`: the smallest k
 * with P(Binomial(sims, alpha) > k) ≤ `risk` (exact binomial tail, summed in log space).
 */
export function binomialAllowance(sims: number, alpha: number, risk = 0.001): number {
  const logPmf = (k: number) => logChoose(sims, k) + k * Math.log(alpha) + (sims - k) * Math.log1p(-alpha);
  let cumulative = 0;
  for (let k = 0; k <= sims; k++) {
    cumulative += Math.exp(logPmf(k));
    if (1 - cumulative <= risk) return k;
  }
  return sims;
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}
