import { describe, expect, it } from 'vitest';
import { pickRequest, requestId, uniformAt } from '../../src/load/rotation.ts';

describe('request rotation', () => {
  it('is a pure function of (seed, n)', () => {
    expect(uniformAt(42, 1000)).toBe(uniformAt(42, 1000));
    expect(uniformAt(42, 1000)).not.toBe(uniformAt(43, 1000));
    expect(pickRequest([1, 1, 1], 7, 5)).toBe(pickRequest([1, 1, 1], 7, 5));
    expect(requestId(7, 12)).toBe('mp-7-12');
  });

  it('draws uniform numbers in [0, 1) whose moments match (seeded, so deterministic)', () => {
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = uniformAt(12345, i);
      sum += u;
      sumSq += u * u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    // mean 1/2 with sd sqrt(1/12/n) = 0.00065; variance 1/12
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(sumSq / n - (sum / n) ** 2).toBeCloseTo(1 / 12, 3);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
  });

  it('picks requests in proportion to their weights (chi-square, 2 degrees of freedom, p > 0.001)', () => {
    const weights = [70, 20, 10];
    const n = 50_000;
    const counts = [0, 0, 0];
    for (let i = 0; i < n; i++) counts[pickRequest(weights, 99, i)]!++;
    const chi2 = counts.reduce((acc, c, i) => acc + (c - (n * weights[i]!) / 100) ** 2 / ((n * weights[i]!) / 100), 0);
    expect(chi2).toBeLessThan(13.82); // 0.999 quantile of chi-square with 2 degrees of freedom
  });

  it('always picks the only request, and never a zero-weight one', () => {
    for (let i = 0; i < 1000; i++) expect(pickRequest([5], 1, i)).toBe(0);
    for (let i = 0; i < 1000; i++) expect(pickRequest([1, 0, 1], 1, i)).not.toBe(1);
  });
});
