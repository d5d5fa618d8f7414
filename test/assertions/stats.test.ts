import { describe, expect, it } from 'vitest';
import { clopperPearson } from '../../src/assertions/stats/proportion.ts';
import {
  logMixtureRatio,
  mixtureConfidenceSequence,
  priorForBand,
  regionalConfidenceSequence,
  WEIGHTS,
} from '../../src/assertions/stats/confidence-sequence.ts';
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

describe('regional mixture confidence sequence', () => {
  const band = { lower: 0.15, upper: 0.25 };
  const regional = priorForBand(band);
  const [below, lowerHalf, upperHalf, above] = regional.regions;

  it('contains the observed share and is wider than the single-look interval at the same level', () => {
    for (const [x, n] of [
      [19, 100],
      [388, 2000],
      [0, 500],
      [500, 500],
    ] as const) {
      const [lo, hi] = regionalConfidenceSequence(x, n, 0.99, regional);
      const [clo, chi] = clopperPearson(x, n, 0.99);
      expect(lo).toBeLessThanOrEqual(x / n);
      expect(hi).toBeGreaterThanOrEqual(x / n);
      expect(lo).toBeLessThanOrEqual(clo + 1e-9);
      expect(hi).toBeGreaterThanOrEqual(chi - 1e-9);
    }
  });

  it('puts each end where the mixture of its own region reaches 1/α (Ville threshold)', () => {
    // 38 of 200 (19 %): both ends lie outside the band, each tested with the mixture that bets on the band.
    const [lo, hi] = regionalConfidenceSequence(38, 200, 0.99, regional);
    expect(lo).toBeLessThan(0.15);
    expect(hi).toBeGreaterThan(0.25);
    expect(logMixtureRatio(38, 200, lo, below!.prior)).toBeCloseTo(Math.log(100), 5);
    expect(logMixtureRatio(38, 200, hi, above!.prior)).toBeCloseTo(Math.log(100), 5);
    expect(logMixtureRatio(38, 200, 0.19, below!.prior)).toBeLessThan(0);
    // 66 of 200 (33 %): the lower end lies in the band's upper half, tested with the mixture that bets past its edge.
    const [lo30] = regionalConfidenceSequence(66, 200, 0.99, regional);
    expect(lo30).toBeGreaterThan(0.2);
    expect(lo30).toBeLessThan(0.25);
    expect(logMixtureRatio(66, 200, lo30, upperHalf!.prior)).toBeCloseTo(Math.log(100), 5);
  });

  it('tests candidates outside the band against the band, leaning toward their edge, and each half of the band against what lies past its own edge', () => {
    const qs = (r: typeof below) => r!.prior.points.map((p) => p.q);
    expect(qs(below)).toEqual([0.2, 0.19, 0.18].map((q) => expect.closeTo(q, 12)));
    expect(qs(above)).toEqual([0.2, 0.21, 0.22].map((q) => expect.closeTo(q, 12)));
    expect(below!.prior.uniforms).toEqual([{ a: 0.15, b: 0.25, w: WEIGHTS.onBand.uniform }]);
    // The upper half: one half-width is the margin; 95 % of the weight above the band, 5 % below it.
    expect(qs(upperHalf)).toEqual([0.275, 0.3, 0.35, 0.125, 0.1, 0.05].map((q) => expect.closeTo(q, 12)));
    const weightAbove = upperHalf!.prior.points.filter((p) => p.q > 0.25).reduce((sum, p) => sum + p.w, 0);
    expect(weightAbove + WEIGHTS.pastEdge.uniform.w * WEIGHTS.pastEdge.nearSide).toBeCloseTo(WEIGHTS.pastEdge.nearSide, 12);
    expect(qs(lowerHalf)).toEqual([0.125, 0.1, 0.05, 0.275, 0.3, 0.35].map((q) => expect.closeTo(q, 12)));
    expect(below).toMatchObject({ from: 0, to: 0.15, openTo: true });
    expect(lowerHalf).toMatchObject({ from: 0.15, to: 0.2, openFrom: false, openTo: true });
    expect(upperHalf).toMatchObject({ from: 0.2, to: 0.25, openFrom: false, openTo: false });
    expect(above).toMatchObject({ from: 0.25, to: 1, openFrom: true });
  });

  it('keeps every alternative inside (0, 1) next to 0 or 1: the margin past an edge shrinks to a third of the room left', () => {
    const { regions } = priorForBand({ lower: 0.9, upper: 0.99 });
    const upperSide = regions[2]!.prior.points.filter((p) => p.q > 0.99).map((p) => p.q);
    expect(upperSide).toEqual([0.99 + 0.01 / 6, 0.99 + 0.01 / 3, 0.99 + 0.02 / 3].map((q) => expect.closeTo(q, 12)));
  });

  it('places an interval that only reaches an open region boundary outside the band (a fail, not a straddle)', () => {
    // 350 of 1000: the band's own candidates are all rejected; the region above begins just past 25 %.
    const [lo] = regionalConfidenceSequence(350, 1000, 0.99, regional);
    expect(lo).toBeGreaterThan(0.25);
  });

  it('rejects everything outside the band sooner than one mixture for every candidate (the point of regions)', () => {
    // meshproof's earlier single mixture: 40 % on the middle, 20 % one half-width past each edge, 20 % Beta(1, 1).
    const single = {
      points: [
        { q: 0.2, w: 0.4 },
        { q: 0.1, w: 0.2 },
        { q: 0.3, w: 0.2 },
      ],
      beta: { a: 1, b: 1, w: 0.2 },
    };
    const inside = ([lo, hi]: [number, number]) => lo >= 0.15 && hi <= 0.25;
    const firstPass = (interval: (x: number, n: number) => [number, number]) => {
      for (let n = 50; n <= 5000; n += 10) if (inside(interval(n / 5, n))) return n;
      return Infinity;
    };
    const regionalFirst = firstPass((x, n) => regionalConfidenceSequence(x, n, 0.99, regional));
    const singleFirst = firstPass((x, n) => mixtureConfidenceSequence(x, n, 0.99, single));
    expect(regionalFirst).toBeLessThan(singleFirst);
  });

  it('shrinks as data accumulate', () => {
    const widths = [100, 1000, 10000].map((n) => {
      const [lo, hi] = regionalConfidenceSequence(Math.round(n * 0.2), n, 0.99, regional);
      return hi - lo;
    });
    expect(widths[1]).toBeLessThan(widths[0]!);
    expect(widths[2]).toBeLessThan(widths[1]!);
    // Inside the band the candidates are tested by mixtures that bet past its edges: it narrows there more slowly
    // than a single-look interval (0.021 wide at 10,000), which is the price of deciding sooner.
    expect(widths[2]).toBeLessThan(0.04);
  });

  it('gives [0, 1] without trials', () => {
    expect(regionalConfidenceSequence(0, 0, 0.99, regional)).toEqual([0, 1]);
    expect(mixtureConfidenceSequence(0, 0, 0.99, below!.prior)).toEqual([0, 1]);
  });

  it('builds its mixing distributions from the band only: regions cover [0, 1] in order, each mixture weighs 1', () => {
    for (const b of [{ lower: 0.15, upper: 0.25 }, { upper: 0.01 }, { lower: 0.99 }, {}, { lower: 0, upper: 0.5 }]) {
      const { regions } = priorForBand(b);
      expect(regions[0]!.from).toBe(0);
      expect(regions.at(-1)!.to).toBe(1);
      for (let i = 1; i < regions.length; i++) expect(regions[i]!.from).toBe(regions[i - 1]!.to);
      for (const { prior } of regions) {
        const total = prior.points.reduce((s, x) => s + x.w, 0) + (prior.uniforms ?? []).reduce((s, u) => s + u.w, 0) + (prior.beta?.w ?? 0);
        expect(total).toBeCloseTo(1, 12);
        for (const { q } of prior.points) expect(q).toBeGreaterThanOrEqual(0);
        for (const { a, b: end } of prior.uniforms ?? []) expect(0 <= a && a < end && end <= 1).toBe(true);
      }
    }
  });

  it('a uniform component equals its integral computed by the midpoint rule', () => {
    const prior = { points: [], uniforms: [{ a: 0.15, b: 0.25, w: 1 }] };
    const x = 40;
    const n = 200;
    let sum = 0;
    const steps = 20000;
    for (let i = 0; i < steps; i++) {
      const q = 0.15 + ((i + 0.5) / steps) * 0.1;
      sum += Math.exp(x * Math.log(q) + (n - x) * Math.log1p(-q));
    }
    const numeric = Math.log(sum / steps);
    expect(logMixtureRatio(x, n, 0.5, prior) + (x * Math.log(0.5) + (n - x) * Math.log(0.5))).toBeCloseTo(numeric, 6);
  });
});

describe('goodness of fit', () => {
  it('computes Pearson chi-square and its p-value', () => {
    // (1612 − 1600)²/1600 + (388 − 400)²/400 = 0.09 + 0.36 = 0.45, 1 df → p = 0.5023
    const fit = chiSquareGoodnessOfFit(
      new Map([
        ['v1', 1612],
        ['v3', 388],
      ]),
      { v1: 80, v3: 20 },
    )!;
    expect(fit.statistic).toBeCloseTo(0.45, 10);
    expect(fit.degreesOfFreedom).toBe(1);
    expect(fit.pValue).toBeCloseTo(0.50233, 4);
  });

  it('gives p = 0 when a category with no weight was observed, and nothing to test without data', () => {
    expect(
      chiSquareGoodnessOfFit(
        new Map([
          ['v1', 10],
          ['v2', 1],
        ]),
        { v1: 50, v3: 50 },
      )!.pValue,
    ).toBe(0);
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
