// Row 3: time to verdict for an 80/20 split (bench/verdict-speed.ts), repeated with independent seeds: each run
// simulates `sims` experiments per truth with the real judge; the fixed-sample size is exact and the same every run.
import { summarize, type Summary } from './stats.ts';
import { measureTimeToVerdict, verdictCurve, type CurvePoint, type TimeToVerdict } from './verdict-speed.ts';
import { must } from '../src/must.ts';

export interface VerdictSpeed {
  runs: number;
  sims: number;
  /** Mean requests to a conclusive verdict, sequential mode, per run. */
  sequential8020: Summary;
  sequential7030: Summary;
  /** Truths 15 points from the expected split (65/35 and 95/5, should fail). */
  sequential6535: Summary;
  sequential9505: Summary;
  /** Share of runs that reached the right verdict (pass at 80/20, fail at the others), worst run. */
  worstCorrect: number;
  fixed: TimeToVerdict['fixed'];
  /** fixed.n / sequential mean, averaged over the two truths, per run. */
  ratio: Summary;
  confidence: number;
  tolerancePoints: number;
  checkEvery: number;
  waldBound: TimeToVerdict['waldBound'];
  /** Expected requests against the truth (one seeded run), for the plot. */
  curve: { sims: number; budget: number; points: CurvePoint[] };
}

export function benchVerdictSpeed(options: { runs?: number; sims?: number; curveSims?: number; log?: (m: string) => void } = {}): VerdictSpeed {
  const runs = options.runs ?? 5;
  const sims = options.sims ?? 1000;
  const results: TimeToVerdict[] = [];
  for (let run = 0; run < runs; run++) {
    const result = measureTimeToVerdict({ sims, seed: 1000 + 7919 * run });
    results.push(result);
    options.log?.(`verdict run ${run + 1}/${runs}: ratio ${result.ratio.average.toFixed(2)}`);
  }
  const first = must(results[0], 'a verdict run');
  return {
    runs,
    sims,
    sequential8020: summarize(results.map((r) => r.sequential.truth8020.meanRequests)),
    sequential7030: summarize(results.map((r) => r.sequential.truth7030.meanRequests)),
    sequential6535: summarize(results.map((r) => r.sequential.truth6535.meanRequests)),
    sequential9505: summarize(results.map((r) => r.sequential.truth9505.meanRequests)),
    worstCorrect: Math.min(
      ...results.flatMap((r) => [r.sequential.truth8020.pass, r.sequential.truth7030.fail, r.sequential.truth6535.fail, r.sequential.truth9505.fail]),
    ),
    fixed: first.fixed,
    ratio: summarize(results.map((r) => r.ratio.average)),
    confidence: first.confidence,
    tolerancePoints: first.tolerancePoints,
    checkEvery: first.checkEvery,
    waldBound: first.waldBound,
    curve: (() => {
      const curveSims = options.curveSims ?? 200;
      options.log?.(`verdict curve: ${curveSims} simulated runs at each of 10 truths`);
      const c = verdictCurve({ sims: curveSims });
      return { sims: curveSims, budget: c.budget, points: c.points };
    })(),
  };
}
