// denied: the share of requests refused by an AuthorizationPolicy (403 `RBAC: access denied`), with the RBAC
// filter's own counter alongside.
//
// Without `service`: judged on what the client saw — responses labelled `denied: rbac` among those matching `where`.
// With `service`: judged on the mesh — of the requests the service's sidecars received (istio_requests_total,
// reporter="destination"), the share answered 403; a denial deep in the call graph never reaches the client as
// a 403 (Bookinfo pages still load and show the section's error), so only the mesh can see it.
import type { DeniedExpectation } from '../spec/types.ts';
import type { JudgeContext, Verdict } from './verdict.ts';
import type { Band } from './stats/band.ts';
import type { IntervalMethod } from './stats/share.ts';
import { rbacCount, requestsTotal } from './counters.ts';
import { DENIED_LABEL, RBAC_DENIED } from './labels.ts';
import { formatCount, plural, whereText } from './stats/format.ts';
import { judgeShareBound, shareReason, shareText } from './share.ts';
import { clientPopulation, scalarBand, type KindHandler } from './kind.ts';
import { where, population, percentText, type RawCommon, type RawShareBound, type RawWhere } from '../spec/expectation-input.ts';

export interface DeniedDetails {
  /** Judged on what the client saw, or on the service's sidecars (istio_requests_total, reporter=destination). */
  source: 'client' | 'mesh';
  denied: number;
  /** The RBAC filters' own denials over the whole load. */
  rbacDenied: number;
  band: Band;
  method: IntervalMethod;
}

export function judgeDenied(e: DeniedExpectation, context: JudgeContext): Verdict {
  const { observation, counters } = context;
  const rbacDenied = rbacCount(counters, 'denied', e.service);
  let successes: number;
  let trials: number;
  let source: 'client' | 'mesh';
  if (e.service === undefined) {
    source = 'client';
    trials = observation.count(e.where);
    successes = observation.count({ ...e.where, [DENIED_LABEL]: RBAC_DENIED });
  } else {
    source = 'mesh';
    const inbound = { reporter: 'destination', destination_service_name: e.service };
    trials = requestsTotal(counters, inbound);
    successes = requestsTotal(counters, { ...inbound, response_code: '403' });
    if (trials === 0) {
      // No inbound telemetry for the service: fall back to its RBAC filter's own decisions.
      successes = rbacDenied;
      trials = rbacDenied + rbacCount(counters, 'allowed', e.service);
    }
  }
  const { judgement: j, expected, band } = judgeShareBound(successes, trials, e.ratio, e.confidence, context);
  // Judged from client data alone while load runs (sequential looks), before any counter was read.
  const countersRead = context.counters.length > 0;
  // The RBAC counters are the mesh's, over every request of the load, not only the client's population.
  const counterNote = `the RBAC filter${e.service ? ` of ${e.service}` : 's'} counted ${formatCount(rbacDenied)}`;
  const meshWide = e.service === undefined ? `; over the whole load, ${counterNote} denials in the mesh` : '';
  const explanation =
    trials === 0
      ? e.service
        ? `No request to ${e.service} was seen by its sidecars (istio_requests_total, reporter=destination, or RBAC counters), so denials cannot be judged.`
        : `No response was recorded${e.where ? ' matching the filter' : ''}, so denials cannot be judged.`
      : e.service
        ? `${e.service} answered 403 to ${shareText(j)} of the ${plural(trials, 'request')} its sidecars received (${counterNote} denials); expected ${expected}${shareReason(j)}.`
        : `${shareText(j)} of ${plural(trials, 'response')}${whereText(e.where)} were RBAC denials (403 RBAC: access denied); expected ${expected}${shareReason(j)}${countersRead ? meshWide : ''}.`;
  return {
    kind: 'denied',
    title: e.title,
    outcome: j.outcome,
    observed: j.share,
    expected,
    interval: j.interval,
    confidence: e.confidence,
    sampleSize: trials,
    explanation,
    evidence: {
      unit: 'share',
      expected: scalarBand(band),
      population: source === 'client' ? clientPopulation('responses', e.where) : { source: 'mesh', of: `requests ${e.service} received` },
    },
    details: { source, denied: successes, rbacDenied, band: j.band, method: j.method } satisfies DeniedDetails,
    source: e.source,
  };
}

/** The schema's `denied` object. */
interface RawDenied extends RawCommon {
  service?: string;
  ratio: RawShareBound;
  where?: RawWhere;
}

export const deniedKind: KindHandler<DeniedExpectation, RawDenied> = {
  parse({ n, raw, path, common }) {
    const ratio = n.shareBound(raw.ratio, [...path, 'ratio']);
    return {
      kind: 'denied',
      ...common,
      title: raw.title ?? `share denied by RBAC ${percentText(ratio)}${population(raw.where)}`,
      service: raw.service,
      ratio,
      where: where(raw.where),
    };
  },
  judge: judgeDenied,
  // With a service it is judged on the mesh's counters, read only after the load.
  judgedFromClient: (e) => e.service === undefined,
};
