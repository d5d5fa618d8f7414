// Anytime-valid confidence sequences for a binomial proportion (sequential mode).
//
// Method: a mixture likelihood-ratio martingale (Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021,
// "Time-uniform, nonparametric, nonasymptotic confidence sequences"). For a candidate proportion p and a mixing
// distribution π over alternatives q fixed before the data are seen, after x successes in n trials
//     M_n(p) = ∫ q^x (1 − q)^(n − x) dπ(q)  /  (p^x (1 − p)^(n − x))
// is a nonnegative martingale with mean 1 when p is the truth. Ville's inequality gives
// P_p(∃ n: M_n(p) ≥ 1/α) ≤ α, so { p : M_n(p) < 1/α } contains the true proportion at every n simultaneously
// with probability ≥ 1 − α: the data may be looked at after every request and load may stop whenever the
// verdict is conclusive, without inflating the error rates.
//
// π is a mixture of point masses and a Beta component. Any π fixed in advance is valid; a π that puts mass where
// the verdict is decided (the expected value, and one tolerance beyond each edge of the accepted band) reaches
// those decisions sooner, in the way Wald's sequential probability ratio test does, while the Beta component
// keeps the sequence shrinking around whatever the truth turns out to be.
import betaln from '@stdlib/math-base-special-betaln';
import { checkCounts, type Interval } from './proportion.ts';
import type { Band } from './band.ts';

export interface MixturePrior {
  /** Point masses: alternative proportion q (0..1) with weight w. */
  points: { q: number; w: number }[];
  /** A Beta(a, b) component with weight w. */
  beta?: { a: number; b: number; w: number };
}

/** log M_n(p): the log mixture likelihood ratio against the point proportion p. */
export function logMixtureRatio(successes: number, trials: number, p: number, prior: MixturePrior): number {
  return logMarginalLikelihood(successes, trials, prior) - logBernoulliLikelihood(successes, trials - successes, p);
}

/** log ∫ q^x (1 − q)^(n − x) dπ(q): the numerator of M_n, the same for every candidate p. */
export function logMarginalLikelihood(successes: number, trials: number, prior: MixturePrior): number {
  const failures = trials - successes;
  const terms: number[] = [];
  for (const { q, w } of prior.points) {
    if (w <= 0) continue;
    const logLikelihood = logBernoulliLikelihood(successes, failures, q);
    if (logLikelihood > -Infinity) terms.push(Math.log(w) + logLikelihood);
  }
  if (prior.beta && prior.beta.w > 0) {
    const { a, b, w } = prior.beta;
    terms.push(Math.log(w) + betaln(a + successes, b + failures) - betaln(a, b));
  }
  return logSumExp(terms);
}

function logBernoulliLikelihood(successes: number, failures: number, q: number): number {
  const s = successes > 0 ? successes * Math.log(q) : 0;
  const f = failures > 0 ? failures * Math.log1p(-q) : 0;
  return s + f;
}

function logSumExp(terms: number[]): number {
  const max = Math.max(...terms);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return max + Math.log(sum);
}

/**
 * The confidence sequence at level `confidence`, evaluated after `successes` of `trials`. M_n(p) is convex in p
 * (a weighted sum of exponentials of convex functions of p) and at most 1 at the observed share, so the set is
 * an interval around the observed share and each end is found by bisection.
 */
export function mixtureConfidenceSequence(
  successes: number,
  trials: number,
  confidence: number,
  prior: MixturePrior,
): Interval {
  checkCounts(successes, trials);
  if (trials === 0) return [0, 1];
  const failures = trials - successes;
  // Excluded when log M_n(p) ≥ log(1/α), i.e. when the likelihood at p falls below marginal · α.
  const floor = logMarginalLikelihood(successes, trials, prior) - Math.log(1 / (1 - confidence));
  const excluded = (p: number) => p <= 0 || p >= 1 || logBernoulliLikelihood(successes, failures, p) <= floor;
  const share = successes / trials;
  const lower = successes === 0 ? 0 : bisect(excluded, 0, share);
  const upper = successes === trials ? 1 : bisect(excluded, 1, share);
  return [lower, upper];
}

/** The boundary between `outside` (excluded) and `inside` (not excluded), to 1e-10; returns the excluded side. */
function bisect(excluded: (p: number) => boolean, outside: number, inside: number): number {
  let out = outside;
  let inn = inside;
  for (let i = 0; i < 64 && Math.abs(inn - out) > 1e-10; i++) {
    const mid = (out + inn) / 2;
    if (excluded(mid)) out = mid;
    else inn = mid;
  }
  return out;
}

/**
 * The mixing distribution for judging a share against `band`: most of its mass on the points where the verdict is
 * decided — inside: the middle of the band (for a one-sided band: 0 or 1 and the point halfway to the edge);
 * beyond: one band half-width past each edge (a miss worth detecting) — and the rest on a uniform Beta(1, 1), so
 * the sequence also closes in on truths far from those points. Depends only on the expectation, never on the data.
 */
export function priorForBand(band: Band): MixturePrior {
  const lower = band.lower !== undefined && band.lower > 0 ? band.lower : undefined;
  const upper = band.upper !== undefined && band.upper < 1 ? band.upper : undefined;
  const inside: number[] = [];
  const beyond: number[] = [];
  if (lower !== undefined && upper !== undefined) {
    const half = (upper - lower) / 2;
    inside.push(lower + half);
    beyond.push(lower - Math.max(half, MIN_MARGIN), upper + Math.max(half, MIN_MARGIN));
  } else if (upper !== undefined) {
    inside.push(0, upper / 2);
    beyond.push(upper + Math.max(upper / 2, MIN_MARGIN));
  } else if (lower !== undefined) {
    inside.push(1, (1 + lower) / 2);
    beyond.push(lower - Math.max((1 - lower) / 2, MIN_MARGIN));
  } else {
    inside.push(0.5);
  }
  const points = [
    ...inside.map((q) => ({ q, w: INSIDE_WEIGHT / inside.length })),
    ...beyond.filter((q) => q > 0 && q < 1).map((q) => ({ q, w: BEYOND_WEIGHT / beyond.length })),
  ];
  const pointMass = points.reduce((s, p) => s + p.w, 0);
  return { points, beta: { a: 1, b: 1, w: 1 - pointMass } };
}

const MIN_MARGIN = 0.005;
/** Mixture weights (tuned with bench/verdict-speed.ts; validity does not depend on them). */
export const INSIDE_WEIGHT = 0.4;
export const BEYOND_WEIGHT = 0.4;
