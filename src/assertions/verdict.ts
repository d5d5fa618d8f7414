// Verdicts: what every expectation kind produces, with the evidence it rests on, so reports render a verdict and never
// re-derive its numbers from the expectation.
import type { Experiment, Expectation, SourcePos } from '../spec/types.ts';
import type { CounterSample, ObservationView } from '../observe/types.ts';
import type { TargetInfo } from '../targets/target.ts';
import type { DistributionDetails } from './distribution.ts';
import type { StatusDetails } from './status.ts';
import type { RetriesDetails } from './retries.ts';
import type { RateLimitedDetails } from './rate-limited.ts';
import type { DeniedDetails } from './denied.ts';
import type { LatencyDetails } from './latency.ts';
import type { FlagsDetails } from './flags.ts';
import type { ReconcileDetails } from './reconcile.ts';
import type { CounterDetails } from './counter.ts';
import type { StickyDetails } from './sticky.ts';

export type Outcome = 'pass' | 'fail' | 'inconclusive';

/** The unit of a verdict's observed value, interval and expected band: share 0..1, count, or ms. */
export type ValueUnit = 'share' | 'count' | 'ms';

/** What a verdict was judged against, in its unit: a point (an `approx`) and/or the accepted band [min, max]. */
export interface ExpectedBand {
  value?: number;
  min?: number;
  max?: number;
}

/** What a verdict counted. */
export interface Population {
  /** Where the observed value comes from: the load driver's responses at the client, or the proxies' counters in the mesh. */
  source: 'client' | 'mesh';
  /** What `sampleSize` counts, in words: "responses", "responses that carried reviews.version", "requests ratings received". */
  of: string;
  /** The label filter (the expectation's `where`) that chose the client's responses, when it had one. */
  where?: Record<string, string>;
}

/** What a verdict rests on, beside its observed value and interval: reports render it as it is. */
export interface Evidence {
  unit: ValueUnit;
  /**
   * The expected value and band per series, in `unit`: key `''` for a scalar verdict, a category for a distribution,
   * a check (`p99 below 500`) for latency, `mesh` for reconcile. Exactly what the judge compared with.
   */
  expected: Record<string, ExpectedBand>;
  population: Population;
}

/** Each built-in kind's details (declared beside its judge); a kind added with registerKind may have none. */
export interface VerdictDetailsByKind {
  distribution: DistributionDetails;
  status: StatusDetails;
  retries: RetriesDetails;
  rateLimited: RateLimitedDetails;
  denied: DeniedDetails;
  latency: LatencyDetails;
  flags: FlagsDetails;
  reconcile: ReconcileDetails;
  counter: CounterDetails;
  sticky: StickyDetails;
}
export type VerdictDetails = VerdictDetailsByKind[keyof VerdictDetailsByKind];

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
  /** The unit, the expected band and the population: what the verdict rests on. */
  evidence: Evidence;
  /** The kind's own numbers (e.g. predicted vs observed 429s per second), typed per kind: read them with detailsOf. */
  details?: VerdictDetails;
  source?: SourcePos;
}

/** A verdict's details as its kind declares them; undefined for a verdict of another kind or without details. */
export function detailsOf<K extends keyof VerdictDetailsByKind>(verdict: Verdict, kind: K): VerdictDetailsByKind[K] | undefined {
  return verdict.kind === kind ? (verdict.details as VerdictDetailsByKind[K] | undefined) : undefined;
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
