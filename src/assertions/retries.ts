// retries: how often the callers' sidecars retried a service, from the counter delta of
// envoy_cluster_upstream_rq_retry{cluster_name="outbound|<port>|<subset>|<service>.<ns>.svc.cluster.local"}.
// Client-side retry counts are unreliable (x-envoy-attempt-count, istio/istio#59413); the sidecar counter is not.
import type { RetriesExpectation } from '../spec/types.ts';
import type { JudgeContext, Verdict } from './verdict.ts';
import type { Band } from './stats/band.ts';
import { clusterSamples, UPSTREAM_RQ_RETRY } from './counters.ts';
import { countBand, countReason, describeCountBound, judgeCount } from './count.ts';
import { formatCount } from './stats/format.ts';
import { LOAD_RESPONSES, scalarBand, type KindHandler } from './kind.ts';
import { countOf, type RawCommon, type RawCountBound } from '../spec/expectation-input.ts';

export interface RetriesDetails {
  /** Retries per calling proxy. */
  byProxy: Record<string, number>;
  counter: string;
  band: Band;
  /** Cluster counter series of the service that moved (0: callers may not export them). */
  clusterSeries: number;
  exact: true;
}

export function judgeRetries(e: RetriesExpectation, context: JudgeContext): Verdict {
  const samples = clusterSamples(context.counters, e.service, e.subset, e.from);
  const retrySamples = samples.filter((s) => s.name === UPSTREAM_RQ_RETRY);
  const retries = retrySamples.reduce((s, c) => s + c.value, 0);
  const j = judgeCount(retries, e.count, context);
  // No cluster counter of the service moved at all: either nothing called it or the callers do not export the
  // counters. A bound that 0 satisfies (`max: 0`) must not pass on nothing: it cannot tell.
  const blind = samples.length === 0 && j.outcome === 'pass';
  if (blind) j.outcome = 'inconclusive';
  const expected = describeCountBound(e.count);
  const target = e.subset ? `${e.service} (subset ${e.subset})` : e.service;
  const callers = e.from ? `${e.from}'s sidecars` : 'The sidecars';
  const byProxy: Record<string, number> = {};
  for (const s of retrySamples) byProxy[s.proxy] = (byProxy[s.proxy] ?? 0) + s.value;
  // Deltas drop series that did not move, so no cluster counter at all may also mean the proxy does not export them.
  const unseen =
    samples.length === 0
      ? ` (no envoy_cluster counter for ${target} moved: if the callers do not export cluster stats through proxyStatsMatcher, retries are invisible)`
      : '';
  const blindReason = blind ? ', but that cannot be told apart from counters that are not there' : '';
  return {
    kind: 'retries',
    title: e.title,
    outcome: j.outcome,
    observed: retries,
    expected,
    confidence: e.confidence,
    sampleSize: context.observation.total,
    explanation: `${callers} retried ${target} ${retries === 1 ? 'once' : `${formatCount(retries)} times`}; expected ${expected}${countReason(j)}${blindReason}${unseen}.`,
    evidence: { unit: 'count', expected: scalarBand(countBand(j, e.count)), population: { source: 'mesh', of: LOAD_RESPONSES } },
    details: { byProxy, counter: UPSTREAM_RQ_RETRY, band: j.band, clusterSeries: samples.length, exact: true } satisfies RetriesDetails,
    source: e.source,
  };
}

/** The schema's `retries` object: the target and an inline count bound. */
interface RawRetries extends RawCommon, RawCountBound {
  service: string;
  subset?: string;
  from?: string;
}

export const retriesKind: KindHandler<RetriesExpectation, RawRetries> = {
  parse({ n, raw, path, common }) {
    const count = countOf(n, raw, path, 'retries');
    return {
      kind: 'retries',
      ...common,
      title: raw.title ?? `retries to ${raw.service}${raw.subset ? ` ${raw.subset}` : ''}`,
      service: raw.service,
      subset: raw.subset,
      from: raw.from,
      count,
    };
  },
  judge: judgeRetries,
  judgedFromClient: () => false,
};
