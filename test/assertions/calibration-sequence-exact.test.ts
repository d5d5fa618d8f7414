// Calibration of the anytime share interval (src/assertions/stats/confidence-sequence.ts) on the bench's split
// (bench/verdict-speed.ts: 80/20 ± 5 points at 99 %), a look every 20 requests, computed exactly rather than
// simulated: the distribution of the count among the runs still undecided is carried from look to look (binomial
// steps of 20), and the mass that the judge decides at a look leaves it as a pass or a fail. Ville's inequality bounds
// a wrong verdict by α at every stopping time; this checks the method as coded, to 1e-10, where 1,000 seeded runs
// could only tell ≤ 1 % ± 0.6 points.
import { describe, expect, it } from 'vitest';
import gammaln from '@stdlib/math-base-special-gammaln';
import { judgeShare } from '../../src/assertions/share.ts';
import type { Outcome } from '../../src/assertions/verdict.ts';

const band = { lower: 0.15, upper: 0.25 };
const every = 20;
const decisions = new Map<number, Outcome>();

function decision(x: number, n: number): Outcome {
  const key = n * 100_003 + x;
  let outcome = decisions.get(key);
  if (outcome === undefined) {
    outcome = judgeShare(x, n, band, { confidence: 0.99, comparisons: 1, sequential: true }).outcome;
    decisions.set(key, outcome);
  }
  return outcome;
}

/** Exact probabilities that sequential looks every 20 requests, up to `budget`, end in a pass or a fail at `truth`. */
function exactRates(truth: number, budget: number): { pass: number; fail: number } {
  const step = Array.from({ length: every + 1 }, (_, k) =>
    Math.exp(gammaln(every + 1) - gammaln(k + 1) - gammaln(every - k + 1) + k * Math.log(truth) + (every - k) * Math.log1p(-truth)),
  );
  let undecided = new Map<number, number>([[0, 1]]);
  const ended = { pass: 0, fail: 0 };
  for (let n = every; n <= budget; n += every) {
    const next = new Map<number, number>();
    for (const [x, mass] of undecided) {
      for (const [k, p] of step.entries()) next.set(x + k, (next.get(x + k) ?? 0) + mass * p);
    }
    undecided = new Map();
    for (const [x, mass] of next) {
      if (mass < 1e-15) continue; // all such masses together stay below 1e-10
      const outcome = decision(x, n);
      if (outcome === 'inconclusive') undecided.set(x, mass);
      else ended[outcome] += mass;
    }
  }
  return ended;
}

describe('anytime share interval at looks every 20 requests (80/20 ± 5 points, 99 %), exact', () => {
  // Measured: 0.36 % and 0.42 % at the edges, 0.18 % and 0.22 % just beyond them.
  it('a truth on an edge (15 %, 25 %) is failed at most 1 % of the time over 1,000 requests', () => {
    expect(exactRates(0.15, 1000).fail).toBeLessThanOrEqual(0.01);
    expect(exactRates(0.25, 1000).fail).toBeLessThanOrEqual(0.01);
  });

  it('a truth just beyond an edge (14.8 %, 25.2 %) is passed at most 1 % of the time over 1,000 requests', () => {
    expect(exactRates(0.148, 1000).pass).toBeLessThanOrEqual(0.01);
    expect(exactRates(0.252, 1000).pass).toBeLessThanOrEqual(0.01);
  });

  it('has power: the true split passes within 3,000 requests in ≥ 99 % of runs (99.94 %), a truth 15 points off fails within 1,000 in ≥ 99.9 % (99.99 %)', () => {
    expect(exactRates(0.2, 3000).pass).toBeGreaterThanOrEqual(0.99);
    expect(exactRates(0.35, 1000).fail).toBeGreaterThanOrEqual(0.999);
  });
});
