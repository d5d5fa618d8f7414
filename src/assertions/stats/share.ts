// One place that decides which interval a share gets: exact Clopper–Pearson for a single look at the data, the
// mixture confidence sequence when the data are looked at repeatedly (sequential mode), each at the Bonferroni-
// adjusted level when several shares are judged together.
import { priorForBand, regionalConfidenceSequence } from './confidence-sequence.ts';
import { clopperPearson, type Interval } from './proportion.ts';
import type { Band } from './band.ts';
import { formatConfidence } from './format.ts';

export interface ShareIntervalOptions {
  /** Family confidence, e.g. 0.99. */
  confidence: number;
  /** Number of shares judged together that could each fail by chance (Bonferroni: each gets α / comparisons). */
  comparisons: number;
  /** Sequential mode: use the anytime-valid confidence sequence. */
  sequential: boolean;
  /** The band the share is judged against (shapes the sequence's mixing distribution; ignored otherwise). */
  band: Band;
}

export type IntervalMethod = 'clopper-pearson' | 'mixture-confidence-sequence';

export interface ShareInterval {
  interval: Interval;
  method: IntervalMethod;
  /** The level each single interval is computed at: 1 − α / comparisons. */
  perIntervalConfidence: number;
}

export function shareInterval(successes: number, trials: number, options: ShareIntervalOptions): ShareInterval {
  const comparisons = Math.max(1, options.comparisons);
  const perIntervalConfidence = 1 - (1 - options.confidence) / comparisons;
  if (options.sequential) {
    const interval = regionalConfidenceSequence(successes, trials, perIntervalConfidence, priorForBand(options.band));
    return { interval, method: 'mixture-confidence-sequence', perIntervalConfidence };
  }
  return { interval: clopperPearson(successes, trials, perIntervalConfidence), method: 'clopper-pearson', perIntervalConfidence };
}

/** How an interval is named in sentences: "99 % interval", "99 % simultaneous anytime interval". */
export function intervalLabel(confidence: number, comparisons: number, sequential: boolean): string {
  const words = [formatConfidence(confidence)];
  if (comparisons > 1) words.push('simultaneous');
  if (sequential) words.push('anytime');
  words.push('interval');
  return words.join(' ');
}
