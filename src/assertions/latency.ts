// latency: percentiles below/above thresholds, and the delay-fault form "about a share p of requests take at least d".
//
// A percentile bound is judged as a proportion, which makes it exact and distribution-free: "p99 below 500 ms"
// holds when fewer than 1 % of requests take 500 ms or more, so the share of requests at or over the threshold
// (HDR histogram countAtLeast) gets a Clopper–Pearson interval (or the anytime sequence) and is compared with
// 1 − q. `max` is a statement about this run's slowest request and is exact. Several checks in one expectation
// share the error rate (Bonferroni).
import type { LatencyExpectation } from '../spec/types.ts';
import type { LatencyView } from '../observe/types.ts';
import { SpecError } from '../errors.ts';
import type { ExpectedBand, JudgeContext, Outcome, Verdict } from './verdict.ts';
import { bandOf, combineOutcomes } from './stats/band.ts';
import { formatMs, plural, whereText } from './stats/format.ts';
import type { Interval } from './stats/proportion.ts';
import type { IntervalMethod } from './stats/share.ts';
import {
  DEFAULT_SHARE_TOLERANCE,
  describeShareBound,
  edgeText,
  judgeShare,
  shareBand,
  shareOptions,
  shareReason,
  shareText,
  type ShareJudgement,
} from './share.ts';
import { clientPopulation, type KindHandler } from './kind.ts';
import { where, population, type RawCommon, type RawDuration, type RawShareBound, type RawWhere } from '../spec/expectation-input.ts';
import { must } from '../must.ts';

/** A percentile's (or the maximum's) limit a check holds the latency to. */
export interface LatencyLimit {
  /** `p50`, `p99.9`, `max`, as the expectation wrote it. */
  percentile: string;
  direction: 'below' | 'above';
  thresholdMs: number;
}

/** Latency percentiles of the verdict's population, ms. */
export type PercentilesMs = Partial<Record<'p50' | 'p90' | 'p99' | 'p999' | 'max', number>>;

export interface LatencyDetails {
  unit: string;
  percentilesMs: PercentilesMs;
  comparisons: number;
  method: IntervalMethod;
  checks: { key: string; outcome: Outcome; share: number; interval: Interval }[];
  /** The limits the percentiles (and the maximum) were held to, in the expectation's order, for charts. */
  limits: LatencyLimit[];
}

interface Check {
  key: string;
  outcome: Outcome;
  /** Share of requests at or over the threshold. */
  share: number;
  interval: Interval;
  /** The band that share was judged against. */
  band: ExpectedBand;
  /** Absent for the delayed share. */
  limit?: LatencyLimit;
  sentence: string;
  /** How close the interval came to deciding the other way (for picking the sentence of a pass). */
  margin: number;
}

/** `p50` → 50, `p99.9` → 99.9, `p999` → 99.9 (HDR/k6 shorthand); undefined for anything else. */
export function percentileOf(key: string): number | undefined {
  const digits = /^p(\d+(?:\.\d+)?)$/.exec(key)?.[1];
  if (digits === undefined) return undefined;
  let q = Number(digits);
  if (!digits.includes('.') && q > 100 && digits.startsWith('99')) q = Number(`${digits.slice(0, 2)}.${digits.slice(2)}`);
  return q > 0 && q < 100 ? q : undefined;
}

export function judgeLatency(e: LatencyExpectation, context: JudgeContext): Verdict {
  const view = context.observation.latency(e.where);
  const n = view.count;
  const statistical = Object.entries(e.percentiles).reduce(
    (s, [key, b]) => s + (key === 'max' ? 0 : (b.below !== undefined ? 1 : 0) + (b.above !== undefined ? 1 : 0)),
    0,
  );
  const comparisons = statistical + (e.delayed ? 1 : 0);
  const options = shareOptions(e.confidence, context, comparisons);
  const checks: Check[] = [];

  for (const [key, bound] of Object.entries(e.percentiles)) {
    if (key === 'max') {
      if (bound.below !== undefined) checks.push(maxCheck(view, key, bound.below, 'below'));
      if (bound.above !== undefined) checks.push(maxCheck(view, key, bound.above, 'above'));
      continue;
    }
    const q = percentileOf(key);
    if (q === undefined) throw new SpecError(`unknown percentile "${key}" (use p50, p90, p99, p99.9 or max)`, e.source, `latency.${key}`);
    const tail = 1 - q / 100;
    for (const direction of ['below', 'above'] as const) {
      const threshold = bound[direction];
      if (threshold === undefined) continue;
      const band = direction === 'below' ? { upper: tail } : { lower: tail };
      const j = judgeShare(view.countAtLeast(threshold), n, band, options);
      const observedMs = n > 0 ? ` is ${formatMs(view.percentile(q))}:` : ':';
      checks.push({
        key: `${key} ${direction} ${threshold}`,
        outcome: j.outcome,
        share: j.share,
        interval: j.interval,
        band: shareBand(band),
        limit: { percentile: key, direction, thresholdMs: threshold },
        sentence:
          `${key}${observedMs} ${shareText(j)} of ${plural(n, 'request')}${whereText(e.where)} took ${formatMs(threshold)} or longer; ` +
          `expected ${key} ${direction} ${formatMs(threshold)} (${direction === 'below' ? 'at most' : 'at least'} ${edgeText(tail)})${shareReason(j)}`,
        margin: marginOf(j),
      });
    }
  }
  if (e.delayed) {
    const { atLeastMs, share } = e.delayed;
    const band = bandOf(share, DEFAULT_SHARE_TOLERANCE);
    const j = judgeShare(view.countAtLeast(atLeastMs), n, band, options);
    checks.push({
      key: `delayed ${atLeastMs}`,
      outcome: j.outcome,
      share: j.share,
      interval: j.interval,
      band: shareBand(band, share.approx),
      sentence: `${shareText(j)} of ${plural(n, 'request')}${whereText(e.where)} took at least ${formatMs(atLeastMs)}; expected ${describeShareBound(share)}${shareReason(j)}`,
      margin: marginOf(j),
    });
  }

  const outcome = n === 0 ? 'inconclusive' : combineOutcomes(checks.map((c) => c.outcome));
  return {
    kind: 'latency',
    title: e.title,
    outcome,
    observed: Object.fromEntries(checks.map((c) => [c.key, c.share])),
    expected: describeExpectation(e),
    interval: Object.fromEntries(checks.map((c) => [c.key, c.interval])),
    confidence: e.confidence,
    sampleSize: n,
    explanation: n === 0 ? `No request was recorded${e.where ? ' matching the filter' : ''}, so latency cannot be judged.` : explain(checks, outcome),
    evidence: { unit: 'share', expected: Object.fromEntries(checks.map((c) => [c.key, c.band])), population: clientPopulation('requests', e.where) },
    details: {
      unit: 'observed and interval: share of requests at or over each threshold',
      // Of this expectation's population (its `where`), so a chart of them is true to the verdict.
      percentilesMs: n > 0 ? { p50: view.percentile(50), p90: view.percentile(90), p99: view.percentile(99), p999: view.percentile(99.9), max: view.max } : {},
      comparisons,
      method: options.sequential ? 'mixture-confidence-sequence' : 'clopper-pearson',
      checks: checks.map(({ key, outcome: o, share, interval }) => ({ key, outcome: o, share, interval })),
      limits: checks.flatMap((c) => (c.limit ? [c.limit] : [])),
    } satisfies LatencyDetails,
    source: e.source,
  };
}

function maxCheck(view: LatencyView, key: string, threshold: number, direction: 'below' | 'above'): Check {
  const n = view.count;
  const over = view.countAtLeast(threshold);
  const holds = direction === 'below' ? over === 0 : view.max > threshold;
  const outcome: Outcome = n === 0 ? 'inconclusive' : holds ? 'pass' : 'fail';
  const slowest = n > 0 ? formatMs(view.max) : 'nothing';
  const why = holds ? '' : direction === 'below' ? `, but ${plural(over, 'request')} took that long or longer` : ', but none took longer';
  return {
    key: `max ${direction} ${threshold}`,
    outcome,
    share: n > 0 ? over / n : 0,
    interval: n > 0 ? [over / n, over / n] : [0, 1],
    // Exact: none at or over the threshold (below), some above it (above).
    band: direction === 'below' ? { max: 0 } : {},
    limit: { percentile: key, direction, thresholdMs: threshold },
    sentence: `The slowest of ${plural(n, 'request')} took ${slowest}; expected the maximum ${direction} ${formatMs(threshold)}${why}`,
    margin: Infinity,
  };
}

function marginOf(j: ShareJudgement): number {
  const [lo, hi] = j.interval;
  return Math.min(lo - (j.band.lower ?? -Infinity), (j.band.upper ?? Infinity) - hi);
}

function explain(checks: Check[], outcome: Outcome): string {
  const decisive = must(
    outcome === 'pass' ? [...checks].sort((a, b) => a.margin - b.margin)[0] : checks.find((c) => c.outcome === outcome),
    `a latency check with outcome ${outcome}`,
  );
  const others = checks.length - 1;
  const tail = others > 0 ? ` (${others} more check${others === 1 ? '' : 's'}: ${summary(checks.filter((c) => c !== decisive))})` : '';
  return `${decisive.sentence}${tail}.`;
}

function summary(checks: Check[]): string {
  const counts = { pass: 0, fail: 0, inconclusive: 0 };
  for (const c of checks) counts[c.outcome]++;
  return (['fail', 'inconclusive', 'pass'] as const)
    .filter((o) => counts[o] > 0)
    .map((o) => `${counts[o]} ${o === 'pass' ? 'hold' : o === 'fail' ? 'failed' : 'undecided'}`)
    .join(', ');
}

function describeExpectation(e: LatencyExpectation): string {
  const parts: string[] = [];
  for (const [key, b] of Object.entries(e.percentiles)) {
    if (b.below !== undefined) parts.push(`${key} below ${formatMs(b.below)}`);
    if (b.above !== undefined) parts.push(`${key} above ${formatMs(b.above)}`);
  }
  if (e.delayed) parts.push(`${describeShareBound(e.delayed.share)} of requests take at least ${formatMs(e.delayed.atLeastMs)}`);
  return parts.join(', ');
}

/** The schema's `latency` object: its own fields beside percentile keys (p50, p99.9, max...) holding bounds. */
interface RawLatency extends RawCommon {
  delayed?: { atLeast: RawDuration; share: RawShareBound };
  where?: RawWhere;
}
/** One percentile's bounds in the schema's `latency` object. */
interface RawPercentileBound {
  below?: RawDuration;
  above?: RawDuration;
}

export const latencyKind: KindHandler<LatencyExpectation, RawLatency> = {
  parse({ n, raw, path, common }) {
    const percentiles: Record<string, { below?: number; above?: number }> = {};
    for (const [key, field] of Object.entries(raw as Record<string, unknown>)) {
      if (['delayed', 'where', 'confidence', 'title'].includes(key)) continue;
      const value = field as RawPercentileBound; // the schema's patternProperties: every other key is a percentile
      const entry: { below?: number; above?: number } = {};
      if (value.below !== undefined) entry.below = n.duration(value.below, [...path, key, 'below'], 'ms');
      if (value.above !== undefined) entry.above = n.duration(value.above, [...path, key, 'above'], 'ms');
      if (entry.below !== undefined && entry.above !== undefined && entry.above >= entry.below) {
        throw n.error([...path, key], `above (${entry.above} ms) must be less than below (${entry.below} ms)`);
      }
      percentiles[key] = entry;
    }
    const delayed = raw.delayed
      ? {
          atLeastMs: n.duration(raw.delayed.atLeast, [...path, 'delayed', 'atLeast'], 'ms'),
          share: n.shareBound(raw.delayed.share, [...path, 'delayed', 'share']),
        }
      : undefined;
    if (!delayed && Object.keys(percentiles).length === 0) throw n.error(path, 'latency needs a percentile (p50, p99, max...) or delayed');
    return {
      kind: 'latency',
      ...common,
      title: raw.title ?? `latency ${Object.keys(percentiles).join(', ') || 'delayed share'}${population(raw.where)}`,
      percentiles,
      delayed,
      where: where(raw.where),
    };
  },
  judge: judgeLatency,
  judgedFromClient: () => true,
};
