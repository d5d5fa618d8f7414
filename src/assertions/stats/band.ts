// Bounds (min / max / approx ± tolerance) as a band of accepted values, and how an interval or an exact value
// is judged against it.
import type { Bound } from '../../spec/types.ts';
import type { Outcome } from '../verdict.ts';
import type { Interval } from './proportion.ts';

/** Accepted values: lower ≤ value ≤ upper (an absent edge is open). */
export interface Band {
  lower?: number;
  upper?: number;
}

/** The band of a bound; `approx` without `tolerance` uses `defaultTolerance`. min/max narrow an approx band. */
export function bandOf(bound: Bound, defaultTolerance: number): Band {
  let lower: number | undefined;
  let upper: number | undefined;
  if (bound.approx !== undefined) {
    const tolerance = bound.tolerance ?? defaultTolerance;
    lower = bound.approx - tolerance;
    upper = bound.approx + tolerance;
  }
  if (bound.min !== undefined) lower = lower === undefined ? bound.min : Math.max(lower, bound.min);
  if (bound.max !== undefined) upper = upper === undefined ? bound.max : Math.min(upper, bound.max);
  return { lower, upper };
}

/** The band clipped to [floor, ceiling], e.g. shares to [0, 1]; an edge at or beyond the limit becomes open. */
export function clipBand(band: Band, floor: number, ceiling: number): Band {
  return {
    lower: band.lower !== undefined && band.lower > floor ? band.lower : undefined,
    upper: band.upper !== undefined && band.upper < ceiling ? band.upper : undefined,
  };
}

/** Which way an interval or value sits relative to a band. */
export type Placement = 'inside' | 'below' | 'above' | 'straddles-lower' | 'straddles-upper' | 'straddles-both';

/**
 * pass when the whole interval lies inside the band, fail when it lies wholly outside it, inconclusive when it
 * crosses an edge. With intervals that cover the truth with probability ≥ 1 − α, a pass when the truth is
 * outside the band, or a fail when it is inside, both require the interval to miss the truth.
 */
export function placeInterval([lo, hi]: Interval, band: Band): Placement {
  const belowLower = band.lower !== undefined && hi < band.lower;
  const aboveUpper = band.upper !== undefined && lo > band.upper;
  if (belowLower) return 'below';
  if (aboveUpper) return 'above';
  const crossesLower = band.lower !== undefined && lo < band.lower;
  const crossesUpper = band.upper !== undefined && hi > band.upper;
  if (crossesLower && crossesUpper) return 'straddles-both';
  if (crossesLower) return 'straddles-lower';
  if (crossesUpper) return 'straddles-upper';
  return 'inside';
}

export function outcomeOf(placement: Placement): Outcome {
  if (placement === 'inside') return 'pass';
  if (placement === 'below' || placement === 'above') return 'fail';
  return 'inconclusive';
}

/** An exact value (a counter delta) against a band. */
export function placeValue(value: number, band: Band): Placement {
  return placeInterval([value, value], band);
}

/** Merge outcomes of parts of one expectation: any fail fails; all pass passes; otherwise inconclusive. */
export function combineOutcomes(outcomes: Outcome[]): Outcome {
  if (outcomes.includes('fail')) return 'fail';
  if (outcomes.every((o) => o === 'pass')) return 'pass';
  return 'inconclusive';
}

/** The accepted region in words, using `fmt` for values: "at most 1 %", "between 10 and 20", "at least 99 %". */
export function describeBand(band: Band, fmt: (v: number) => string): string {
  if (band.lower !== undefined && band.upper !== undefined) {
    return band.lower === band.upper ? `exactly ${fmt(band.lower)}` : `between ${fmt(band.lower)} and ${fmt(band.upper)}`;
  }
  if (band.upper !== undefined) return `at most ${fmt(band.upper)}`;
  if (band.lower !== undefined) return `at least ${fmt(band.lower)}`;
  return 'anything';
}
