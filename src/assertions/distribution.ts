// distribution: the split of a label (e.g. reviews.version) against weights, as an equivalence test per category.
//
// pass: every expected category's interval lies inside weight ± tolerance; fail: some interval lies wholly outside,
// or a category that was not expected was seen at all (its interval then excludes zero); otherwise inconclusive.
// False pass needs the interval of a category whose truth is outside its band to miss that truth, so it is at
// most α/2 whatever the number of categories. False fail can happen through any category, so the intervals are
// simultaneous: Bonferroni, each at 1 − α/K for K expected categories — except K = 2, where the two shares are
// complements (v3 = 1 − v1) and their intervals exclude the truth together, so no adjustment is needed.
import type { DistributionExpectation } from '../spec/types.ts';
import type { JudgeContext, Outcome, Verdict } from './verdict.ts';
import { combineOutcomes } from './stats/band.ts';
import { chiSquareGoodnessOfFit, type GoodnessOfFit } from './stats/goodness-of-fit.ts';
import type { Band } from './stats/band.ts';
import type { Interval } from './stats/proportion.ts';
import type { IntervalMethod } from './stats/share.ts';
import { formatCount, percentValue, plural, whereText } from './stats/format.ts';
import { judgeShare, shareBand, shareOptions, shareReason, shareText, type ShareJudgement } from './share.ts';
import { clientPopulation, type KindHandler } from './kind.ts';
import { where, population, DEFAULT_TOLERANCE_POINTS, type RawCommon, type RawShare, type RawWhere } from '../spec/expectation-input.ts';
import { must } from '../must.ts';

interface CategoryResult {
  category: string;
  expected: boolean;
  /** Expected share 0..1 (0 for unexpected categories). */
  weight: number;
  judgement: ShareJudgement;
}

export interface DistributionDetails {
  /** Responses per value of the label. */
  counts: Record<string, number>;
  method: IntervalMethod | undefined;
  comparisons: number;
  perIntervalConfidence: number | undefined;
  goodnessOfFit: GoodnessOfFit | undefined;
  categories: {
    category: string;
    /** Among the weights (false: seen but not expected, judged against a share of 0). */
    expected: boolean;
    expectedShare: number;
    count: number;
    share: number;
    interval: Interval;
    band: Band;
    outcome: Outcome;
  }[];
}

export function judgeDistribution(e: DistributionExpectation, context: JudgeContext): Verdict {
  const counts = context.observation.countBy(e.of, e.where);
  const trials = [...counts.values()].reduce((s, c) => s + c, 0);
  const weightSum = Object.values(e.weights).reduce((s, w) => s + w, 0);
  const tolerance = e.tolerance / 100;
  const expectedNames = Object.keys(e.weights);
  const comparisons = expectedNames.length <= 2 ? 1 : expectedNames.length;
  const options = shareOptions(e.confidence, context, comparisons);

  const results: CategoryResult[] = expectedNames.map((category) => {
    const weight = weightSum > 0 ? (e.weights[category] ?? 0) / weightSum : 0;
    const band = { lower: weight - tolerance, upper: weight + tolerance };
    return { category, expected: true, weight, judgement: judgeShare(counts.get(category) ?? 0, trials, band, options) };
  });
  const unexpected = [...counts.entries()]
    .filter(([category, count]) => !(category in e.weights) && count > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  for (const [category, count] of unexpected) {
    // Expected share 0: the interval of a category seen at least once excludes 0 (its lower end is positive).
    results.push({ category, expected: false, weight: 0, judgement: judgeShare(count, trials, { upper: 0 }, options) });
  }

  const outcome: Outcome = trials === 0 ? 'inconclusive' : combineOutcomes(results.map((r) => r.judgement.outcome));
  const fit = chiSquareGoodnessOfFit(counts, e.weights);
  const expectedText = expectedNames
    .map((c) => `${c} ${percentValue(weightSum > 0 ? (e.weights[c] ?? 0) / weightSum : 0)} ± ${percentValue(tolerance)} %`)
    .join(', ');

  return {
    kind: 'distribution',
    title: e.title,
    outcome,
    observed: Object.fromEntries(results.map((r) => [r.category, r.judgement.share])),
    expected: expectedText,
    interval: Object.fromEntries(results.map((r) => [r.category, r.judgement.interval])),
    pValue: fit?.pValue,
    confidence: e.confidence,
    sampleSize: trials,
    explanation: explain(e, results, outcome, trials, context.observation.count(e.where)),
    evidence: {
      unit: 'share',
      // The weights' bands; a category seen but not expected is judged against 0 (details.categories).
      expected: Object.fromEntries(
        results.filter((r) => r.expected).map((r) => [r.category, shareBand({ lower: r.weight - tolerance, upper: r.weight + tolerance }, r.weight)]),
      ),
      population: clientPopulation(`responses that carried ${e.of}`, e.where),
    },
    details: {
      counts: Object.fromEntries(counts),
      method: results[0]?.judgement.method,
      comparisons,
      perIntervalConfidence: results[0]?.judgement.perIntervalConfidence,
      goodnessOfFit: fit,
      categories: results.map((r) => ({
        category: r.category,
        expected: r.expected,
        expectedShare: r.weight,
        count: r.judgement.successes,
        share: r.judgement.share,
        interval: r.judgement.interval,
        band: r.judgement.band,
        outcome: r.judgement.outcome,
      })),
    } satisfies DistributionDetails,
    source: e.source,
  };
}

function explain(e: DistributionExpectation, results: CategoryResult[], outcome: Outcome, trials: number, recorded: number): string {
  if (trials === 0) {
    return `No response carried the label ${e.of} (of ${plural(recorded, 'recorded response')}), so nothing can be said about its distribution.`;
  }
  // Only responses that carry the label count (an error page has no reviews.version): say so.
  const carried = `${plural(trials, 'response')}${whereText(e.where)} that carried ${e.of}`;
  const surprise = results.find((r) => !r.expected);
  if (surprise) {
    const names = results.filter((r) => r.expected).map((r) => r.category);
    return (
      `${surprise.category} appeared in ${formatCount(surprise.judgement.successes)} of ${carried}, ` +
      `${shareText(surprise.judgement)}, but it is not among the expected ${names.join(', ')}.`
    );
  }
  const decisive = pickDecisive(results, outcome);
  const j = decisive.judgement;
  const tail = outcome === 'pass' && results.length > 1 ? ' (every category within its band)' : '';
  return (
    `${decisive.category} got ${shareText(j)} of ${carried}; ` +
    `expected ${percentValue(decisive.weight)} ± ${percentValue(e.tolerance / 100)} points${shareReason(j)}${tail}.`
  );
}

/** The category the sentence is about: the first failure, else the first undecided, else the closest call. */
function pickDecisive(results: CategoryResult[], outcome: Outcome): CategoryResult {
  const byOutcome = results.filter((r) => r.judgement.outcome === outcome);
  if (outcome !== 'pass') return must(byOutcome[0], `a category with outcome ${outcome}`);
  const margin = (r: CategoryResult) => {
    const [lo, hi] = r.judgement.interval;
    return Math.min(lo - (r.judgement.band.lower ?? -Infinity), (r.judgement.band.upper ?? Infinity) - hi);
  };
  // Among passing categories, the one whose interval comes closest to its band's edge; ties: the smaller share.
  return must([...results].sort((a, b) => margin(a) - margin(b) || a.weight - b.weight)[0], 'a judged category');
}

/** The schema's `distribution` object. */
interface RawDistribution extends RawCommon {
  of: string;
  weights: Record<string, number>;
  tolerance?: RawShare;
  where?: RawWhere;
}

export const distributionKind: KindHandler<DistributionExpectation, RawDistribution> = {
  parse({ n, raw, path, common }) {
    const total = Object.values<number>(raw.weights).reduce((a, b) => a + b, 0);
    if (total <= 0) throw n.error([...path, 'weights'], 'weights must not all be 0');
    // A share like every share (0.05 or "5%"); kept in percentage points inside.
    const tolerance = raw.tolerance === undefined ? DEFAULT_TOLERANCE_POINTS : +(n.share(raw.tolerance, [...path, 'tolerance']) * 100).toFixed(10);
    return {
      kind: 'distribution',
      ...common,
      title: raw.title ?? `distribution of ${raw.of}${population(raw.where)}`,
      of: raw.of,
      weights: raw.weights,
      tolerance,
      where: where(raw.where),
    };
  },
  judge: judgeDistribution,
  judgedFromClient: () => true,
};
