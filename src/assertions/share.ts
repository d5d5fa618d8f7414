// Judging one share (a proportion of requests) against a band: the building block of distribution, status,
// denied, latency and flags verdicts.
import type { Bound } from '../spec/types.ts';
import type { ExpectedBand, JudgeContext, Outcome } from './verdict.ts';
import { bandOf, clipBand, outcomeOf, placeInterval, type Band, type Placement } from './stats/band.ts';
import type { Interval } from './stats/proportion.ts';
import { intervalLabel, shareInterval, type IntervalMethod } from './stats/share.ts';
import { formatShareWithInterval, percentValue } from './stats/format.ts';
import { requestsFor } from './stats/sample-size.ts';
import { bandEvidence } from './kind.ts';
import { must } from '../must.ts';

/** Tolerance of `approx` on a share when the expectation gives none: 5 percentage points. */
export const DEFAULT_SHARE_TOLERANCE = 0.05;

export interface ShareJudgement {
  successes: number;
  trials: number;
  /** successes / trials (0 when there are no trials). */
  share: number;
  interval: Interval;
  band: Band;
  placement: Placement;
  outcome: Outcome;
  /** "99 % interval", "99 % simultaneous anytime interval". */
  label: string;
  method: IntervalMethod;
  perIntervalConfidence: number;
  /**
   * For an inconclusive verdict when asked (ShareOptions.estimateMore): the request count at which the share seen so
   * far would give a conclusive verdict with a 90 % chance; null when no practical count would (it sits on an edge).
   */
  decidesAt?: number | null;
}

/** The chance of a conclusive verdict the "about N requests" estimates aim for. */
export const PLANNING_CHANCE = 0.9;

export interface ShareOptions {
  confidence: number;
  /** How many shares of the same expectation are judged together (Bonferroni). */
  comparisons: number;
  sequential: boolean;
  /** Estimate the requests that would decide an inconclusive verdict (see JudgeContext.estimateMore). */
  estimateMore?: boolean;
}

export function judgeShare(successes: number, trials: number, band: Band, options: ShareOptions): ShareJudgement {
  const clipped = clipBand(band, 0, 1);
  const { interval, method, perIntervalConfidence } = shareInterval(successes, trials, { ...options, band: clipped });
  const placement = trials === 0 ? 'straddles-both' : placeInterval(interval, clipped);
  const outcome = trials === 0 ? 'inconclusive' : outcomeOf(placement);
  const estimate =
    options.estimateMore && outcome === 'inconclusive' && trials > 0
      ? {
          decidesAt:
            requestsFor(
              successes / trials,
              clipped,
              { confidence: options.confidence, comparisons: options.comparisons, sequential: options.sequential },
              PLANNING_CHANCE,
            ) ?? null,
        }
      : {};
  return {
    successes,
    trials,
    share: trials === 0 ? 0 : successes / trials,
    interval,
    band: clipped,
    placement,
    outcome,
    label: intervalLabel(options.confidence, options.comparisons, options.sequential),
    method,
    perIntervalConfidence,
    ...estimate,
  };
}

export function shareOptions(confidence: number, context: JudgeContext, comparisons = 1): ShareOptions {
  return { confidence, comparisons, sequential: context.sequential !== undefined, ...(context.estimateMore ? { estimateMore: true } : {}) };
}

/**
 * The share builder of status, denied and flags: `successes` of `trials` matched the expectation's predicate,
 * judged against a min / max / approx ± tolerance bound (approx defaults to ± 5 points), with the bound in words.
 */
export function judgeShareBound(
  successes: number,
  trials: number,
  bound: Bound,
  confidence: number,
  context: JudgeContext,
  approxText?: string,
): { judgement: ShareJudgement; expected: string; band: ExpectedBand } {
  const band = bandOf(bound, DEFAULT_SHARE_TOLERANCE);
  const judgement = judgeShare(successes, trials, band, shareOptions(confidence, context));
  return { judgement, expected: describeShareBound(bound, approxText), band: shareBand(band, bound.approx) };
}

/** A share band as evidence: its edges within [0, 1], around `value` (an approx) when it has one. */
export function shareBand(band: Band, value?: number): ExpectedBand {
  return bandEvidence(band, value, [0, 1]);
}

/** "19.4 % (99 % interval 17.9–21.0 %)". */
export function shareText(j: ShareJudgement): string {
  return formatShareWithInterval(j.share, j.interval, j.label);
}

/** A band edge of a share in words, as the expectation would write it: "25 %", "12.5 %". */
export function edgeText(share: number): string {
  return `${percentValue(share)} %`;
}

/**
 * A share bound in words: `approx` as "20 ± 5 points" (with `approxText` replacing the number, e.g. a derivation),
 * otherwise "at most 1 %", "at least 99 %", "between 10 % and 20 %".
 */
export function describeShareBound(bound: Bound, approxText?: string): string {
  const pct = (v: number) => `${percentValue(v)} %`;
  if (bound.approx !== undefined) {
    const tolerance = bound.tolerance ?? DEFAULT_SHARE_TOLERANCE;
    const text = `${approxText ?? percentValue(bound.approx)} ± ${percentValue(tolerance)} points`;
    const extra: string[] = [];
    if (bound.min !== undefined) extra.push(`at least ${pct(bound.min)}`);
    if (bound.max !== undefined) extra.push(`at most ${pct(bound.max)}`);
    return extra.length ? `${text}, ${extra.join(' and ')}` : text;
  }
  if (bound.min !== undefined && bound.max !== undefined) return `between ${pct(bound.min)} and ${pct(bound.max)}`;
  if (bound.max !== undefined) return `at most ${pct(bound.max)}`;
  if (bound.min !== undefined) return `at least ${pct(bound.min)}`;
  return 'any share';
}

/** "(about 1,200 in all, 900 more, would likely decide it at the share seen so far)", when it was estimated. */
function moreText(j: ShareJudgement): string {
  if (j.decidesAt === undefined) return '';
  if (j.decidesAt === null) return ' (at the share seen so far no practical number of requests is likely to: it sits on the edge of the band)';
  const all = Math.max(j.decidesAt, j.trials + 1);
  return ` (at the share seen so far, about ${all.toLocaleString('en-US')} in all, ${(all - j.trials).toLocaleString('en-US')} more, would decide it with a ${Math.round(PLANNING_CHANCE * 100)} % chance)`;
}

/** What follows the expectation in a sentence: nothing for a pass, ", but …" otherwise. */
/** The edge a placement below / above / straddling it names: the band has it. */
const lowerEdge = (j: ShareJudgement) => must(j.band.lower, 'the lower edge of the band');
const upperEdge = (j: ShareJudgement) => must(j.band.upper, 'the upper edge of the band');

export function shareReason(j: ShareJudgement): string {
  if (j.trials === 0) return ', but nothing was observed, so nothing can be said';
  switch (j.placement) {
    case 'inside':
      return '';
    case 'below':
      return `, but the whole interval is below ${edgeText(lowerEdge(j))}`;
    case 'above':
      return `, but the whole interval is above ${edgeText(upperEdge(j))}`;
    case 'straddles-lower':
      return `, but the interval crosses ${edgeText(lowerEdge(j))}, so more requests are needed to tell${moreText(j)}`;
    case 'straddles-upper':
      return `, but the interval crosses ${edgeText(upperEdge(j))}, so more requests are needed to tell${moreText(j)}`;
    case 'straddles-both':
      return `, but the interval is wider than the accepted band, so more requests are needed to tell${moreText(j)}`;
  }
}
