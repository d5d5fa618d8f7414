// Row 3: time to verdict for an 80/20 split (bench/verdict-speed.ts), repeated with independent seeds: each run
// simulates `sims` experiments per truth with the real judge; the fixed-sample size is exact and the same every run.
import { summarize, type Summary } from './stats.ts';
import { measureTimeToVerdict, type TimeToVerdict } from './verdict-speed.ts';

export interface VerdictSpeed {
  runs: number;
  sims: number;
  /** Mean requests to a conclusive verdict, sequential mode, per run. */
  sequential8020: Summary;
  sequential7030: Summary;
  /** Share of runs that reached the right verdict (pass at 80/20, fail at 70/30), worst run. */
  worstCorrect: number;
  fixed: TimeToVerdict['fixed'];
  /** fixed.n / sequential mean, averaged over the two truths, per run. */
  ratio: Summary;
  confidence: number;
  tolerancePoints: number;
  checkEvery: number;
  waldBound: TimeToVerdict['waldBound'];
}

export function benchVerdictSpeed(options: { runs?: number; sims?: number; log?: (m: string) => void } = {}): VerdictSpeed {
  const runs = options.runs ?? 5;
  const sims = options.sims ?? 1000;
  const results: TimeToVerdict[] = [];
  for (let run = 0; run < runs; run++) {
    results.push(measureTimeToVerdict({ sims, seed: 1000 + 7919 * run }));
    options.log?.(`verdict run ${run + 1}/${runs}: ratio ${results.at(-1)!.ratio.average.toFixed(2)}`);
  }
  const first = results[0]!;
  return {
    runs,
    sims,
    sequential8020: summarize(results.map((r) => r.sequential.truth8020.meanRequests)),
    sequential7030: summarize(results.map((r) => r.sequential.truth7030.meanRequests)),
    worstCorrect: Math.min(...results.flatMap((r) => [r.sequential.truth8020.pass, r.sequential.truth7030.fail])),
    fixed: first.fixed,
    ratio: summarize(results.map((r) => r.ratio.average)),
    confidence: first.confidence,
    tolerancePoints: first.tolerancePoints,
    checkEvery: first.checkEvery,
    waldBound: first.waldBound,
  };
}
