// Verdicts: what every expectation kind produces.
import type { Experiment, Expectation, SourcePos } from '../spec/types.ts';
import type { CounterSample, ObservationView } from '../observe/types.ts';
import type { TargetInfo } from '../targets/target.ts';

export type Outcome = 'pass' | 'fail' | 'inconclusive';

export interface Verdict {
  kind: Expectation['kind'];
  /** e.g. "distribution of reviews.version" */
  title: string;
  outcome: Outcome;
  /** Observed value in its natural unit (share 0..1, count, ms), or per category. */
  observed: number | Record<string, number>;
  /** Human text of the expectation, e.g. "v1 80 ± 5 %, v3 20 ± 5 %". */
  expected: string;
  /** Confidence interval of the observed value (per category for distributions). */
  interval?: [number, number] | Record<string, [number, number]>;
  pValue?: number;
  confidence: number;
  sampleSize: number;
  /** One sentence: why it passed, failed or could not tell. */
  explanation: string;
  /** Extra numbers for charts (e.g. predicted vs observed 429s per second). */
  details?: Record<string, unknown>;
  source?: SourcePos;
}

export interface JudgeContext {
  experiment: Experiment;
  observation: ObservationView;
  /** Mesh counters as a delta over the load (after − before). */
  counters: CounterSample[];
  target: TargetInfo;
  /** Requests still in flight when counters were read (for reconcile's allowance). */
  inFlightAllowance: number;
  /**
   * Sequential mode: the data are being looked at repeatedly while load runs (look number `looks`),
   * so intervals must stay valid under optional stopping (confidence sequences / alpha spending).
   */
  /**
   * Inconclusive share verdicts say about how many requests would decide them (a search over sample sizes, so only
   * the runner's final judgement asks for it, not each sequential look nor the calibration simulations).
   */
  estimateMore?: boolean;
  sequential?: {
    looks: number;
    /**
     * The last look (budget spent or load stopped): bounds on counts that could still have been reached with more
     * load (e.g. `retries: { min: 1 }` not yet met) become failures instead of staying inconclusive.
     */
    final?: boolean;
  };
}

export type Judge<E extends Expectation = Expectation> = (expectation: E, context: JudgeContext) => Verdict;
