// Seeded draws for calibration tests and benchmarks: counts are simulated directly, never through HTTP.
import prand from 'pure-rand';
import gammaln from '@stdlib/math-base-special-gammaln';

export interface SeededRandom {
  /** Uniform in (0, 1); a plain function (no `this`), passed around as a source of draws. */
  uniform: () => number;
  /** Successes in `trials` independent Bernoulli(p) trials (exact). */
  binomial(trials: number, p: number): number;
  /** Category counts of `trials` draws with probabilities `probs` (summing to 1). */
  multinomial(trials: number, probs: number[]): number[];
}

export function seededRandom(seed: number): SeededRandom {
  const rng = prand.xoroshiro128plus(seed);
  const uniform = () => ((rng.unsafeNext() >>> 0) + 0.5) / 4294967296;
  const binomial = (trials: number, p: number): number => {
    if (trials <= 0 || p <= 0) return 0;
    if (p >= 1) return trials;
    if (p > 0.5) return trials - binomial(trials, 1 - p);
    if (trials < 30) {
      let k = 0;
      for (let i = 0; i < trials; i++) if (uniform() < p) k++;
      return k;
    }
    return binomialByInversion(trials, p, uniform());
  };
  const multinomial = (trials: number, probs: number[]) => {
    const counts = probs.map(() => 0);
    let left = trials;
    let mass = 1;
    for (const [j, p] of probs.slice(0, -1).entries()) {
      if (left <= 0) break;
      const count = binomial(left, Math.min(1, p / mass));
      counts[j] = count;
      left -= count;
      mass -= p;
    }
    if (counts.length > 0) counts[counts.length - 1] = (counts.at(-1) ?? 0) + left;
    return counts;
  };
  return { uniform, binomial, multinomial };
}

/**
 * Inversion of the binomial CDF, visiting outcomes outward from the mode (m, m−1, m+1, m−2, …). Any fixed order of
 * the support splits [0, 1) into pieces of length pmf(k), so the draw is exact; starting at the mode makes it take
 * about one standard deviation of steps.
 */
function binomialByInversion(n: number, p: number, u: number): number {
  const q = 1 - p;
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const pmfMode = Math.exp(gammaln(n + 1) - gammaln(mode + 1) - gammaln(n - mode + 1) + mode * Math.log(p) + (n - mode) * Math.log(q));
  let left = u - pmfMode;
  if (left < 0) return mode;
  let down = mode;
  let pmfDown = pmfMode;
  let up = mode;
  let pmfUp = pmfMode;
  while (down > 0 || up < n) {
    if (down > 0) {
      pmfDown *= (down / (n - down + 1)) * (q / p);
      down--;
      left -= pmfDown;
      if (left < 0) return down;
    }
    if (up < n) {
      pmfUp *= ((n - up) / (up + 1)) * (p / q);
      up++;
      left -= pmfUp;
      if (left < 0) return up;
    }
  }
  return mode; // rounding left a sliver of probability unassigned
}
