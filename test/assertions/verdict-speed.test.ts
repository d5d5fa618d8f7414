// The time-to-verdict benchmark's arithmetic (the benchmark itself runs in `npm run bench`).
import { describe, expect, it } from 'vitest';
import { fixedSampleSize, measureTimeToVerdict, probabilityOf, waldBound } from '../../bench/verdict-speed.ts';

describe('time to verdict', () => {
  const band = { lower: 0.15, upper: 0.25 };

  it('finds the smallest fixed sample size (to 10 requests) that reaches the right verdict with probability ≥ 99 %', () => {
    const n = fixedSampleSize((m) => probabilityOf('fail', m, 0.3, band, 0.99), 0.99);
    expect(probabilityOf('fail', n, 0.3, band, 0.99)).toBeGreaterThanOrEqual(0.99);
    expect(probabilityOf('fail', n - 40, 0.3, band, 0.99)).toBeLessThan(0.99);
    // Normal approximation for comparison: (z.995 + z.99)² · 0.21 / 0.05² ≈ 2,018.
    expect(n).toBeGreaterThan(1700);
    expect(n).toBeLessThan(2100);
  });

  it("computes Wald's bound: ln(99)·0.99 − … over KL(0.3 ‖ 0.25)", () => {
    const kl = 0.3 * Math.log(0.3 / 0.25) + 0.7 * Math.log(0.7 / 0.75);
    expect(waldBound(0.3, 0.25, 0.01, 0.01)).toBeCloseTo((0.99 * Math.log(99) + 0.01 * Math.log(0.01 / 0.99)) / kl, 9);
  });

  it('reports sequential runs that reach the right verdict, with fewer requests than the fixed design', () => {
    const r = measureTimeToVerdict({ sims: 40, seed: 5 });
    // Error rates are checked by the calibration suites; here: every run ends conclusive, nearly always right.
    expect(r.sequential.truth8020.inconclusive).toBe(0);
    expect(r.sequential.truth8020.pass).toBeGreaterThanOrEqual(0.95);
    expect(r.sequential.truth7030.fail).toBeGreaterThanOrEqual(0.95);
    expect(r.fixed.n).toBe(Math.max(r.fixed.n8020, r.fixed.n7030));
    expect(r.ratio.average).toBeGreaterThan(1);
    expect(r.sequential.truth8020.meanRequests).toBeGreaterThan(r.waldBound.truth8020);
  });
});
