// Envoy retry policies as Istio builds them (istio/istio pilot/pkg/networking/core/route/retry/retry.go), and
// the router's retry decisions (Envoy router docs: x-envoy-retry-on semantics, backoff).
import type { FieldPath } from './fields.ts';
import type { RetrySpec } from './model.ts';

/** Values Envoy accepts in retry_on (HTTP and gRPC conditions). */
const knownRetryOn = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

export const defaultRetryOn = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';

export interface RetryPolicy {
  numRetries: number;
  retryOn: Set<string>;
  retriableStatusCodes: Set<number>;
  perTryTimeoutMs?: number;
  /** envoy.retry_host_predicates.previous_hosts: a retry prefers an endpoint not tried yet. */
  previousHosts: boolean;
  hostSelectionRetryMaxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** Split retryOn into Envoy conditions and status codes (integers), validating each part. */
/**
 * The status codes Go's net/http names (http.StatusText): istiod's validation (pkg/config/validation validateHTTPRetry)
 * accepts a number in retryOn only when it is one of these, and ConvertPolicy's parseRetryOn reads only these as codes.
 */
const namedStatusCodes = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424,
  425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

export function parseRetryOn(retryOn: string, at?: FieldPath): { conditions: string[]; codes: number[] } {
  const conditions: string[] = [];
  const codes: number[] = [];
  for (const raw of retryOn.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    if (/^\d+$/.test(part)) {
      const code = Number(part);
      if (!namedStatusCodes.has(code)) {
        if (at) throw at.error(`${JSON.stringify(part)} is not a valid retryOn policy: ${part} is no HTTP status Istio knows (its validation accepts only the codes Go's net/http names)`);
        continue;
      }
      codes.push(code);
    } else if (knownRetryOn.has(part)) {
      conditions.push(part);
    } else if (at) {
      throw at.error(`unknown retry condition ${JSON.stringify(part)} (known: ${[...knownRetryOn].join(', ')}, or status codes)`);
    }
  }
  return { conditions, codes };
}

/**
 * The policy Envoy runs for a route: Istio's default when the route sets no `retries` (2 retries; 503 retriable
 * only while `retry503ByDefault`, i.e. up to Istio 1.23), none when `attempts` is 0, else the default overridden.
 */
export function effectiveRetryPolicy(spec: RetrySpec | undefined, retry503ByDefault: boolean): RetryPolicy | undefined {
  const policy: RetryPolicy = {
    numRetries: 2,
    retryOn: new Set(defaultRetryOn.split(',')),
    retriableStatusCodes: new Set(retry503ByDefault ? [503] : []),
    previousHosts: true,
    hostSelectionRetryMaxAttempts: 5,
    backoffBaseMs: 25,
    backoffMaxMs: 250,
  };
  if (spec === undefined) return policy;
  if (spec.attempts <= 0) return undefined;
  policy.numRetries = spec.attempts;
  if (spec.retryOn !== undefined && spec.retryOn.trim() !== '') {
    const { conditions, codes } = parseRetryOn(spec.retryOn);
    policy.retryOn = new Set(conditions);
    policy.retriableStatusCodes = new Set(codes);
    if (codes.length > 0) policy.retryOn.add('retriable-status-codes');
  }
  if (spec.perTryTimeoutMs !== undefined) policy.perTryTimeoutMs = spec.perTryTimeoutMs;
  if (spec.retryIgnorePreviousHosts !== undefined) policy.previousHosts = spec.retryIgnorePreviousHosts;
  if (spec.backoffMs !== undefined) {
    policy.backoffBaseMs = spec.backoffMs;
    policy.backoffMaxMs = spec.backoffMs * 10;
  }
  return policy;
}

/** How one attempt ended, as the router sees it. */
export type AttemptOutcome =
  | { kind: 'response'; status: number; overloaded: boolean }
  | { kind: 'connect-failure' }
  | { kind: 'reset' }
  | { kind: 'per-try-timeout' }
  | { kind: 'overflow' };

/** Would Envoy retry this outcome under `policy` (ignoring the retry budget)? */
export function isRetriable(policy: RetryPolicy, outcome: AttemptOutcome): boolean {
  const on = policy.retryOn;
  switch (outcome.kind) {
    case 'overflow':
      return false; // Envoy never retries a connection-pool overflow
    case 'connect-failure':
      return on.has('connect-failure') || on.has('5xx') || on.has('gateway-error') || on.has('reset') || on.has('reset-before-request');
    case 'reset':
      return on.has('5xx') || on.has('gateway-error') || on.has('reset');
    case 'per-try-timeout':
      return on.has('5xx') || on.has('gateway-error') || on.has('reset');
    case 'response': {
      if (outcome.overloaded) return false; // x-envoy-overloaded responses are not retried
      const s = outcome.status;
      if (on.has('5xx') && s >= 500) return true;
      if (on.has('gateway-error') && (s === 502 || s === 503 || s === 504)) return true;
      if (on.has('retriable-4xx') && s === 409) return true;
      if (on.has('retriable-status-codes') && policy.retriableStatusCodes.has(s)) return true;
      return false;
    }
  }
}

/**
 * Envoy's jittered exponential back-off (source/common/common/backoff_strategy.cc JitteredExponentialBackOffStrategy::
 * nextBackOffMs, as the router's RetryStateImpl uses it): the interval starts at the base and doubles after each
 * retry, set to the maximum once doubling would pass it; the wait is `random() % interval`, an integer number of
 * milliseconds in [0, interval). So before retry n (1-based) the wait is uniform over [0, min(base · 2^(n−1), max)).
 * `u` is a uniform draw in [0, 1).
 */
export function backoffMs(policy: RetryPolicy, retryNumber: number, u: number): number {
  let interval = policy.backoffBaseMs;
  for (let n = 1; n < retryNumber; n++) interval = interval > policy.backoffMaxMs / 2 ? policy.backoffMaxMs : interval * 2;
  return Math.min(Math.floor(u * interval), policy.backoffMaxMs);
}
