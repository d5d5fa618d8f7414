// Anytime-valid confidence sequences for a binomial proportion (sequential mode).
//
// Method: mixture likelihood-ratio martingales (Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021,
// "Time-uniform, nonparametric, nonasymptotic confidence sequences"). For a candidate proportion p and a mixing
// distribution π_p over alternatives q fixed before the data are seen, after x successes in n trials
//     M_n(p) = ∫ q^x (1 − q)^(n − x) dπ_p(q)  /  (p^x (1 − p)^(n − x))
// is a nonnegative martingale with mean 1 when p is the truth. Ville's inequality gives
// P_p(∃ n: M_n(p) ≥ 1/α) ≤ α, so { p : M_n(p) < 1/α } contains the true proportion at every n simultaneously
// with probability ≥ 1 − α: the data may be looked at after every request and load may stop whenever the
// verdict is conclusive, without inflating the error rates.
//
// Each candidate p may have its own π_p (each p is its own test; the sequence is the set of the p not rejected).
// meshproof chooses π_p by where p lies relative to the accepted band — a *regional* mixture:
// - p outside the band can only be rejected on the way to a pass, when the truth is inside it: π_p bets on the band
//   (most mass on its middle, some spread uniformly over it, a little on a uniform Beta(1, 1));
// - p inside the band can only be rejected on the way to a fail, when the truth lies beyond an edge: π_p bets beyond
//   the edges (one band half-width past each, plus a uniform stretch past each, a little on Beta(1, 1)).
// A single π for every p (meshproof's earlier method) spends mass betting the wrong way for half of the candidates;
// the regional choice reaches an 80/20 ± 5 point verdict at 99 % in about 940 requests instead of 1,160 when the
// truth is 80/20 (bench/verdict-speed.ts).
//
// Betting (Waudby-Smith & Ramdas 2023, "Estimating means of bounded random variables by betting"): for binary
// outcomes every betting martingale is a likelihood ratio of predictable alternatives, constant bets are the point
// masses above and the Krichevsky–Trofimov plug-in bet is exactly the Beta(½, ½) mixture. A predictable plug-in bet
// (the running share clipped into the band for outside candidates, out of it for inside ones) was measured against
// this mixture with the same regions: slower where the verdicts are hardest (1,237 requests at 80/20, 1,168 at
// 70/30, against about 945 and 885) and faster only far from the band (71 against 86 at 55/45), because a plug-in
// pays the learning of the truth (≈ ½ ln n nats) where the mixture pays the log of one fixed weight. Betting's gains
// in that paper come from variance adaptivity for general bounded data, which a Bernoulli share does not need.
import betaln from '@stdlib/math-base-special-betaln';
import betainc from '@stdlib/math-base-special-betainc';
import { checkCounts, type Interval } from './proportion.ts';
import type { Band } from './band.ts';

export interface MixturePrior {
  /** Point masses: alternative proportion q (0..1) with weight w. */
  points: { q: number; w: number }[];
  /** Uniform components on [a, b] (0 ≤ a < b ≤ 1) with weight w. */
  uniforms?: { a: number; b: number; w: number }[];
  /** A Beta(a, b) component with weight w. */
  beta?: { a: number; b: number; w: number };
}

/** The candidates p in [from, to] (an end is excluded when open) are tested with the mixture `prior`. */
export interface PriorRegion {
  from: number;
  to: number;
  openFrom: boolean;
  openTo: boolean;
  prior: MixturePrior;
}

/** Regions covering [0, 1] without overlap, in order. */
export interface RegionalPrior {
  regions: PriorRegion[];
}

/** log M_n(p): the log mixture likelihood ratio against the point proportion p. */
export function logMixtureRatio(successes: number, trials: number, p: number, prior: MixturePrior): number {
  return logMarginalLikelihood(successes, trials, prior) - logBernoulliLikelihood(successes, trials - successes, p);
}

/** log ∫ q^x (1 − q)^(n − x) dπ(q): the numerator of M_n, the same for every candidate p tested with π. */
export function logMarginalLikelihood(successes: number, trials: number, prior: MixturePrior): number {
  const failures = trials - successes;
  const terms: number[] = [];
  for (const { q, w } of prior.points) {
    if (w <= 0) continue;
    const logLikelihood = logBernoulliLikelihood(successes, failures, q);
    if (logLikelihood > -Infinity) terms.push(Math.log(w) + logLikelihood);
  }
  for (const { a, b, w } of prior.uniforms ?? []) {
    if (w > 0 && b > a) terms.push(Math.log(w) + logUniformMarginal(successes, failures, a, b));
  }
  if (prior.beta && prior.beta.w > 0) {
    const { a, b, w } = prior.beta;
    terms.push(Math.log(w) + betaln(a + successes, b + failures) - betaln(a, b));
  }
  return logSumExp(terms);
}

/**
 * log( ∫_a^b q^x (1 − q)^f dq / (b − a) ) = log B(x + 1, f + 1) + log(I_b − I_a) − log(b − a), I the regularized
 * incomplete beta function of Beta(x + 1, f + 1). The difference is taken in whichever tail keeps it accurate.
 */
function logUniformMarginal(successes: number, failures: number, a: number, b: number): number {
  const alpha = successes + 1;
  const beta = failures + 1;
  const lowerTail = betainc(b, alpha, beta) - betainc(a, alpha, beta);
  const upperTail = betainc(a, alpha, beta, true, true) - betainc(b, alpha, beta, true, true);
  const mass = Math.max(lowerTail, upperTail);
  return mass > 0 ? betaln(alpha, beta) + Math.log(mass) - Math.log(b - a) : -Infinity;
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
 * The set { p : M_n(p) < 1/α } for one mixture π used for every p. M_n(p) is convex in p (a constant over a
 * log-likelihood that is concave in p) and at most 1 at the observed share, so the set is an interval around the
 * observed share and each end is found by bisection.
 */
export function mixtureConfidenceSequence(successes: number, trials: number, confidence: number, prior: MixturePrior): Interval {
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

/**
 * The confidence sequence with a regional mixture: in each region, the candidates its own mixture does not reject
 * (an interval, as above, cut to the region); the result is the smallest interval holding all of them. An end cut
 * at an open region boundary sits a hair inside the region, so an interval that only touches the band from outside
 * is still placed outside it.
 */
export function regionalConfidenceSequence(successes: number, trials: number, confidence: number, regional: RegionalPrior): Interval {
  checkCounts(successes, trials);
  if (trials === 0) return [0, 1];
  let lower = Infinity;
  let upper = -Infinity;
  for (const region of regional.regions) {
    const [lo, hi] = mixtureConfidenceSequence(successes, trials, confidence, region.prior);
    const from = lo < region.from ? region.from + (region.openFrom ? OPEN_EDGE : 0) : lo;
    const to = hi > region.to ? region.to - (region.openTo ? OPEN_EDGE : 0) : hi;
    if (from > to) continue;
    lower = Math.min(lower, from);
    upper = Math.max(upper, to);
  }
  return [lower, upper];
}

/** How far inside an open region boundary its cut end sits (far below any share a report shows). */
const OPEN_EDGE = 1e-9;

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
 * The regional mixing distributions for judging a share against `band` (see the top of this file). Depends only on
 * the expectation, never on the data. The points where verdicts are decided: inside — the middle of the band (for a
 * one-sided band: 0 or 1 and the point halfway to the edge); beyond — one band half-width past each edge.
 */
export function priorForBand(band: Band): RegionalPrior {
  const lower = band.lower !== undefined && band.lower > 0 ? band.lower : undefined;
  const upper = band.upper !== undefined && band.upper < 1 ? band.upper : undefined;
  if (lower === undefined && upper === undefined) {
    return { regions: [{ from: 0, to: 1, openFrom: false, openTo: false, prior: { points: [{ q: 0.5, w: 0.5 }], beta: { a: 1, b: 1, w: 0.5 } } }] };
  }
  const bandFrom = lower ?? 0;
  const bandTo = upper ?? 1;
  const inside: number[] = [];
  const beyond: { q: number; stretch: [number, number] }[] = [];
  if (lower !== undefined && upper !== undefined) {
    const half = (upper - lower) / 2;
    inside.push(lower + half);
    const margin = Math.max(half, MIN_MARGIN);
    beyond.push({ q: lower - margin, stretch: [lower - STRETCH * margin, lower] }, { q: upper + margin, stretch: [upper, upper + STRETCH * margin] });
  } else if (upper !== undefined) {
    inside.push(0, upper / 2);
    const margin = Math.max(upper / 2, MIN_MARGIN);
    beyond.push({ q: upper + margin, stretch: [upper, upper + STRETCH * margin] });
  } else if (lower !== undefined) {
    inside.push(1, (1 + lower) / 2);
    const margin = Math.max((1 - lower) / 2, MIN_MARGIN);
    beyond.push({ q: lower - margin, stretch: [lower - STRETCH * margin, lower] });
  }
  const onBand: MixturePrior = {
    points: inside.map((q) => ({ q, w: WEIGHTS.outside.points / inside.length })),
    uniforms: [{ a: bandFrom, b: bandTo, w: WEIGHTS.outside.uniform }],
    beta: { a: 1, b: 1, w: WEIGHTS.outside.beta },
  };
  const pastEdges: MixturePrior = {
    points: beyond.map(({ q }) => ({ q: clamp(q), w: WEIGHTS.inside.points / beyond.length })),
    uniforms: [
      ...beyond.map(({ stretch: [a, b] }) => ({ a: clamp(a), b: clamp(b), w: WEIGHTS.inside.uniform / beyond.length })),
      { a: bandFrom, b: bandTo, w: WEIGHTS.inside.onBand },
    ],
    beta: { a: 1, b: 1, w: WEIGHTS.inside.beta },
  };
  const regions: PriorRegion[] = [];
  if (lower !== undefined) regions.push({ from: 0, to: lower, openFrom: false, openTo: true, prior: onBand });
  regions.push({ from: bandFrom, to: bandTo, openFrom: false, openTo: false, prior: pastEdges });
  if (upper !== undefined) regions.push({ from: upper, to: 1, openFrom: true, openTo: false, prior: onBand });
  return { regions };
}

/** Keeps an alternative strictly inside (0, 1), where its likelihood is finite for any data. */
function clamp(q: number): number {
  return Math.min(1 - 1e-6, Math.max(1e-6, q));
}

const MIN_MARGIN = 0.005;
/** How far the uniform stretch past an edge reaches, in margins. */
const STRETCH = 6;
/**
 * Mixture weights per region (each sums to 1; tuned with bench/verdict-speed.ts and scratch simulations over truths
 * from 10 % to 45 % on an 80/20 ± 5 split; validity does not depend on them).
 */
export const WEIGHTS = {
  outside: { points: 0.85, uniform: 0.1, beta: 0.05 },
  inside: { points: 0.6, uniform: 0.2, onBand: 0.15, beta: 0.05 },
} as const;
