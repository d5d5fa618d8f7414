// Judging an exact count (a counter delta) against a bound. Counters are not samples: they count what happened
// during this run, so the verdict has no sampling error. In sequential mode a `min` not reached yet stays
// inconclusive until the last look, because more load could still reach it.
import type { Bound } from '../spec/types.ts';
import type { ExpectedBand, JudgeContext, Outcome } from './verdict.ts';
import { bandEvidence } from './kind.ts';
import { bandOf, describeBand, placeValue, type Band, type Placement } from './stats/band.ts';
import { formatCount, trimmed } from './stats/format.ts';
import { must } from '../must.ts';

export interface CountJudgement {
  value: number;
  band: Band;
  placement: Placement;
  outcome: Outcome;
}

export function judgeCount(value: number, bound: Bound, context: JudgeContext): CountJudgement {
  const band = bandOf(bound, 0);
  const placement = placeValue(value, band);
  let outcome: Outcome = placement === 'inside' ? 'pass' : 'fail';
  const mayStillRise = context.sequential !== undefined && !context.sequential.final && placement === 'below';
  if (mayStillRise) outcome = 'inconclusive';
  return { value, band, placement, outcome };
}

/** The band a count was judged against, as evidence (around its `approx`, if any). */
export function countBand(j: CountJudgement, bound: Bound): ExpectedBand {
  return bandEvidence(j.band, bound.approx);
}

/** A count bound in words: "at most 0", "200 ± 20", "at least 1". */
export function describeCountBound(bound: Bound): string {
  if (bound.approx !== undefined) {
    const base = `${formatCount(bound.approx)} ± ${trimmed(bound.tolerance ?? 0)}`;
    const band = bandOf(bound, 0);
    // A band around `approx` has both edges.
    const narrowed = (bound.min !== undefined && bound.min > (band.lower ?? Infinity)) || (bound.max !== undefined && bound.max < (band.upper ?? -Infinity));
    return narrowed ? `${base} (${describeBand(band, formatCount)})` : base;
  }
  return describeBand(bandOf(bound, 0), formatCount);
}

/** ", but that is above 0" style clause for a count; empty for a pass. */
export function countReason(j: CountJudgement): string {
  switch (j.placement) {
    case 'inside':
      return '';
    case 'below':
      return j.outcome === 'inconclusive'
        ? `, not reached yet (more load may reach it)`
        : `, but ${formatCount(j.value)} is below ${formatCount(must(j.band.lower, 'the lower edge of the band'))}`;
    case 'above':
      return `, but ${formatCount(j.value)} is above ${formatCount(must(j.band.upper, 'the upper edge of the band'))}`;
    default:
      return '';
  }
}
