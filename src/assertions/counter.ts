// counter: how much any exported proxy counter rose during the load (the delta the runner took around it).
// Counters count what happened, so the verdict is exact (no sampling error); see ./count.ts.
import type { CounterExpectation } from '../spec/types.ts';
import type { JudgeContext, Verdict } from './verdict.ts';
import type { Band } from './stats/band.ts';
import { countBand, countReason, describeCountBound, judgeCount } from './count.ts';
import { formatCount } from './stats/format.ts';
import { LOAD_RESPONSES, scalarBand, type KindHandler } from './kind.ts';
import { countOf, type RawCommon, type RawCountBound } from '../spec/expectation-input.ts';

function selector(e: CounterExpectation): string {
  const labels = Object.entries(e.labels).map(([k, v]) => `${k}="${v}"`);
  return `${e.name}${labels.length ? `{${labels.join(',')}}` : ''}`;
}

/** Workload of a proxy instance name: reviews-v2-7d4f9c-x2k → reviews-v2 is matched by prefix + dash, or exactly. */
function ofWorkload(proxy: string, workload: string): boolean {
  return proxy === workload || proxy.startsWith(`${workload}-`) || proxy.startsWith(`${workload}.`);
}

/** A series' label value; in Prometheus a label with an empty value is the same as no label, so `""` selects its absence. */
function labelValue(labels: Record<string, string>, name: string): string {
  return labels[name] ?? '';
}

export interface CounterDetails {
  /** The rise per proxy. */
  byProxy: Record<string, number>;
  /** Series of the counter that moved. */
  series: number;
  band: Band;
  exact: true;
}

export function judgeCounter(e: CounterExpectation, context: JudgeContext): Verdict {
  const samples = context.counters.filter(
    (s) =>
      s.name === e.name && (e.proxy === undefined || ofWorkload(s.proxy, e.proxy)) && Object.entries(e.labels).every(([k, v]) => labelValue(s.labels, k) === v),
  );
  const total = samples.reduce((sum, s) => sum + s.value, 0);
  const j = judgeCount(total, e.count, context);
  const expected = describeCountBound(e.count);
  const byProxy: Record<string, number> = {};
  for (const s of samples) byProxy[s.proxy] = (byProxy[s.proxy] ?? 0) + s.value;
  const where = e.proxy ? ` at ${e.proxy}'s proxies` : '';
  const moved = Object.entries(byProxy)
    .filter(([, v]) => v !== 0)
    .map(([p, v]) => `${p} ${formatCount(v)}`);
  // Deltas leave out series that did not move: "no series" is also what a proxy that does not export the counter gives.
  const unseen = samples.length === 0 ? ` (no series of it moved${where}: if the proxies do not export it, add its prefix to proxyStatsMatcher)` : '';
  return {
    kind: 'counter',
    title: e.title,
    outcome: j.outcome,
    observed: total,
    expected,
    confidence: e.confidence,
    sampleSize: context.observation.total,
    explanation: `${selector(e)} rose by ${formatCount(total)}${where}${moved.length > 1 ? ` (${moved.join(', ')})` : ''}; expected ${expected}${countReason(j)}${unseen}.`,
    evidence: { unit: 'count', expected: scalarBand(countBand(j, e.count)), population: { source: 'mesh', of: LOAD_RESPONSES } },
    details: { byProxy, series: samples.length, band: j.band, exact: true } satisfies CounterDetails,
    source: e.source,
  };
}

/** The schema's `counter` object: the counter and an inline count bound. */
interface RawCounter extends RawCommon, RawCountBound {
  name: string;
  proxy?: string;
  labels?: Record<string, string | number>;
}

export const counterKind: KindHandler<CounterExpectation, RawCounter> = {
  parse({ n, raw, path, common }) {
    const count = countOf(n, raw, path, 'counter');
    const labels: Record<string, string> = Object.fromEntries(Object.entries<string | number>(raw.labels ?? {}).map(([k, v]) => [k, String(v)]));
    return {
      kind: 'counter',
      ...common,
      title: raw.title ?? `${raw.name}${raw.proxy ? ` at ${raw.proxy}` : ''}`,
      name: raw.name,
      ...(raw.proxy !== undefined ? { proxy: raw.proxy } : {}),
      labels,
      count,
    };
  },
  judge: judgeCounter,
  judgedFromClient: () => false,
};
