import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/assertions/stats/simulate.ts';
import { must } from '../../src/must.ts';

describe('seeded simulation draws', () => {
  it('are reproducible for a seed', () => {
    const a = seededRandom(5);
    const b = seededRandom(5);
    expect([a.binomial(2000, 0.2), a.uniform(), a.multinomial(100, [0.5, 0.3, 0.2])]).toEqual([
      b.binomial(2000, 0.2),
      b.uniform(),
      b.multinomial(100, [0.5, 0.3, 0.2]),
    ]);
  });

  it('binomial draws have the right mean and variance (n = 2,000, p = 0.2 and p = 0.9; n = 20)', () => {
    for (const [n, p] of [
      [2000, 0.2],
      [2000, 0.9],
      [20, 0.3],
      [100000, 0.001],
    ] as const) {
      const rng = seededRandom(n);
      const draws = Array.from({ length: 20000 }, () => rng.binomial(n, p));
      const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
      const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / (draws.length - 1);
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(mean - n * p)).toBeLessThan((5 * sd) / Math.sqrt(draws.length));
      expect(variance / (sd * sd)).toBeGreaterThan(0.95);
      expect(variance / (sd * sd)).toBeLessThan(1.05);
    }
  });

  it('binomial tail probabilities match the exact distribution (n = 200, p = 0.25: P(X ≥ 62) = 0.03232)', () => {
    const rng = seededRandom(9);
    let tail = 0;
    const sims = 100000;
    for (let i = 0; i < sims; i++) if (rng.binomial(200, 0.25) >= 62) tail++;
    // Exact by summing the pmf (Python: sum(comb(200,k)*.25**k*.75**(200-k) for k in range(62,201)) = 0.032319);
    // Monte Carlo standard error ≈ 0.00056, so 3 standard errors is 0.0017.
    expect(Math.abs(tail / sims - 0.032319)).toBeLessThan(0.0017);
  });

  it('multinomial counts add up and follow the probabilities', () => {
    const rng = seededRandom(3);
    const totals = [0, 0, 0];
    for (let i = 0; i < 1000; i++) {
      const c = rng.multinomial(1000, [0.5, 0.3, 0.2]);
      expect(c).toHaveLength(3);
      expect(c.reduce((s, x) => s + x, 0)).toBe(1000);
      c.forEach((x, j) => (totals[j] = (totals[j] ?? 0) + x));
    }
    expect(must(totals[0], 'totals[0]') / 1e6).toBeCloseTo(0.5, 2);
    expect(must(totals[1], 'totals[1]') / 1e6).toBeCloseTo(0.3, 2);
    expect(must(totals[2], 'totals[2]') / 1e6).toBeCloseTo(0.2, 2);
  });
});
