// Vega-Lite specs of the report's charts. Each builder returns undefined when there is nothing to draw.
import type { TopLevelSpec } from 'vega-lite';
import { detailsOf, type Verdict } from '../../assertions/verdict.ts';
import type { LatencyLimit, PercentilesMs } from '../../assertions/latency.ts';
import type { RateLimitSecond } from '../../assertions/rate-limited.ts';
import type { ExperimentResult, RunEvent } from '../../runner/result.ts';
import { compareStatus, type SweepGroup, type ValueUnit } from '../base.ts';
import { must } from '../../must.ts';

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Vega-Lite's types reject layered specs built from computed parts; the compiler validates them at run time. */
function asSpec(spec: object): TopLevelSpec {
  return spec as unknown as TopLevelSpec;
}
const wide = 620;
const narrow = 420;

const eventLabels: Record<RunEvent['what'], string> = {
  applied: 'config applied',
  converged: 'converged',
  'load-start': 'load start',
  'load-end': 'load end',
  restored: 'config removed',
};

/** Colours by status class, so a wall of 429s is orange and a spike of 503s is red whatever else is there. */
export function statusColor(status: string, indexInClass: number): string {
  const palettes: Record<string, string[]> = {
    '2': ['#2e9e5b', '#6cc08b', '#1d6f40'],
    '3': ['#3b7dd8', '#7aa9e8'],
    '4': ['#f28e2b', '#d4a017', '#b07aa1', '#e8b36f'],
    '5': ['#d62728', '#ff7f7f', '#8c1c1c', '#e15759'],
  };
  if (status === '429') return '#f28e2b';
  const palette = palettes[status.charAt(0)] ?? ['#7f7f7f', '#b0b0b0'];
  return must(palette[indexInClass % palette.length], `colour ${indexInClass} of status class ${status.charAt(0)}`);
}

function statusName(status: string): string {
  return status === '0' ? 'no response' : status;
}

function colorScale(statuses: string[]): { domain: string[]; range: string[] } {
  const perClass = new Map<string, number>();
  const range = statuses.map((s) => {
    const cls = s === '429' ? '429' : s.charAt(0);
    const i = perClass.get(cls) ?? 0;
    perClass.set(cls, i + 1);
    return statusColor(s, s === '429' ? 0 : i + (cls === '4' ? 1 : 0));
  });
  return { domain: statuses.map(statusName), range };
}

/** Requests per second by status over the load, with the moments config was applied, converged and removed. */
export function throughputChart(experiment: ExperimentResult): TopLevelSpec | undefined {
  const series = experiment.observation?.timeSeries ?? [];
  if (series.length === 0) return undefined;
  const statuses = [...new Set(series.flatMap((p) => Object.keys(p.byStatus)))].sort(compareStatus);
  const rows = series.flatMap((p) =>
    statuses.filter((s) => (p.byStatus[s] ?? 0) > 0).map((s) => ({ t: p.second, t2: p.second + 1, status: statusName(s), n: p.byStatus[s] })),
  );
  // Load start and end are the ends of the bars; the config moments are what a reader looks for.
  const marked = [...experiment.events].filter((e) => e.what !== 'load-start' && e.what !== 'load-end').sort((a, b) => a.atMs - b.atMs);
  // Whole seconds at both ends: with a binned x of step 1, Vega-Lite puts ticks at domainMin + k, so a fractional
  // start (the moment config was applied, e.g. −0.902 s) would put the tick labelled "0" beside the bar starting at 0.
  const maxSecond = Math.ceil(Math.max(...series.map((p) => p.second + 1), ...marked.map((e) => e.atMs / 1000)));
  const minSecond = Math.floor(Math.min(0, ...marked.map((e) => e.atMs / 1000)));
  const middle = (minSecond + maxSecond) / 2;
  const events = marked.map((e, i) => ({ t: e.atMs / 1000, label: eventLabels[e.what], row: i % 3, right: e.atMs / 1000 > middle ? 1 : 0 }));
  const x = {
    field: 't',
    type: 'quantitative',
    title: 'seconds since load start',
    scale: { domain: [minSecond, maxSecond], nice: false },
    axis: { tickMinStep: 1 },
  } as const;
  return asSpec({
    $schema: schema,
    width: wide,
    height: 220,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'bar', binSpacing: 0 },
        encoding: {
          x: { ...x, bin: { binned: true, step: 1 } },
          x2: { field: 't2' },
          y: { aggregate: 'sum', field: 'n', type: 'quantitative', title: 'requests / s', stack: 'zero' },
          color: { field: 'status', type: 'nominal', title: 'status', scale: colorScale(statuses), sort: statuses.map(statusName) },
          order: { field: 'status', sort: 'ascending' },
        },
      },
      {
        data: { values: events },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#39424e', strokeWidth: 1.2 },
        encoding: { x },
      },
      // One text layer per (row, side): staggered rows keep close events readable, late events label leftwards.
      ...[0, 1, 2].flatMap((row) =>
        [0, 1].map((right) => ({
          data: { values: events },
          transform: [{ filter: `datum.row == ${row} && datum.right == ${right}` }],
          mark: {
            type: 'text',
            align: right ? 'right' : 'left',
            dx: right ? -4 : 4,
            dy: 3 + row * 12,
            baseline: 'top',
            fontSize: 10,
            color: '#1d232b',
            fontWeight: 600,
          },
          encoding: { x, y: { value: 0 }, text: { field: 'label' } },
        })),
      ),
    ],
  });
}

/** Observed share per category with its confidence interval, against the expected weight (± tolerance). */
export function distributionChart(verdict: Verdict): TopLevelSpec | undefined {
  // A statistic that was NaN or infinite reads back from result.json as null, whatever the type says.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  if (verdict.kind !== 'distribution' || typeof verdict.observed !== 'object' || verdict.observed === null) return undefined;
  const observed = verdict.observed as Record<string, number | null>;
  const total = Object.values(observed).reduce<number>((a, b) => a + (b ?? 0), 0);
  // Shares by contract; tolerate counts by normalising.
  const scale = total > 1.000001 ? 1 / total : 1;
  const intervals = (verdict.interval && !Array.isArray(verdict.interval) ? verdict.interval : {}) as Record<string, [number | null, number | null]>;
  const expected = verdict.evidence.expected;
  const categories = [...new Set([...Object.keys(expected), ...Object.keys(observed)])].filter((c) => c !== '');
  if (categories.length === 0) return undefined;
  const rows = categories.map((category) => {
    const e = expected[category];
    const i = intervals[category];
    return {
      category,
      observed: (observed[category] ?? 0) * scale,
      lo: i?.[0] ?? null,
      hi: i?.[1] ?? null,
      expected: e?.value ?? null,
      emin: e?.min ?? null,
      emax: e?.max ?? null,
    };
  });
  const x = { field: 'category', type: 'nominal', title: null, sort: categories, axis: { labelAngle: 0, labelLimit: 160 } } as const;
  const y = { type: 'quantitative', axis: { format: '.0%' }, scale: { domain: [0, 1] } } as const;
  return asSpec({
    $schema: schema,
    width: Math.max(220, Math.min(narrow, categories.length * 90)),
    height: 220,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'bar', color: '#cfe0f5', width: { band: 0.8 } },
        encoding: { x, y: { ...y, field: 'emax', title: 'share of responses' }, y2: { field: 'emin' } },
      },
      { mark: { type: 'bar', color: '#3b7dd8', width: { band: 0.42 } }, encoding: { x, y: { ...y, field: 'observed' } } },
      { mark: { type: 'rule', color: '#1d232b', strokeWidth: 1.6 }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
      { mark: { type: 'tick', color: '#1d232b', thickness: 2.5, size: 46 }, encoding: { x, y: { ...y, field: 'expected' } } },
      {
        mark: { type: 'text', dy: -8, fontSize: 11, color: '#1d232b', align: 'left', dx: 10 },
        encoding: { x, y: { ...y, field: 'hi' }, text: { field: 'observed', type: 'quantitative', format: '.1%' } },
      },
    ],
  });
}

/**
 * Latency percentiles, each chart true to its population: one of every recorded request with the limits of the latency
 * verdicts whose population is every request, and one per latency verdict with a `where`, from that verdict's own
 * population (its details.percentilesMs) with its own limits (details.limits).
 */
export function latencyCharts(experiment: ExperimentResult): { spec: TopLevelSpec; population?: Record<string, string>; title?: string }[] {
  const out: { spec: TopLevelSpec; population?: Record<string, string>; title?: string }[] = [];
  const latency = experiment.verdicts.flatMap((verdict) => {
    const details = detailsOf(verdict, 'latency');
    return details ? [{ verdict, details, where: verdict.evidence.population.where }] : [];
  });
  const all = experiment.observation?.latency;
  if (experiment.observation && experiment.observation.total > 0 && all) {
    const spec = latencyChart(
      all,
      latency.filter((l) => !l.where).flatMap((l) => l.details.limits),
    );
    if (spec) out.push({ spec });
  }
  for (const { verdict, details, where } of latency) {
    if (!where || details.percentilesMs.p50 === undefined) continue;
    const spec = latencyChart(details.percentilesMs, details.limits);
    if (spec) out.push({ spec, population: where, title: verdict.title });
  }
  return out;
}

function latencyChart(latency: PercentilesMs, limitsToMark: LatencyLimit[]): TopLevelSpec | undefined {
  const rows = [
    ['p50', latency.p50],
    ['p90', latency.p90],
    ['p99', latency.p99],
    ['p99.9', latency.p999],
    ['max', latency.max],
  ]
    .filter(([, v]) => typeof v === 'number' && Number.isFinite(v))
    .map(([percentile, ms]) => ({ percentile, ms }));
  const order = rows.map((r) => r.percentile as string);
  if (rows.length === 0) return undefined;
  const limits = limitsToMark
    .map((l) => ({ percentile: normalisePercentile(l.percentile), ms: l.thresholdMs, limit: l.direction === 'below' ? 'must stay below' : 'must stay above' }))
    .filter((l) => order.includes(l.percentile));
  const x = { field: 'percentile', type: 'nominal', sort: order, title: null, axis: { labelAngle: 0 } } as const;
  const y = { field: 'ms', type: 'quantitative', title: 'latency (ms)' } as const;
  const layers: unknown[] = [
    { data: { values: rows }, mark: { type: 'bar', color: '#7a6fd0', width: { band: 0.6 } }, encoding: { x, y } },
    {
      data: { values: rows },
      mark: { type: 'text', dy: -7, fontSize: 11, color: '#1d232b' },
      encoding: { x, y, text: { field: 'ms', type: 'quantitative', format: '.1f' } },
    },
  ];
  if (limits.length > 0) {
    layers.push({
      data: { values: limits },
      mark: { type: 'tick', thickness: 2.5, size: 60 },
      encoding: { x, y, color: { field: 'limit', type: 'nominal', title: null, scale: limitScale(limits.map((l) => l.limit)) } },
    });
  }
  return asSpec({ $schema: schema, width: 320, height: 220, layer: layers });
}

function limitScale(present: string[]): { domain: string[]; range: string[] } {
  const all: [string, string][] = [
    ['must stay below', '#d62728'],
    ['must stay above', '#2e9e5b'],
  ];
  const used = all.filter(([name]) => present.includes(name));
  return { domain: used.map(([name]) => name), range: used.map(([, colour]) => colour) };
}

function normalisePercentile(p: string): string {
  if (p === 'p999') return 'p99.9';
  return p;
}

/**
 * A rateLimited verdict's `details.perSecond` (src/assertions/rate-limited.ts): requests limited as seen by the client,
 * and as the token bucket predicts when the same arrivals are replayed through it. Rows checked, as a result file may
 * be hand-edited.
 */
export function rateLimitSeries(verdict: Verdict): RateLimitSecond[] | undefined {
  const perSecond: unknown = detailsOf(verdict, 'rateLimited')?.perSecond;
  if (!Array.isArray(perSecond)) return undefined;
  const rows = perSecond.filter((p: unknown): p is RateLimitSecond => {
    const row = typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : {};
    return typeof row.second === 'number' && typeof row.observedLimited === 'number' && typeof row.predictedLimited === 'number';
  });
  return rows.length > 0 ? rows : undefined;
}

/** 429s per second against the token-bucket prediction. */
export function rateLimitChart(verdict: Verdict): TopLevelSpec | undefined {
  if (verdict.kind !== 'rateLimited') return undefined;
  const rows = rateLimitSeries(verdict);
  if (!rows) return undefined;
  const data = rows.map((r) => ({ t: r.second, t2: r.second + 1, mid: r.second + 0.5, observed: r.observedLimited, predicted: r.predictedLimited }));
  const x = { field: 't', type: 'quantitative', title: 'seconds since load start', bin: { binned: true, step: 1 }, axis: { tickMinStep: 1 } } as const;
  const series = { domain: ['observed 429s', 'token-bucket prediction'], range: ['#f28e2b', '#1d232b'] };
  const layers: unknown[] = [];
  layers.push(
    {
      transform: [{ calculate: "'observed 429s'", as: 'series' }],
      mark: { type: 'bar', binSpacing: 2, opacity: 0.9 },
      encoding: {
        x,
        x2: { field: 't2' },
        y: { field: 'observed', type: 'quantitative', title: '429 responses / s' },
        color: { field: 'series', type: 'nominal', title: null, scale: series },
      },
    },
    {
      transform: [{ calculate: "'token-bucket prediction'", as: 'series' }],
      mark: { type: 'line', point: { filled: true, size: 28 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'mid', type: 'quantitative' },
        y: { field: 'predicted', type: 'quantitative' },
        color: { field: 'series', type: 'nominal', title: null, scale: series },
      },
    },
  );
  return asSpec({ $schema: schema, width: wide, height: 200, data: { values: data }, layer: layers });
}

export interface SweepChart {
  title: string;
  unit: ValueUnit;
  spec: TopLevelSpec;
  /** Verdict outcomes ringed on the chart (points that did not pass), for its caption. */
  rings: ('fail' | 'inconclusive')[];
}

/**
 * One curve per verdict of a sweep: observed (with interval) against the first parameter, expected overlaid
 * as a dashed line and a band. Verdicts are matched across points by kind and title.
 */
export function sweepCharts(group: SweepGroup): SweepChart[] {
  const [param] = group.params;
  if (group.points.length < 2 || param === undefined) return [];
  const values = group.points.map((p) => p.sweep?.params[param]);
  const numeric = values.every((v) => v !== undefined && v !== '' && Number.isFinite(Number(v)));
  // The points are one experiment file, so the i-th verdict of every point judges the same expectation, even when its
  // title differs per point (a title that names the swept value, e.g. "share of 503 ≈ 30%").
  const keys: { kind: string; title: string; index: number }[] = [];
  for (const point of group.points) {
    point.verdicts.forEach((v, index) => {
      if (!keys.some((k) => k.index === index)) keys.push({ kind: v.kind, title: v.title, index });
    });
  }
  const charts: SweepChart[] = [];
  for (const key of keys) {
    const rows: Record<string, unknown>[] = [];
    let unit = 'count' as ValueUnit;
    group.points.forEach((point, pointIndex) => {
      const verdictIndex = key.index;
      if (point.verdicts[verdictIndex]?.kind !== key.kind) return;
      const verdict = point.verdicts[verdictIndex];
      unit = verdict.evidence.unit;
      const x = numeric ? Number(values[pointIndex]) : String(values[pointIndex]);
      const expected = verdict.evidence.expected;
      const observed = verdict.observed as number | Record<string, number> | null;
      const interval = verdict.interval;
      const entries: [string, number | null, [number, number] | undefined][] =
        typeof observed === 'number' || observed === null
          ? [['', observed, Array.isArray(interval) ? interval : undefined]]
          : Object.entries(observed).map(([k, v]) => [k, v, interval && !Array.isArray(interval) ? interval[k] : undefined]);
      for (const [series, value, i] of entries) {
        const e = expected[series];
        rows.push({
          x,
          order: pointIndex,
          series: series || 'observed',
          observed: value,
          lo: i?.[0] ?? null,
          hi: i?.[1] ?? null,
          expected: e?.value ?? null,
          emin: e?.min ?? null,
          emax: e?.max ?? null,
          outcome: verdict.outcome,
        });
      }
    });
    if (rows.length < 2) continue;
    const xEnc = numeric
      ? { field: 'x', type: 'quantitative', title: param, scale: { zero: false, padding: 12 } }
      : { field: 'x', type: 'ordinal', title: param, sort: values.map(String) };
    const yAxis = unit === 'share' ? { format: '.0%' } : {};
    const yTitle = unit === 'share' ? 'share of responses' : unit === 'ms' ? 'ms' : 'count';
    // Per-category verdicts get a colour per category; a scalar verdict is blue observed over a grey expected band.
    const perCategory = rows.some((r) => r.series !== 'observed');
    const color = perCategory ? { field: 'series', type: 'nominal', title: null } : { value: '#3b7dd8' };
    const expectedColor = perCategory ? color : { value: '#1d232b' };
    const bandColor = perCategory ? color : { value: '#9aa3ad' };
    const rings = (['fail', 'inconclusive'] as const).filter((outcome) => rows.some((r) => r.outcome === outcome));
    const layers: unknown[] = [
      {
        mark: { type: 'area', opacity: perCategory ? 0.12 : 0.3 },
        encoding: { x: xEnc, y: { field: 'emin', type: 'quantitative' }, y2: { field: 'emax' }, color: bandColor },
      },
      {
        mark: { type: 'line', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { x: xEnc, y: { field: 'expected', type: 'quantitative' }, color: expectedColor },
      },
      { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      {
        mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 2.2 },
        encoding: { x: xEnc, y: { field: 'observed', type: 'quantitative', title: yTitle, axis: yAxis }, color },
      },
      // A ring around each point whose verdict did not pass: red failed, amber inconclusive (fixed colours, so no
      // second colour scale competes with the categories').
      ...rings.map((outcome) => ({
        transform: [{ filter: `datum.outcome === '${outcome}'` }],
        mark: { type: 'point', filled: false, size: 190, strokeWidth: 2.5, color: outcome === 'fail' ? '#cf222e' : '#9a6700' },
        encoding: { x: xEnc, y: { field: 'observed', type: 'quantitative' } },
      })),
    ];
    const titles = new Set(group.points.map((p) => p.verdicts[key.index]?.title).filter(Boolean));
    charts.push({
      title: titles.size > 1 ? `${key.kind} (expectation ${key.index + 1})` : key.title,
      unit,
      rings,
      spec: asSpec({ $schema: schema, width: narrow, height: 220, data: { values: rows }, layer: layers }),
    });
  }
  return charts;
}
