import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  effectiveRetryPolicy,
  evaluateRetryPolicy,
  mayRetry,
  routeTimeoutMs,
  wouldRetry,
  type AttemptOutcome,
} from '../../../src/envoy/runtime/retry.ts';
import { selectRoute, selectVirtualHost } from '../../../src/envoy/runtime/routes.ts';
import { draws, loadIstiodDump } from './fixtures.ts';

const policy = (retry_on: string, extra = {}) => evaluateRetryPolicy({ retry_on, ...extra })!;
const response = (status: number, headers = {}): AttemptOutcome => ({ kind: 'response', status, headers });

describe('evaluateRetryPolicy (retry_state_impl.cc RetryStateImpl)', () => {
  it('defaults: 1 retry, back-off base 25 ms and max 10× base, no per-try timeout', () => {
    expect(policy('5xx')).toMatchObject({ numRetries: 1, backoffBaseMs: 25, backoffMaxMs: 250, perTryTimeoutMs: undefined, avoidPreviousHosts: false });
    expect(policy('5xx', { retry_back_off: { base_interval: '0.1s' } })).toMatchObject({ backoffBaseMs: 100, backoffMaxMs: 1000 });
  });
  it('refuses an unknown condition and a max interval under the base', () => {
    expect(() => policy('5xx,gateway_error')).toThrow(/unknown condition "gateway_error"/);
    expect(() => policy('5xx', { retry_back_off: { base_interval: '1s', max_interval: '0.5s' } })).toThrow(/max_interval/);
  });
  it('no policy never retries', () => {
    expect(wouldRetry(evaluateRetryPolicy(undefined), response(503))).toBe(false);
  });
});

describe('wouldRetry (retry_state_impl.cc wouldRetryFromHeaders / wouldRetryFromReset)', () => {
  it('5xx: any 5xx, resets, connect failures and per-try timeouts', () => {
    const p = policy('5xx');
    expect([500, 503, 599, 404].map((s) => wouldRetry(p, response(s)))).toEqual([true, true, true, false]);
    expect(wouldRetry(p, { kind: 'reset', requestStarted: true })).toBe(true);
    expect(wouldRetry(p, { kind: 'connect-failure' })).toBe(true);
    expect(wouldRetry(p, { kind: 'per-try-timeout' })).toBe(true);
  });
  it('gateway-error: 502/503/504 only', () => {
    expect([500, 502, 503, 504].map((s) => wouldRetry(policy('gateway-error'), response(s)))).toEqual([false, true, true, true]);
  });
  it('overflow is never retried; x-envoy-ratelimited only under envoy-ratelimited', () => {
    expect(wouldRetry(policy('5xx,reset,connect-failure'), { kind: 'overflow' })).toBe(false);
    expect(wouldRetry(policy('5xx'), response(503, { 'x-envoy-ratelimited': 'true' }))).toBe(false);
    expect(wouldRetry(policy('envoy-ratelimited'), response(429, { 'x-envoy-ratelimited': 'true' }))).toBe(true);
  });
  it('reset-before-request only before the request went out; refused-stream only on a refused stream', () => {
    const p = policy('reset-before-request,refused-stream');
    expect(wouldRetry(p, { kind: 'reset', requestStarted: false })).toBe(true);
    expect(wouldRetry(p, { kind: 'reset', requestStarted: true })).toBe(false);
    expect(wouldRetry(p, { kind: 'reset', requestStarted: true, refusedStream: true })).toBe(true);
    expect(wouldRetry(p, { kind: 'per-try-timeout' })).toBe(false);
  });
  it('connect-failure retries only a failed connection', () => {
    const p = policy('connect-failure');
    expect(wouldRetry(p, { kind: 'connect-failure' })).toBe(true);
    expect(wouldRetry(p, { kind: 'reset', requestStarted: true })).toBe(false);
    expect(wouldRetry(p, response(503))).toBe(false);
  });
  it('retriable-4xx is 409; retriable-status-codes lists codes; retriable-headers matches the response', () => {
    expect(wouldRetry(policy('retriable-4xx'), response(409))).toBe(true);
    expect(wouldRetry(policy('retriable-4xx'), response(429))).toBe(false);
    expect(wouldRetry(policy('retriable-status-codes', { retriable_status_codes: [429] }), response(429))).toBe(true);
    expect(wouldRetry(policy('retriable-headers', { retriable_headers: [{ name: 'x-retry', exact_match: 'yes' }] }), response(200, { 'x-retry': 'yes' }))).toBe(
      true,
    );
  });
  it('gRPC conditions read grpc-status', () => {
    expect(wouldRetry(policy('unavailable'), response(200, { 'grpc-status': '14' }))).toBe(true);
    expect(wouldRetry(policy('cancelled'), response(200, { 'grpc-status': '14' }))).toBe(false);
    expect(wouldRetry(policy('unavailable'), response(503))).toBe(false);
  });
  it('mayRetry stops after num_retries', () => {
    const p = policy('5xx', { num_retries: 2 });
    expect([0, 1, 2].map((done) => mayRetry(p, done, response(503)))).toEqual([true, true, false]);
  });
});

describe('backoffMs (backoff_strategy.cc JitteredExponentialBackOffStrategy)', () => {
  const p = policy('5xx');
  it('the interval doubles from 25 ms and is capped at 250 ms; the wait is floor(u·interval)', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(p, n, draws(0.9999999)))).toEqual([24, 49, 99, 199, 249, 249]);
    expect(backoffMs(p, 3, draws(0.5))).toBe(50);
    expect(backoffMs(p, 1, draws(0))).toBe(0);
  });
  it('refuses a retry number below 1', () => {
    expect(() => backoffMs(p, 0, draws())).toThrow(/retryNumber/);
  });
});

describe('routeTimeoutMs (RouteEntryImplBase timeout_)', () => {
  it('15 s unless set; 0 is none', () => {
    expect(routeTimeoutMs({ cluster: 'c' })).toBe(15_000);
    expect(routeTimeoutMs({ cluster: 'c', timeout: '0s' })).toBeUndefined();
    expect(routeTimeoutMs({ cluster: 'c', timeout: '2.5s' })).toBe(2500);
  });
});

describe('the retry policies istiod wrote for productpage (reference real-control-plane.md)', () => {
  const outbound = loadIstiodDump('productpage').routes.find((r) => r.name === '9080')!;
  const policyFor = (authority: string, headers: Record<string, string>) => {
    const vhost = selectVirtualHost(outbound, authority)!;
    const route = selectRoute(vhost, { path: '/', headers })!;
    return { route, retry: evaluateRetryPolicy(effectiveRetryPolicy(route, vhost))! };
  };
  it('the default policy (ratings): 2 retries, previous_hosts, 5 host selections; 503 is not retried on 1.31', () => {
    const { route, retry } = policyFor('ratings:9080', {});
    expect(retry).toMatchObject({ numRetries: 2, avoidPreviousHosts: true, hostSelectionMaxAttempts: 5, retriableStatusCodes: [] });
    expect(wouldRetry(retry, response(503))).toBe(false);
    expect(wouldRetry(retry, { kind: 'connect-failure' })).toBe(true);
    expect(wouldRetry(retry, { kind: 'reset', requestStarted: true, refusedStream: true })).toBe(true);
    expect(wouldRetry(retry, { kind: 'reset', requestStarted: true })).toBe(false);
    expect(wouldRetry(retry, response(200, { 'grpc-status': '14' }))).toBe(true);
    expect(routeTimeoutMs(route.route!)).toBeUndefined();
  });
  it('the reviews split (bookinfo.yaml): 5xx, 3 retries with a 2 s per-try timeout, within a 10 s route timeout', () => {
    const { route, retry } = policyFor('reviews:9080', {});
    expect(retry).toMatchObject({ numRetries: 3, perTryTimeoutMs: 2000 });
    expect(wouldRetry(retry, response(503))).toBe(true);
    expect(routeTimeoutMs(route.route!)).toBe(10_000);
  });
});
