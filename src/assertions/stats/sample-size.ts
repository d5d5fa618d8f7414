// How many requests a share needs before its verdict is likely to be conclusive: for `validate` (is the planned load
// big enough?) and for inconclusive verdicts (about how many more would decide it?).
//
// A verdict is conclusive when the interval lies wholly inside the band (pass) or wholly outside it (fail). With n
// requests and a true share p, the number of successes k is Binomial(n, p), and the intervals' ends grow with k, so the
// conclusive k form at most three runs: [0, a] below the band, [b, c] inside it, [d, n] above it. The chance of a
// conclusive verdict is the binomial probability of those runs, exact for the interval meshproof will compute
// (Clopper–Pearson, or the anytime sequence in sequential mode, at the Bonferroni-adjusted level).
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import { clipBand, type Band } from './band.ts';
import { shareInterval, type ShareIntervalOptions } from './share.ts';

export type SampleOptions = Omit<ShareIntervalOptions, 'band'>;

/** The largest request count searched; beyond it a plan is "not within any practical load". */
export const SAMPLE_LIMIT = 10_000_000;

/** Probability that `n` requests give a conclusive verdict for a share whose truth is `truth`. */
export function chanceConclusive(truth: number, n: number, band: Band, options: SampleOptions): number {
  if (n <= 0) return 0;
  const clipped = clipBand(band, 0, 1);
  const intervalOptions = { ...options, band: clipped };
  // The four searches below start at the same midpoints: each k's interval is computed once.
  const known = new Map<number, readonly [number, number]>();
  const interval = (k: number) => {
    let found = known.get(k);
    if (!found) known.set(k, (found = shareInterval(k, n, intervalOptions).interval));
    return found;
  };
  const cdf = (k: number) => (k < 0 ? 0 : k >= n ? 1 : binomialCdf(k, n, truth));
  let chance = 0;
  const { lower, upper } = clipped;
  // Below the band: the interval's upper end < lower, for k in [0, a].
  if (lower !== undefined) {
    const a = lastTrue(0, n, (k) => interval(k)[1] < lower);
    if (a >= 0) chance += cdf(a);
  }
  // Above the band: the lower end > upper, for k in [d, n].
  if (upper !== undefined) {
    const d = firstTrue(0, n, (k) => interval(k)[0] > upper);
    if (d <= n) chance += 1 - cdf(d - 1);
  }
  // Inside: lower ≤ the lower end and the upper end ≤ upper, for k in [b, c].
  const b = lower === undefined ? 0 : firstTrue(0, n, (k) => interval(k)[0] >= lower);
  const c = upper === undefined ? n : lastTrue(0, n, (k) => interval(k)[1] <= upper);
  if (b <= c) chance += cdf(c) - cdf(b - 1);
  return Math.min(1, Math.max(0, chance));
}

/**
 * The smallest request count at which a verdict on a share whose truth is `truth` is conclusive with probability at
 * least `chance`; undefined when no count up to SAMPLE_LIMIT reaches it (a truth on the band's edge never decides).
 * The chance grows with n apart from small saw-teeth of the discrete binomial, so the search is exponential, then
 * binary: the answer is within a few requests of the exact first crossing.
 */
export function requestsFor(truth: number, band: Band, options: SampleOptions, chance = 0.9): number | undefined {
  const enough = (n: number) => chanceConclusive(truth, n, band, options) >= chance;
  let high = 8;
  while (!enough(high)) {
    if (high >= SAMPLE_LIMIT) return undefined;
    high = Math.min(SAMPLE_LIMIT, high * 2);
  }
  let low = Math.floor(high / 2);
  if (low < 1 || enough(low)) return low < 1 ? high : firstTrue(1, low, enough);
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (enough(mid)) high = mid;
    else low = mid;
  }
  return high;
}

/** The first k in [from, to] with test(k) true, for a test that turns true once and stays; to + 1 when never. */
function firstTrue(from: number, to: number, test: (k: number) => boolean): number {
  let low = from;
  let high = to + 1;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (test(mid)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The last k in [from, to] with test(k) true, for a test that is true up to a point; from − 1 when never. */
function lastTrue(from: number, to: number, test: (k: number) => boolean): number {
  return firstTrue(from, to, (k) => !test(k)) - 1;
}
