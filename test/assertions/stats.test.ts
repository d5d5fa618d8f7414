import { describe, expect, it } from 'vitest';
import { clopperPearson } from '../../src/assertions/stats/proportion.ts';
import { logMixtureRatio, mixtureConfidenceSequence, priorForBand } from '../../src/assertions/stats/confidence-sequence.ts';
import { chiSquareGoodnessOfFit } from '../../src/assertions/stats/goodness-of-fit.ts';
import { bandOf, placeInterval } from '../../src/assertions/stats/band.ts';
import { formatCount, formatMs, formatPValue, formatShareWithInterval, percentDecimals } from '../../src/assertions/stats/format.ts';

describe('Clopper–Pearson interval', () => {
  it('matches closed forms at the edges: x = 0 gives [0, 1 − (α/2)^(1/n)], x = n gives [(α/2)^(1/n), 1]', () => {
    const [lo0, hi0] = clopperPearson(0, 10, 0.95);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(1 - 0.025 ** (1 / 10), 10);
    const [lo10, hi10] = clopperPearson(10, 10, 0.95);
    expect(lo10).toBeCloseTo(0.025 ** (1 / 10), 10);
    expect(hi10).toBe(1);
  });

  it('matches published values (5 of 10 at 95 %: 0.1871–0.8129)', () => {
    const [lo, hi] = clopperPearson(5, 10, 0.95);
    expect(lo).toBeCloseTo(0.18709, 4);
    expect(hi).toBeCloseTo(0.81291, 4);
  });

  it('is symmetric: the interval of n − x is the mirror of the interval of x', () => {
    const [lo, hi] = clopperPearson(388, 2000, 0.99);
    const [lo2, hi2] = clopperPearson(1612, 2000, 0.99);
    expect(lo2).toBeCloseTo(1 - hi, 12);
    expect(hi2).toBeCloseTo(1 - lo, 12);
  });

  it('gives [0, 1] without trials and refuses impossible counts', () => {
    expect(clopperPearson(0, 0, 0.99)).toEqual([0, 1]);
    expect(() => clopperPearson(3, 2, 0.99)).toThrow(RangeError);
    expect(() => clopperPearson(-1, 2, 0.99)).toThrow(RangeError);
  });
});

describe('mixture confidence sequence', () => {
  const prior = priorForBand({ lower: 0.15, upper: 0.25 });

  it('contains the observed share and is wider than the single-look interval at the same level', () => {
    for (const [x, n] of [[19, 100], [388, 2000], [0, 500], [500, 500]]) {
      const [lo, hi] = mixtureConfidenceSequence(x, n, 0.99, prior);
      const [clo, chi] = clopperPearson(x, n, 0.99);
      expect(lo).toBeLessThanOrEqual(x / n);
      expect(hi).toBeGreaterThanOrEqual(x / n);
      expect(lo).toBeLessThanOrEqual(clo + 1e-9);
      expect(hi).toBeGreaterThanOrEqual(chi - 1e-9);
    }
  });

  it('puts its ends where the mixture likelihood ratio reaches 1/α (Ville threshold)', () => {
    const [lo, hi] = mixtureConfidenceSequence(388, 2000, 0.99, prior);
    expect(logMixtureRatio(388, 2000, lo, prior)).toBeCloseTo(Math.log(100), 5);
    expect(logMixtureRatio(388, 2000, hi, prior)).toBeCloseTo(Math.log(100), 5);
    expect(logMixtureRatio(388, 2000, 0.194, prior)).toBeLessThan(0);
  });

  it('shrinks as data accumulate', () => {
    const widths = [100, 1000, 10000].map((n) => {
      const [lo, hi] = mixtureConfidenceSequence(Math.round(n * 0.2), n, 0.99, prior);
      return hi - lo;
    });
    expect(widths[1]).toBeLessThan(widths[0]);
    expect(widths[2]).toBeLessThan(widths[1]);
    expect(widths[2]).toBeLessThan(0.03);
  });

  it('gives [0, 1] without trials', () => {
    expect(mixtureConfidenceSequence(0, 0, 0.99, prior)).toEqual([0, 1]);
  });

  it('builds its mixing distribution from the band only: total weight 1, points inside (0, 1)', () => {
    for (const band of [{ lower: 0.15, upper: 0.25 }, { upper: 0.01 }, { lower: 0.99 }, {}]) {
      const p = priorForBand(band);
      const total = p.points.reduce((s, x) => s + x.w, 0) + (p.beta?.w ?? 0);
      expect(total).toBeCloseTo(1, 12);
      for (const { q } of p.points) expect(q).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('goodness of fit', () => {
  it('computes Pearson chi-square and its p-value', () => {
    // (1612 − 1600)²/1600 + (388 − 400)²/400 = 0.09 + 0.36 = 0.45, 1 df → p = 0.5023
    const fit = chiSquareGoodnessOfFit(new Map([['v1', 1612], ['v3', 388]]), { v1: 80, v3: 20 })!;
    expect(fit.statistic).toBeCloseTo(0.45, 10);
    expect(fit.degreesOfFreedom).toBe(1);
    expect(fit.pValue).toBeCloseTo(0.50233, 4);
  });

  it('gives p = 0 when a category with no weight was observed, and nothing to test without data', () => {
    expect(chiSquareGoodnessOfFit(new Map([['v1', 10], ['v2', 1]]), { v1: 50, v3: 50 })!.pValue).toBe(0);
    expect(chiSquareGoodnessOfFit(new Map(), { v1: 50, v3: 50 })).toBeUndefined();
    expect(chiSquareGoodnessOfFit(new Map([['v3', 5]]), { v3: 100 })).toBeUndefined();
  });
});

describe('bands', () => {
  it('turns min / max / approx ± tolerance into a band, narrowing approx by min/max', () => {
    expect(bandOf({ max: 0.01 }, 0.05)).toEqual({ lower: undefined, upper: 0.01 });
    expect(bandOf({ approx: 0.2 }, 0.05)).toEqual({ lower: 0.2 - 0.05, upper: 0.2 + 0.05 });
    expect(bandOf({ approx: 0.2, tolerance: 0.1, min: 0.15 }, 0.05)).toEqual({ lower: 0.15, upper: 0.2 + 0.1 });
  });

  it('places intervals: inside, wholly outside, or crossing an edge', () => {
    const band = { lower: 0.15, upper: 0.25 };
    expect(placeInterval([0.17, 0.22], band)).toBe('inside');
    expect(placeInterval([0.26, 0.3], band)).toBe('above');
    expect(placeInterval([0.05, 0.14], band)).toBe('below');
    expect(placeInterval([0.2, 0.27], band)).toBe('straddles-upper');
    expect(placeInterval([0.1, 0.2], band)).toBe('straddles-lower');
    expect(placeInterval([0.1, 0.3], band)).toBe('straddles-both');
  });
});

describe('number formatting', () => {
  it('writes counts with thousands separators', () => {
    expect(formatCount(2000)).toBe('2,000');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(-1500)).toBe('-1,500');
    expect(formatCount(999)).toBe('999');
  });

  it('writes shares with one decimal, more only near 0 or 100 %', () => {
    expect(formatShareWithInterval(0.194, [0.179, 0.21], '99 % interval')).toBe('19.4 % (99 % interval 17.9–21.0 %)');
    expect(percentDecimals(0.0004)).toBe(2);
    expect(percentDecimals(0.00004)).toBe(3);
    expect(percentDecimals(0, [0, 0.00046])).toBe(2);
  });

  it('writes durations and p-values', () => {
    expect(formatMs(412.3)).toBe('412 ms');
    expect(formatMs(3.42)).toBe('3.4 ms');
    expect(formatMs(7012)).toBe('7.01 s');
    expect(formatMs(60000)).toBe('60 s');
    expect(formatPValue(0.50233)).toBe('0.5');
    expect(formatPValue(0.000001)).toBe('< 0.0001');
  });
});
