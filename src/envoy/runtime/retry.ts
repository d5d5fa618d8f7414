// Retry decisions as Envoy's router makes them: source/common/router/retry_state_impl.cc (RetryStateImpl constructor,
// parseRetryOn, wouldRetryFromHeaders, wouldRetryFromReset), source/common/common/backoff_strategy.cc
// (JitteredExponentialBackOffStrategy) and the route timeout of config_impl.cc (RouteEntryImplBase: 15 s unless set).
import type { RetryPolicy, Route, RouteAction, VirtualHost } from '../model/index.ts';
import { durationMs } from './duration.ts';
import { matchHeaders, type Headers } from './matchers.ts';

export const RETRY_ON = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  // gRPC: the grpc-status of the response (retry_state_impl.cc parseRetryGrpcOn).
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;
export type RetryOn = (typeof RETRY_ON)[number];

const GRPC_STATUS: Partial<Record<RetryOn, number>> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };

export interface EvaluatedRetryPolicy {
  retryOn: ReadonlySet<RetryOn>;
  numRetries: number;
  retriableStatusCodes: readonly number[];
  retriableHeaders: RetryPolicy['retriable_headers'];
  /** undefined: no per-try timeout (unset or 0). */
  perTryTimeoutMs?: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** envoy.retry_host_predicates.previous_hosts: a retry avoids hosts already tried, re-picking up to hostSelectionMaxAttempts times. */
  avoidPreviousHosts: boolean;
  hostSelectionMaxAttempts: number;
}

/** The policy that applies: the route's own, else the virtual host's (RouteEntryImplBase's constructor). */
export function effectiveRetryPolicy(route: Route, vhost: VirtualHost): RetryPolicy | undefined {
  return route.route?.retry_policy ?? vhost.retry_policy;
}

export function evaluateRetryPolicy(policy: RetryPolicy | undefined): EvaluatedRetryPolicy | undefined {
  if (!policy) return undefined;
  const retryOn = new Set<RetryOn>();
  for (const raw of (policy.retry_on ?? '').split(',')) {
    const condition = raw.trim();
    if (condition === '') continue;
    // parseRetryOn/parseRetryGrpcOn report a name they do not know as invalid.
    if (!(RETRY_ON as readonly string[]).includes(condition))
      throw new Error(`retry_policy.retry_on: unknown condition "${condition}" (known: ${RETRY_ON.join(', ')})`);
    retryOn.add(condition as RetryOn);
  }
  const baseMs = policy.retry_back_off ? durationMs(policy.retry_back_off.base_interval, 'retry_policy.retry_back_off.base_interval') : 25;
  const maxMs = policy.retry_back_off?.max_interval ? durationMs(policy.retry_back_off.max_interval, 'retry_policy.retry_back_off.max_interval') : 10 * baseMs;
  if (baseMs <= 0) throw new Error('retry_policy.retry_back_off.base_interval: must be greater than 0');
  if (maxMs < baseMs) throw new Error('retry_policy.retry_back_off.max_interval: must be at least base_interval');
  const perTry = policy.per_try_timeout ? durationMs(policy.per_try_timeout, 'retry_policy.per_try_timeout') : 0;
  return {
    retryOn,
    numRetries: policy.num_retries ?? 1,
    retriableStatusCodes: policy.retriable_status_codes ?? [],
    retriableHeaders: policy.retriable_headers,
    perTryTimeoutMs: perTry > 0 ? perTry : undefined,
    backoffBaseMs: baseMs,
    backoffMaxMs: maxMs,
    avoidPreviousHosts: (policy.retry_host_predicate ?? []).some((p) => p.name === 'envoy.retry_host_predicates.previous_hosts'),
    hostSelectionMaxAttempts: policy.host_selection_retry_max_attempts ?? 1,
  };
}

export type AttemptOutcome =
  | { kind: 'response'; status: number; headers?: Headers }
  /** A stream reset by the upstream; `requestStarted` false when nothing of the request had been sent. */
  | { kind: 'reset'; requestStarted: boolean; refusedStream?: boolean }
  | { kind: 'connect-failure' }
  | { kind: 'per-try-timeout' }
  /** The cluster's circuit breaker (pending requests / connections) overflowed. */
  | { kind: 'overflow' };

/** Whether the outcome is retriable under the policy, before the retry count and budget are considered. */
export function wouldRetry(policy: EvaluatedRetryPolicy | undefined, outcome: AttemptOutcome): boolean {
  if (!policy) return false;
  const on = policy.retryOn;
  switch (outcome.kind) {
    case 'response':
      return wouldRetryFromHeaders(policy, outcome.status, outcome.headers ?? {});
    case 'overflow':
      // wouldRetryFromReset: "we never retry if the reset reason is overflow".
      return false;
    case 'connect-failure':
      return on.has('reset-before-request') || on.has('5xx') || on.has('gateway-error') || on.has('reset') || on.has('connect-failure');
    case 'per-try-timeout':
      // Router::onPerTryTimeout resets the attempt (LocalReset, request already sent).
      return on.has('5xx') || on.has('gateway-error') || on.has('reset');
    case 'reset':
      if (on.has('reset-before-request') && !outcome.requestStarted) return true;
      if (on.has('5xx') || on.has('gateway-error') || on.has('reset')) return true;
      return on.has('refused-stream') && outcome.refusedStream === true;
  }
}

function wouldRetryFromHeaders(policy: EvaluatedRetryPolicy, status: number, headers: Headers): boolean {
  const on = policy.retryOn;
  // A response an upstream marked x-envoy-overloaded is never retried (retry_state_impl.cc: "We never retry if the
  // overloaded header is set"; router docs, x-envoy-overloaded).
  if (headers['x-envoy-overloaded'] !== undefined) return false;
  // An answer rate-limited by an upstream Envoy is retried only under envoy-ratelimited.
  if (headers['x-envoy-ratelimited'] !== undefined) return on.has('envoy-ratelimited');
  if (on.has('5xx') && status >= 500 && status < 600) return true;
  if (on.has('gateway-error') && (status === 502 || status === 503 || status === 504)) return true;
  if (on.has('retriable-4xx') && status === 409) return true;
  // 425 Too Early is retried only for early-data requests, which the local proxies never send.
  if (on.has('retriable-status-codes') && status !== 425 && policy.retriableStatusCodes.includes(status)) return true;
  if (on.has('retriable-headers') && (policy.retriableHeaders ?? []).some((m) => matchHeaders([m], headers))) return true;
  const grpc = headers['grpc-status'];
  if (typeof grpc === 'string' && /^\d+$/.test(grpc)) {
    const code = Number(grpc);
    for (const [condition, grpcCode] of Object.entries(GRPC_STATUS)) if (grpcCode === code && on.has(condition as RetryOn)) return true;
  }
  return false;
}

/** RetryStateImpl::shouldRetry: retriable, and retries left (retriesDone counts retries already made). */
export function mayRetry(policy: EvaluatedRetryPolicy | undefined, retriesDone: number, outcome: AttemptOutcome): boolean {
  return policy !== undefined && retriesDone < policy.numRetries && wouldRetry(policy, outcome);
}

/**
 * JitteredExponentialBackOffStrategy::nextBackOffMs for the retryNumber-th retry (1-based): the interval starts at
 * base and doubles while it stays under max/2, else becomes max; the wait is random % interval, here floor(u·interval).
 */
export function backoffMs(policy: EvaluatedRetryPolicy, retryNumber: number, uniform: () => number): number {
  if (!Number.isInteger(retryNumber) || retryNumber < 1) throw new Error(`backoffMs: retryNumber must be 1 or more, got ${retryNumber}`);
  let interval = policy.backoffBaseMs;
  for (let i = 1; i < retryNumber; i++) interval = interval < policy.backoffMaxMs / 2 ? interval * 2 : policy.backoffMaxMs;
  return Math.min(Math.floor(uniform() * interval), policy.backoffMaxMs);
}

/** RouteEntryImplBase timeout_: 15 s unless set; 0 means none (undefined). */
export function routeTimeoutMs(action: RouteAction): number | undefined {
  const ms = action.timeout === undefined ? 15_000 : durationMs(action.timeout, 'route.timeout');
  return ms > 0 ? ms : undefined;
}
