// reconcile: the client's count of requests agrees with the mesh's (istio_requests_total delta at the entry
// proxy). A mismatch is its own failure: it means requests went somewhere meshproof did not see (another ingress,
// a stale counter snapshot, a wrong proxy), so no other verdict of the run can be trusted.
//
// Allowed difference: requests still in flight when the counters were read (context.inFlightAllowance, or the
// expectation's `slack`) in either direction, plus client-side transport errors (status "error"), which may
// never have reached the proxy. At a gateway every request is reported once (reporter="source"); at a sidecar used
// as the entry, the inbound side (reporter="destination") is the one that corresponds to client requests.
import type { ReconcileExpectation } from '../spec/types.ts';
import type { JudgeContext, Verdict } from './verdict.ts';
import { ISTIO_REQUESTS_TOTAL, proxyBelongsTo } from './counters.ts';
import { STATUS_LABEL, TRANSPORT_ERROR_STATUS } from './labels.ts';
import { formatCount, plural } from './stats/format.ts';
import type { KindHandler } from './kind.ts';
import type { RawCommon } from '../spec/expectation-input.ts';

export interface ReconcileDetails {
  client: number;
  mesh: number;
  difference: number;
  inFlight: number;
  transportErrors: number;
  /** The mesh counts that agree with the client's. */
  allowedRange: [number, number];
  /** The istio_requests_total reporter counted. */
  reporter: 'source' | 'destination';
  exact: true;
}

export function judgeReconcile(e: ReconcileExpectation, context: JudgeContext): Verdict {
  const samples = context.counters.filter((s) => s.name === ISTIO_REQUESTS_TOTAL && proxyBelongsTo(s.proxy, e.proxy));
  const inbound = samples.filter((s) => s.labels.reporter === 'destination');
  const used = inbound.length > 0 ? inbound : samples.filter((s) => s.labels.reporter !== 'destination');
  const mesh = used.reduce((sum, s) => sum + s.value, 0);
  const client = context.observation.total;
  const transportErrors = context.observation.count({ [STATUS_LABEL]: TRANSPORT_ERROR_STATUS });
  const inFlight = e.slack ?? context.inFlightAllowance;
  const lowest = client - transportErrors - inFlight;
  const highest = client + inFlight;
  const difference = mesh - client;
  const agree = mesh >= lowest && mesh <= highest;
  const reporter = inbound.length > 0 ? 'destination' : 'source';
  const allowance =
    `${formatCount(inFlight)} in flight` + (transportErrors > 0 ? ` and ${plural(transportErrors, 'transport error')} that may not have reached it` : '');

  let explanation: string;
  if (samples.length === 0) {
    explanation =
      `Mismatch: ${e.proxy} reported no istio_requests_total at all while the client recorded ${plural(client, 'response')}, ` +
      `so the mesh's counters could not be read for this proxy and the observation cannot be trusted.`;
  } else if (agree) {
    explanation = `${e.proxy} counted ${plural(mesh, 'request')} and the client recorded ${formatCount(client)} (difference ${signed(difference)}, allowed ${allowance}).`;
  } else {
    explanation =
      `Mismatch: the client recorded ${plural(client, 'response')} but ${e.proxy} counted ${plural(mesh, 'request')} ` +
      `(difference ${signed(difference)}, more than the ${allowance} allowed), so the observation cannot be trusted.`;
  }
  return {
    kind: 'reconcile',
    title: e.title,
    outcome: samples.length > 0 && agree ? 'pass' : 'fail',
    observed: { client, mesh },
    expected: `${e.proxy}'s istio_requests_total equals the client's count within ${allowance}`,
    confidence: e.confidence,
    sampleSize: client,
    explanation,
    evidence: { unit: 'count', expected: { mesh: { min: lowest, max: highest } }, population: { source: 'client', of: 'responses' } },
    details: { client, mesh, difference, inFlight, transportErrors, allowedRange: [lowest, highest], reporter, exact: true } satisfies ReconcileDetails,
    source: e.source,
  };
}

function signed(n: number): string {
  return n > 0 ? `+${formatCount(n)}` : formatCount(n);
}

/** The schema's `reconcile` object. */
interface RawReconcile extends RawCommon {
  proxy?: string;
  slack?: number;
}

export const reconcileKind: KindHandler<ReconcileExpectation, RawReconcile> = {
  parse({ raw, common }) {
    return { kind: 'reconcile', ...common, title: raw.title ?? 'client and mesh counts agree', proxy: raw.proxy ?? 'istio-ingressgateway', slack: raw.slack };
  },
  judge: judgeReconcile,
  judgedFromClient: () => false,
};
