// sticky: within each group of responses (each value of `by`: a named request, a user header's label...), the share
// that carries the group's most common value of `of` (the pod, the version) — what consistent hashing and session
// affinity promise. Each group's most common value is chosen after looking at the data, so its share is judged with a
// Bonferroni correction over every value the group showed (the chance that any one of them clears the bound by luck
// is at most the sum), and over the groups (every group must be sticky): both error rates stay at most 1 − confidence.
import type { StickyExpectation } from '../spec/types.ts';
import type { JudgeContext, Outcome, Verdict } from './verdict.ts';
import type { Band } from './stats/band.ts';
import type { IntervalMethod } from './stats/share.ts';
import { formatShareWithInterval, plural, whereText } from './stats/format.ts';
import { judgeShare, shareOptions } from './share.ts';
import { bandOf } from './stats/band.ts';
import { bandEvidence, clientPopulation, scalarBand, type KindHandler } from './kind.ts';
import { where, population, percentText, type RawCommon, type RawShareBound, type RawWhere } from '../spec/expectation-input.ts';
import { must } from '../must.ts';

export interface StickyGroup {
  group: string;
  /** The group's most common value of `of`, and how many of its responses carried it. */
  value: string;
  count: number;
  responses: number;
  /** Values the group showed (the Bonferroni count). */
  values: number;
  outcome: Outcome;
}

export interface StickyDetails {
  groups: StickyGroup[];
  band: Band;
  method: IntervalMethod;
  comparisons: number;
}

export function judgeSticky(e: StickyExpectation, context: JudgeContext): Verdict {
  const { observation } = context;
  const band = bandOf(e.ratio, 0);
  const groups = [...observation.countBy(e.by, e.where).keys()].sort();
  const tallies = groups
    .map((group) => {
      const counts = observation.countBy(e.of, { ...(e.where ?? {}), [e.by]: group });
      let value = '';
      let count = 0;
      let responses = 0;
      for (const [v, n] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
        responses += n;
        if (n > count) [value, count] = [v, n];
      }
      return { group, value, count, responses, values: counts.size };
    })
    .filter((t) => t.responses > 0);
  const comparisons = Math.max(
    1,
    tallies.reduce((s, t) => s + t.values, 0),
  );
  const judged = tallies.map((t) => ({ ...t, j: judgeShare(t.count, t.responses, band, shareOptions(e.confidence, context, comparisons)) }));
  const outcome: Outcome =
    judged.length === 0
      ? 'inconclusive'
      : judged.some((g) => g.j.outcome === 'fail')
        ? 'fail'
        : judged.every((g) => g.j.outcome === 'pass')
          ? 'pass'
          : 'inconclusive';
  const count = judged.reduce((s, g) => s + g.count, 0);
  const trials = judged.reduce((s, g) => s + g.responses, 0);
  // The verdict's interval is the group that decides it: the failing one, else the least certain one.
  const decisive = judged.find((g) => g.j.outcome === 'fail') ?? [...judged].sort((a, b) => a.j.interval[0] - b.j.interval[0])[0];
  const expected = `at least ${percentText(e.ratio)} of each group's responses to one ${e.of}`.replace('≥ ', '');
  const groupText = (g: (typeof judged)[number]) =>
    `${g.group}: ${formatShareWithInterval(g.j.share, g.j.interval, g.j.label)} of ${plural(g.responses, 'response')} to ${e.of} ${g.value}`;
  return {
    kind: 'sticky',
    title: e.title,
    outcome,
    observed: trials === 0 ? 0 : count / trials,
    expected,
    interval: decisive?.j.interval ?? [0, 1],
    confidence: e.confidence,
    sampleSize: trials,
    explanation:
      judged.length === 0
        ? `No response${whereText(e.where)} carried both ${e.by} and ${e.of}, so stickiness cannot be judged.`
        : `${judged.map(groupText).join('; ')}${whereText(e.where)}; expected ${expected} (each group's most common ${e.of}, judged over ${comparisons} value${comparisons === 1 ? '' : 's'} seen): ${outcome === 'pass' ? 'every group clears the bound' : outcome === 'fail' ? `${must(decisive, 'the failing group').group} does not` : 'some group cannot tell yet'}.`,
    evidence: {
      unit: 'share',
      expected: scalarBand(bandEvidence(band, undefined, [0, 1])),
      population: clientPopulation(`responses with ${e.by} and ${e.of}`, e.where),
    },
    details: {
      groups: judged.map((g) => ({ group: g.group, value: g.value, count: g.count, responses: g.responses, values: g.values, outcome: g.j.outcome })),
      band,
      method: judged[0]?.j.method ?? 'clopper-pearson',
      comparisons,
    } satisfies StickyDetails,
    source: e.source,
  };
}

/** The schema's `sticky` object. */
interface RawSticky extends RawCommon {
  of: string;
  by: string;
  ratio: RawShareBound;
  where?: RawWhere;
}

export const stickyKind: KindHandler<StickyExpectation, RawSticky> = {
  parse({ n, raw, path, common }) {
    const ratio = n.shareBound(raw.ratio, [...path, 'ratio']);
    if (ratio.min === undefined || ratio.max !== undefined || ratio.approx !== undefined)
      throw n.error([...path, 'ratio'], 'sticky takes a lower bound only: ratio: { min: 0.99 }');
    return {
      kind: 'sticky',
      ...common,
      title: raw.title ?? `${raw.of} sticky per ${raw.by} ${percentText(ratio)}${population(raw.where)}`,
      of: raw.of,
      by: raw.by,
      ratio,
      where: where(raw.where),
    };
  },
  judge: judgeSticky,
  // Judged once, after the load: each group's most common value must be settled first.
  judgedFromClient: () => false,
};
