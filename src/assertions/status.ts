// status: the share of responses with a status code (503), a class (5xx) or a response flag (UO), against
// min / max / approx ± tolerance — or the derived form: a workload failing a share p of attempts behind a caller
// that retries n times is seen failing p^(n+1) of the time.
import type { StatusExpectation } from '../spec/types.ts';
import type { JudgeContext, Verdict } from './verdict.ts';
import type { Band } from './stats/band.ts';
import type { IntervalMethod } from './stats/share.ts';
import { plural, trimmed, whereText } from './stats/format.ts';
import { countWhere, FLAG_LABEL, hasFlag, STATUS_LABEL, statusMatches } from './labels.ts';
import { judgeShareBound, shareReason, shareText } from './share.ts';
import { clientPopulation, scalarBand, type KindHandler } from './kind.ts';
import { where, population, percentText, type RawCommon, type RawShareBound, type RawWhere } from '../spec/expectation-input.ts';

export interface StatusDetails {
  /** Responses that matched the code, class or flag. */
  count: number;
  band: Band;
  method: IntervalMethod;
  /** The derived form: the share failing^(retries+1) judged against. */
  derived?: { failing: number; retries: number; share: number };
}

export function judgeStatus(e: StatusExpectation, context: JudgeContext): Verdict {
  const { observation } = context;
  const trials = observation.count(e.where);
  const what = e.flag !== undefined ? `flag ${e.flag}` : (e.code ?? '?');
  const flag = e.flag;
  const successes =
    flag !== undefined
      ? countWhere(observation, FLAG_LABEL, (v) => hasFlag(v, flag), e.where)
      : countWhere(observation, STATUS_LABEL, (v) => statusMatches(e.code ?? '', v), e.where);

  const derived = e.ratio.derived && { ...e.ratio.derived, share: derivedShare(e.ratio.derived.failing, e.ratio.derived.retries) };
  const bound = derived ? { ...e.ratio, approx: derived.share } : e.ratio;
  const derivation = derived ? `${trimmed(derived.failing, 4)}^(${derived.retries}+1) = ${trimmed(derived.share * 100, 3)}` : undefined;
  const { judgement: j, expected, band } = judgeShareBound(successes, trials, bound, e.confidence, context, derivation);
  const predicate = e.flag !== undefined ? `flagged ${e.flag}` : e.code;

  return {
    kind: 'status',
    title: e.title,
    outcome: j.outcome,
    observed: j.share,
    expected,
    interval: j.interval,
    confidence: e.confidence,
    sampleSize: trials,
    explanation:
      trials === 0
        ? `No response was recorded${e.where ? ' matching the filter' : ''}, so the share of ${what} cannot be judged.`
        : `${shareText(j)} of ${plural(trials, 'response')}${whereText(e.where)} were ${predicate}; expected ${expected}${shareReason(j)}.`,
    evidence: { unit: 'share', expected: scalarBand(band), population: clientPopulation('responses', e.where) },
    details: { count: successes, band: j.band, method: j.method, ...(derived ? { derived } : {}) } satisfies StatusDetails,
    source: e.source,
  };
}

/** Share of requests that still fail after `retries` retries when each attempt fails independently with `failing`. */
export function derivedShare(failing: number, retries: number): number {
  return failing ** (retries + 1);
}

/** The schema's `status` object. */
interface RawStatus extends RawCommon {
  code?: number | string;
  flag?: string;
  ratio: RawShareBound;
  where?: RawWhere;
}

export const statusKind: KindHandler<StatusExpectation, RawStatus> = {
  parse({ n, raw, path, common }) {
    if ((raw.code === undefined) === (raw.flag === undefined)) throw n.error(path, 'status needs exactly one of code (503, 5xx) or flag (UO, FI, ...)');
    const ratio = n.shareBound(raw.ratio, [...path, 'ratio']);
    const what = raw.code !== undefined ? String(raw.code) : `flag ${raw.flag}`;
    return {
      kind: 'status',
      ...common,
      title: raw.title ?? `share of ${what} ${percentText(ratio)}${population(raw.where)}`,
      ...(raw.code !== undefined ? { code: String(raw.code) } : { flag: raw.flag }),
      ratio,
      where: where(raw.where),
    };
  },
  judge: judgeStatus,
  judgedFromClient: () => true,
};
