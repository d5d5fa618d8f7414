// What every reporter shares: outcome tallies, number formatting, sweep groups. Reporters render a verdict from its
// own fields and evidence (unit, expected band, population); they never re-derive them from the expectation.
import type { Expectation } from '../spec/types.ts';
import type { ValueUnit, Verdict } from '../assertions/verdict.ts';
import type { ExperimentOutcome, ExperimentResult, JudgedVerdict, RunResult } from '../runner/result.ts';
import { formatDuration } from '../spec/units.ts';

export const outcomes: readonly ExperimentOutcome[] = ['pass', 'fail', 'inconclusive', 'error', 'interrupted', 'skipped'];

export function tallyOutcomes(items: readonly { outcome: ExperimentOutcome }[]): Record<ExperimentOutcome, number> {
  const tally: Record<ExperimentOutcome, number> = { pass: 0, fail: 0, inconclusive: 0, error: 0, interrupted: 0, skipped: 0 };
  for (const item of items) tally[item.outcome]++;
  return tally;
}

/** "3 passed, 1 failed" — only the non-zero parts, in a fixed order. */
export function describeTally(tally: Record<ExperimentOutcome, number>): string {
  const words: Record<ExperimentOutcome, string> = {
    pass: 'passed',
    fail: 'failed',
    inconclusive: 'inconclusive',
    error: 'errored',
    interrupted: 'interrupted',
    skipped: 'skipped',
  };
  const parts = outcomes.filter((o) => tally[o] > 0).map((o) => `${tally[o]} ${words[o]}`);
  return parts.length ? parts.join(', ') : 'nothing run';
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${formatNumber(ms, 3)}ms`;
  return formatDuration(ms);
}

/** A number with at most `digits` significant decimals, no exponent for everyday magnitudes. */
export function formatNumber(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined) return '—';
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e9)) return value.toExponential(2);
  return String(+value.toFixed(Math.max(0, digits - Math.max(0, Math.floor(Math.log10(abs))))));
}

export type { ValueUnit } from '../assertions/verdict.ts';

export function formatValue(value: number | null | undefined, unit: ValueUnit): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return formatNumber(value);
  if (unit === 'share') return `${formatNumber(value * 100, 3)} %`;
  if (unit === 'ms') return formatMs(value);
  return formatNumber(value);
}

/** Observed value(s) as text, in the verdict's unit; per-category values keep their order. */
export function formatObserved(verdict: Verdict): string {
  const unit = verdict.evidence.unit;
  const observed = verdict.observed as number | Record<string, number | null> | null;
  if (observed === null || typeof observed === 'number') return formatValue(observed, unit);
  return Object.entries(observed)
    .map(([key, value]) => `${key} ${formatValue(value, unit)}`)
    .join(', ');
}

type Interval = [number | null, number | null];

/** The interval(s) as text, in the verdict's unit. */
export function formatInterval(verdict: Verdict): string {
  const unit = verdict.evidence.unit;
  const interval = verdict.interval as Interval | Record<string, Interval> | undefined;
  if (!interval) return '—';
  const one = (i: Interval) => `[${formatValue(i[0], unit)}, ${formatValue(i[1], unit)}]`;
  if (Array.isArray(interval)) return one(interval);
  return Object.entries(interval)
    .map(([key, i]) => `${key} ${one(i)}`)
    .join(', ');
}

export function formatConfidence(confidence: number): string {
  return `${formatNumber(confidence * 100, 4)} %`;
}

export function formatPValue(p: number | null | undefined): string {
  if (p === null || p === undefined) return '—';
  if (p > 0 && p < 1e-4) return '< 0.0001';
  return formatNumber(p, 4);
}

/** The expectation a verdict judged (result.json pairs them by index). */
export function expectationOf(experiment: ExperimentResult, verdict: JudgedVerdict): Expectation | undefined {
  return experiment.expectations[verdict.expectationIndex];
}

/** Experiments of one sweep (same `sweep.baseName`), in run order. */
export interface SweepGroup {
  baseName: string;
  /** Parameter names, in the order the first point lists them. */
  params: string[];
  points: ExperimentResult[];
}

export function sweepGroups(result: RunResult): SweepGroup[] {
  const groups = new Map<string, SweepGroup>();
  for (const experiment of result.experiments) {
    if (!experiment.sweep) continue;
    const key = experiment.sweep.baseName;
    let group = groups.get(key);
    if (!group) {
      group = { baseName: key, params: Object.keys(experiment.sweep.params), points: [] };
      groups.set(key, group);
    }
    group.points.push(experiment);
  }
  return [...groups.values()];
}

/** "percent=10, retries=2" */
export function describeSweepPoint(params: Record<string, string | number>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** Status totals over the whole load, from the per-second series, keys in numeric order. */
export function statusTotals(experiment: ExperimentResult): [string, number][] {
  const totals = new Map<string, number>();
  for (const point of experiment.observation?.timeSeries ?? []) {
    for (const [status, count] of Object.entries(point.byStatus)) totals.set(status, (totals.get(status) ?? 0) + count);
  }
  return [...totals.entries()].sort(compareStatus);
}

export function compareStatus(a: [string, unknown] | string, b: [string, unknown] | string): number {
  const ka = typeof a === 'string' ? a : a[0];
  const kb = typeof b === 'string' ? b : b[0];
  const na = Number(ka);
  const nb = Number(kb);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Achieved request rate over the load, when known. */
export function achievedRate(experiment: ExperimentResult): number | undefined {
  const summary = experiment.loadSummary;
  if (!summary || summary.durationMs <= 0) return undefined;
  return summary.sent / (summary.durationMs / 1000);
}

/** "open 100 req/s for 20s (warm-up 1s)" */
export function describeLoadModel(experiment: ExperimentResult): string {
  const load = experiment.load;
  const model = load.model.kind === 'open' ? `open model, ${load.model.rate} req/s` : `closed model, ${load.model.connections} connections`;
  const stop =
    load.durationMs !== undefined ? `for ${formatDuration(load.durationMs)}` : load.totalRequests !== undefined ? `for ${load.totalRequests} requests` : '';
  return [model, stop].filter(Boolean).join(' ');
}

/** Stable, URL-safe anchor for an experiment (names are untrusted and need not be unique). */
export function experimentAnchor(experiment: ExperimentResult, index: number): string {
  const slug = experiment.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
  return `exp-${index + 1}${slug ? '-' + slug : ''}`;
}

/** The command line as a user would paste it into a POSIX shell. */
export function shellQuote(args: readonly string[]): string {
  return args.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** `file:line:col`, or the file alone. */
export function formatSource(source: { file: string; line: number; col: number } | undefined): string | undefined {
  return source ? `${source.file}:${source.line}:${source.col}` : undefined;
}
