// flags: counts or shares of Envoy response flags (UO, URX, FI, DI, RL, UH, UT, ...).
//
// from: mesh — istio_requests_total{response_flags} deltas (optionally for one destination service). Each hop is
// reported by the proxy on either side; a flag is set by the proxy that made the decision (UO, URX, FI, DI, UH, UT
// at the caller: reporter="source"; an inbound RL at the destination), so counts and shares are taken within the
// one reporter that saw the flag most, which avoids counting one request twice.
// from: client — the `flag` label the envoy classifier put on each response.
// A count is exact (no sampling error); a share gets an interval like every other share.
import type { FlagsExpectation } from '../spec/types.ts';
import type { CounterSample } from '../observe/types.ts';
import type { ExpectedBand, JudgeContext, Outcome, Verdict } from './verdict.ts';
import { ISTIO_REQUESTS_TOTAL } from './counters.ts';
import { countWhere, FLAG_LABEL, hasFlag } from './labels.ts';
import { combineOutcomes } from './stats/band.ts';
import { formatCount, plural } from './stats/format.ts';
import { countBand, countReason, describeCountBound, judgeCount } from './count.ts';
import { judgeShareBound, shareReason, shareText } from './share.ts';
import { scalarBand, type KindHandler } from './kind.ts';
import type { RawCommon, RawCountBound, RawShareBound } from '../spec/expectation-input.ts';

interface FlagCounts {
  flagged: number;
  total: number;
  /** Which istio_requests_total reporter the counts come from (mesh only). */
  reporter?: string;
}

export function meshFlagCounts(counters: CounterSample[], flag: string, service?: string): FlagCounts {
  const byReporter = new Map<string, { flagged: number; total: number }>();
  for (const s of counters) {
    if (s.name !== ISTIO_REQUESTS_TOTAL) continue;
    if (service !== undefined && s.labels.destination_service_name !== service) continue;
    const reporter = s.labels.reporter ?? 'unknown';
    const entry = byReporter.get(reporter) ?? { flagged: 0, total: 0 };
    entry.total += s.value;
    if (hasFlag(s.labels.response_flags, flag)) entry.flagged += s.value;
    byReporter.set(reporter, entry);
  }
  let best: FlagCounts = { flagged: 0, total: 0 };
  for (const reporter of ['source', 'destination', ...[...byReporter.keys()].filter((r) => r !== 'source' && r !== 'destination')]) {
    const entry = byReporter.get(reporter);
    if (entry && (best.reporter === undefined || entry.flagged > best.flagged)) best = { ...entry, reporter };
  }
  return best;
}

export interface FlagsDetails {
  from: 'mesh' | 'client';
  flagged: number;
  total: number;
  /** Which istio_requests_total reporter the counts come from (mesh only). */
  reporter?: string;
}

export function judgeFlags(e: FlagsExpectation, context: JudgeContext): Verdict {
  const counts =
    e.from === 'mesh'
      ? meshFlagCounts(context.counters, e.flag, e.service)
      : { flagged: countWhere(context.observation, FLAG_LABEL, (v) => hasFlag(v, e.flag)), total: context.observation.total };
  const population =
    e.from === 'mesh'
      ? `${plural(counts.total, 'request')}${e.service ? ` to ${e.service}` : ''} in istio_requests_total${counts.reporter ? ` (reporter=${counts.reporter})` : ''}`
      : `${plural(counts.total, 'response')} at the client`;
  const parts: { outcome: Outcome; text: string }[] = [];
  const expectedParts: string[] = [];
  let interval: [number, number] | undefined;
  let share: number | undefined;
  let band: ExpectedBand = {};

  if (e.count) {
    const j = judgeCount(counts.flagged, e.count, context);
    band = countBand(j, e.count);
    const expected = describeCountBound(e.count);
    expectedParts.push(`${expected} flagged ${e.flag}`);
    parts.push({ outcome: j.outcome, text: `${formatCount(counts.flagged)} of ${population} carried flag ${e.flag}; expected ${expected}${countReason(j)}` });
  }
  if (e.ratio) {
    const { judgement: j, expected, band: shareBand } = judgeShareBound(counts.flagged, counts.total, e.ratio, e.confidence, context);
    band = shareBand;
    expectedParts.push(`${expected} flagged ${e.flag}`);
    interval = j.interval;
    share = j.share;
    parts.push({ outcome: j.outcome, text: `${shareText(j)} of ${population} carried flag ${e.flag}; expected ${expected}${shareReason(j)}` });
  }
  const outcome = counts.total === 0 && e.ratio ? 'inconclusive' : combineOutcomes(parts.map((p) => p.outcome));
  const first = parts.find((p) => p.outcome === outcome) ?? parts[0];
  const explanation =
    first === undefined
      ? `Nothing to judge: the flags expectation gives neither a count nor a ratio.`
      : counts.total === 0 && e.from === 'mesh'
        ? `No istio_requests_total${e.service ? ` for ${e.service}` : ''} moved during the load, so flag ${e.flag} cannot be counted from the mesh.`
        : `${capitalise(first.text)}.`;
  return {
    kind: 'flags',
    title: e.title,
    outcome: parts.length === 0 ? 'inconclusive' : outcome,
    observed: share ?? counts.flagged,
    expected: expectedParts.join(' and '),
    interval,
    confidence: e.confidence,
    sampleSize: counts.total,
    explanation,
    evidence: {
      unit: share !== undefined ? 'share' : 'count',
      expected: scalarBand(band),
      population:
        e.from === 'mesh'
          ? {
              source: 'mesh',
              of: `requests${e.service ? ` to ${e.service}` : ''} in istio_requests_total${counts.reporter ? ` (reporter=${counts.reporter})` : ''}`,
            }
          : { source: 'client', of: 'responses' },
    },
    details: { from: e.from, flagged: counts.flagged, total: counts.total, reporter: counts.reporter } satisfies FlagsDetails,
    source: e.source,
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The schema's `flags` object. */
interface RawFlags extends RawCommon {
  flag: string;
  from?: 'mesh' | 'client';
  service?: string;
  count?: RawCountBound;
  ratio?: RawShareBound;
}

export const flagsKind: KindHandler<FlagsExpectation, RawFlags> = {
  parse({ n, raw, path, common }) {
    if ((raw.count === undefined) === (raw.ratio === undefined)) throw n.error(path, 'flags needs exactly one of count or ratio');
    const from = raw.from ?? 'mesh';
    if (from === 'mesh' && raw.ratio !== undefined && raw.service === undefined) {
      // a ratio needs a denominator: all mesh requests to one service
      throw n.error([...path, 'ratio'], 'a mesh-side flag ratio needs service (the destination whose requests are the denominator)', true);
    }
    return {
      kind: 'flags',
      ...common,
      title: raw.title ?? `flag ${raw.flag} (${from})`,
      flag: raw.flag,
      from,
      ...(raw.count !== undefined ? { count: n.countBound(raw.count, [...path, 'count']) } : {}),
      ...(raw.ratio !== undefined ? { ratio: n.shareBound(raw.ratio, [...path, 'ratio']) } : {}),
      service: raw.service,
    };
  },
  judge: judgeFlags,
  judgedFromClient: () => false,
};
