// HTTP fault injection as source/extensions/filters/http/fault/fault_filter.cc runs it (FaultFilter::decodeHeaders,
// faultOverflow, delayDuration, isAbortEnabled, postDelayInjection): header match, then the max_active_faults
// overflow check, then the delay draw; the abort draw comes after the delay (or at once when there is none).
import type { FractionalPercent, HttpFault } from '../model/index.ts';
import { durationMs } from './duration.ts';
import { matchHeaders, type Headers } from './matchers.ts';
import { fractionDenominator, fractionHit } from './routes.ts';

export type FaultAbort = { httpStatus: number } | { grpcStatus: number };

export type FaultDecision =
  /** The fault's header matchers did not match: the filter lets the request through untouched. */
  | { kind: 'not-applicable' }
  /** max_active_faults reached: no fault (faults_overflow is counted). */
  | { kind: 'overflow' }
  /** delayMs is set when a delay is injected (response flag DI); abort when the request is aborted (FI). */
  | { kind: 'injected'; delayMs?: number; abort?: FaultAbort };

/** FaultFilter::faultOverflow compares the active faults gauge to max_active_faults (unlimited unless set). */
function overflows(fault: HttpFault, activeFaults: number): boolean {
  return fault.max_active_faults !== undefined && activeFaults >= fault.max_active_faults;
}

/** ProtobufPercentHelper::evaluateFractionalPercent: unset percentage is 0 %. */
function enabled(percentage: FractionalPercent | undefined, uniform: () => number): boolean {
  return fractionHit(percentage ?? { numerator: 0 }, uniform);
}

/**
 * One request through the fault filter. `activeFaults` is the number of faults in progress (the active_faults gauge);
 * the delay is drawn first, then the abort, each from `uniform`.
 */
export function decideFault(fault: HttpFault, headers: Headers, uniform: () => number, activeFaults = 0): FaultDecision {
  if (!matchHeaders(fault.headers, headers)) return { kind: 'not-applicable' };
  if (overflows(fault, activeFaults)) return { kind: 'overflow' };
  const decision: { kind: 'injected'; delayMs?: number; abort?: FaultAbort } = { kind: 'injected' };
  if (fault.delay && enabled(fault.delay.percentage, uniform)) {
    const ms = fault.delay.fixed_delay ? durationMs(fault.delay.fixed_delay, 'fault.delay.fixed_delay') : 0;
    // delayDuration: a zero delay is no delay.
    if (ms > 0) decision.delayMs = ms;
  }
  if (fault.abort && enabled(fault.abort.percentage, uniform)) decision.abort = abortOf(fault.abort);
  return decision;
}

function abortOf(abort: NonNullable<HttpFault['abort']>): FaultAbort {
  if (abort.http_status !== undefined) {
    if (abort.http_status < 200 || abort.http_status > 599) throw new Error(`fault.abort.http_status: ${abort.http_status} is outside 200–599`);
    return { httpStatus: abort.http_status };
  }
  if (abort.grpc_status !== undefined) return { grpcStatus: abort.grpc_status };
  throw new Error('fault.abort: neither http_status nor grpc_status is set (header_abort is not supported)');
}

/** The share (0–1) of requests a FractionalPercent selects, e.g. for reporting the configured fault rates. */
export function fractionOf(percentage: FractionalPercent | undefined): number {
  if (!percentage) return 0;
  const denominator = fractionDenominator(percentage);
  return Math.min(percentage.numerator ?? 0, denominator) / denominator;
}
