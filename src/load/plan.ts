// What every driver checks and derives from a load plan the same way: the plan is runnable (requests, an end), and how
// many requests may be sent in all (the request count, and for the open model rate × duration — arrivals at
// i / rate < duration, as k6's constant-arrival-rate starts them).
import { SpecError } from '../errors.ts';
import type { LoadPlan } from './driver.ts';

/** Throws SpecError for a plan no driver can run. */
export function checkPlan(plan: LoadPlan): void {
  if (plan.requests.length === 0) throw new SpecError('the load plan has no request', undefined, 'spec.load.request');
  if (plan.durationMs === undefined && plan.totalRequests === undefined) {
    throw new SpecError('the load needs a duration or a number of requests', undefined, 'spec.load');
  }
  if (plan.model.kind === 'open' && !(plan.model.rate > 0)) {
    throw new SpecError(`rate must be positive (got ${plan.model.rate})`, undefined, 'spec.load.rate');
  }
}

/**
 * Connections (autocannon) or VUs (k6) for `wanted`: never more than requests may be sent (one even for none).
 * autocannon would overshoot the send limit (each new connection sends its first request at once), and k6 refuses
 * more VUs than iterations ("the number of iterations (5) can't be less than the number of VUs (20)",
 * lib/executor/shared_iterations.go Validate).
 */
export function atMostRequests(plan: LoadPlan, wanted: number): number {
  return Math.min(wanted, Math.max(1, sendLimit(plan) ?? Infinity));
}

/** How many requests may be sent in all; null when only the duration ends the load (closed model). */
export function sendLimit(plan: LoadPlan): number | null {
  const openLimit = plan.model.kind === 'open' && plan.durationMs !== undefined ? Math.ceil((plan.model.rate * plan.durationMs) / 1000 - 1e-9) : Infinity;
  const limit = Math.min(plan.totalRequests ?? Infinity, openLimit);
  return limit === Infinity ? null : limit;
}
