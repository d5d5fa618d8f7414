// Calibration of the distribution judge: with a known truth, how often does it pass a split that is wrong (false
// pass) or fail a split that is right (false fail)? Both must stay at or below α = 1 − confidence, for a single
// look and under sequential stopping. Counts are simulated directly (seeded multinomial draws).
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/assertions/index.ts';
import type { Verdict } from '../../src/assertions/verdict.ts';
import { FakeObservation } from './fake-observation.ts';
import { contextOf, expectation } from './context.ts';
import { growCounts, rates, sequentially, SIMS } from './calibration-helpers.ts';

const LABEL = 'reviews.version';

function observe(names: string[], counts: number[]): FakeObservation {
  return FakeObservation.fromCounts(names.map((name, i) => [{ [LABEL]: name }, counts[i] ?? 0]));
}

function distribution(weights: Record<string, number>, confidence = 0.99, tolerance = 5) {
  return expectation({ kind: 'distribution', of: LABEL, weights, tolerance, confidence });
}

/** One fixed-size sample per simulation. */
function fixedSample(weights: Record<string, number>, names: string[], truth: number[], n: number, confidence = 0.99, seed = 1) {
  const e = distribution(weights, confidence);
  return rates(seed, SIMS, (rng) => ({ outcome: judge(e, contextOf(observe(names, rng.multinomial(n, truth)))).outcome, requests: n }));
}

/** Looks every `every` requests up to `budget`, stopping at the first conclusive verdict. */
function sequentialRuns(
  weights: Record<string, number>,
  names: string[],
  truth: number[],
  options: { every: number; budget: number; confidence?: number; anytime?: boolean; seed?: number },
) {
  const e = distribution(weights, options.confidence ?? 0.99);
  const anytime = options.anytime ?? true;
  return rates(options.seed ?? 7, SIMS, (rng) =>
    sequentially(
      rng,
      options,
      names.map(() => 0),
      growCounts(truth),
      (counts, looks, final): Verdict => judge(e, contextOf(observe(names, counts), anytime ? { sequential: { looks, final } } : {})),
    ),
  );
}

const split = { v1: 80, v3: 20 };
const names = ['v1', 'v3'];

describe('distribution calibration, one look at 2,000 requests, 99 %', () => {
  it('a split exactly on the edge of the band (v3 at 25 %) is failed at most 1 % of the time', () => {
    const r = fixedSample(split, names, [0.75, 0.25], 2000);
    expect(r.fail).toBeLessThanOrEqual(0.01);
  });

  it('a split just outside the band (v3 at 25.1 %) is passed at most 1 % of the time', () => {
    const r = fixedSample(split, names, [0.749, 0.251], 2000);
    expect(r.pass).toBeLessThanOrEqual(0.01);
  });

  it('the true split (80/20) passes nearly always and never fails; a 70/30 split fails nearly always and never passes', () => {
    const right = fixedSample(split, names, [0.8, 0.2], 2000);
    expect(right.fail).toBe(0);
    expect(right.pass).toBeGreaterThanOrEqual(0.99);
    const wrong = fixedSample(split, names, [0.7, 0.3], 2000);
    expect(wrong.pass).toBe(0);
    expect(wrong.fail).toBeGreaterThanOrEqual(0.9);
  });

  it('three categories: with two of them on their edges, simultaneous (Bonferroni) intervals keep false fails ≤ α (at 90 % for a sharp check)', () => {
    const r = fixedSample({ v1: 50, v2: 30, v3: 20 }, ['v1', 'v2', 'v3'], [0.45, 0.35, 0.2], 1000, 0.9);
    expect(r.fail).toBeLessThanOrEqual(0.1);
  });

  it('three categories: one just outside its band is passed at most α of the time (at 90 %)', () => {
    const r = fixedSample({ v1: 50, v2: 30, v3: 20 }, ['v1', 'v2', 'v3'], [0.5, 0.252, 0.248], 1000, 0.9);
    expect(r.pass).toBeLessThanOrEqual(0.1);
  });

  it('a category that is not expected fails the check as soon as it shows up, and only then', () => {
    const e = distribution(split);
    const present = rates(3, SIMS, (rng) => {
      const counts = rng.multinomial(2000, [0.795, 0.2, 0.005]);
      return { outcome: judge(e, contextOf(observe(['v1', 'v3', 'v2'], counts))).outcome, requests: 2000 };
    });
    expect(present.fail).toBeGreaterThanOrEqual(0.99); // P(no v2 in 2,000 at 0.5 %) = 0.995^2000 ≈ 4e-5
    const absent = fixedSample(split, names, [0.8, 0.2], 2000);
    expect(absent.fail).toBe(0);
  });
});

describe('distribution calibration under sequential stopping (looks every 100 requests up to 1,500)', () => {
  const options = { every: 100, budget: 1500 };

  it('anytime intervals: a split on the edge of the band is failed at most 1 % of the time', () => {
    const r = sequentialRuns(split, names, [0.75, 0.25], options);
    expect(r.fail).toBeLessThanOrEqual(0.01);
  });

  it('anytime intervals: a split just outside the band is passed at most 1 % of the time', () => {
    const r = sequentialRuns(split, names, [0.749, 0.251], options);
    expect(r.pass).toBeLessThanOrEqual(0.01);
  });

  it('peeking with single-look intervals breaks the error rate; anytime intervals keep it (90 %, edge truth)', () => {
    const naive = sequentialRuns(split, names, [0.75, 0.25], { ...options, confidence: 0.9, anytime: false });
    const anytime = sequentialRuns(split, names, [0.75, 0.25], { ...options, confidence: 0.9 });
    expect(naive.fail).toBeGreaterThan(0.1);
    expect(anytime.fail).toBeLessThanOrEqual(0.1);
  });

  it('stops early when the truth is clear: 50/50 against 80/20 fails within a few hundred requests', () => {
    const r = sequentialRuns(split, names, [0.5, 0.5], options);
    expect(r.fail).toBe(1);
    expect(r.meanRequests).toBeLessThan(300);
  });
});
