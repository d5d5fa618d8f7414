// Pearson's chi-square goodness-of-fit test of observed category counts against expected weights.
//
// Shown for information only: it tests exact equality with the weights, so with enough requests it rejects a
// split that is well within tolerance. The verdict comes from the per-category intervals (an equivalence test).
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';

export interface GoodnessOfFit {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

/**
 * `observed` counts per category; `weights` relative expected shares (any positive scale). A category observed
 * with zero expected weight (or missing from `weights`) is impossible under the hypothesis, so p = 0.
 * Undefined when there is nothing to test (no observations or fewer than two categories with weight).
 */
export function chiSquareGoodnessOfFit(observed: Map<string, number>, weights: Record<string, number>): GoodnessOfFit | undefined {
  const total = [...observed.values()].reduce((s, c) => s + c, 0);
  const weighted = Object.entries(weights).filter(([, w]) => w > 0);
  const weightSum = weighted.reduce((s, [, w]) => s + w, 0);
  if (total === 0 || weighted.length < 2 || weightSum <= 0) return undefined;
  const degreesOfFreedom = weighted.length - 1;
  for (const [category, count] of observed) {
    if (count > 0 && !((weights[category] ?? 0) > 0)) return { statistic: Infinity, degreesOfFreedom, pValue: 0 };
  }
  let statistic = 0;
  for (const [category, w] of weighted) {
    const expected = (total * w) / weightSum;
    const diff = (observed.get(category) ?? 0) - expected;
    statistic += (diff * diff) / expected;
  }
  return { statistic, degreesOfFreedom, pValue: 1 - chisquareCdf(statistic, degreesOfFreedom) };
}
