// Envoy's local-rate-limit token bucket, in both refill modes, plus the filter's per-request decision.
//
// chunked (Envoy < 1.31, Istio < 1.23): source/extensions/filters/common/local_ratelimit/local_ratelimit_impl.cc,
//   TimerTokenBucket — the bucket starts full; a timer armed when the filter config is created fires every
//   fill_interval and adds tokens_per_fill (capped at max_tokens); a request takes one whole token or is limited.
// continuous (Envoy ≥ 1.31): AtomicTokenBucket over source/common/common/token_bucket_impl.h AtomicTokenBucketImpl —
//   the bucket is a timestamp: tokens(now) = min(max_tokens, (now − t) · fill_rate) with
//   fill_rate = tokens_per_fill / fill_interval; taking one token moves t to now − (tokens − 1) / fill_rate; a request
//   is allowed when at least one whole token is there. Starts full (t = start − max_tokens / fill_rate).
// Decision: source/extensions/filters/http/local_ratelimit/local_ratelimit.cc Filter::decodeHeaders.
import type { RateLimitRefill } from '../version.ts';
import { LOCAL_RATE_LIMIT_BODY, LOCAL_RATE_LIMIT_FLAG, type LocalRateLimit, type TokenBucketSpec } from './types.ts';

export class TokenBucket {
  private tokens: number; // chunked: whole tokens
  private ticksApplied = 0; // chunked: timer fires already added
  private mark: number; // continuous: the bucket's timestamp t (ms)
  private readonly ratePerMs: number;

  constructor(
    readonly spec: TokenBucketSpec,
    readonly mode: RateLimitRefill,
    /** When the filter (and its bucket) was created, ms on the caller's clock. */
    readonly startMs: number,
  ) {
    if (!(spec.maxTokens > 0) || !(spec.tokensPerFill > 0) || !(spec.fillIntervalMs > 0)) {
      throw new RangeError(`invalid token bucket ${JSON.stringify(spec)}`);
    }
    this.tokens = spec.maxTokens;
    this.ratePerMs = spec.tokensPerFill / spec.fillIntervalMs;
    this.mark = startMs - spec.maxTokens / this.ratePerMs;
  }

  /** Tokens available at `nowMs` (fractional in continuous mode). Time must not run backwards between calls. */
  available(nowMs: number): number {
    if (this.mode === 'chunked') {
      this.applyTicks(nowMs);
      return this.tokens;
    }
    return Math.min(this.spec.maxTokens, (nowMs - this.mark) * this.ratePerMs);
  }

  /** Takes one token if there is one; false means the request is rate limited. */
  take(nowMs: number): boolean {
    if (this.mode === 'chunked') {
      this.applyTicks(nowMs);
      if (this.tokens < 1) return false;
      this.tokens -= 1;
      return true;
    }
    const total = Math.min(this.spec.maxTokens, (nowMs - this.mark) * this.ratePerMs);
    if (total < 1) return false;
    this.mark = nowMs - (total - 1) / this.ratePerMs;
    return true;
  }

  /** ms until the next token appears (0 if one is available). */
  msUntilNextToken(nowMs: number): number {
    if (this.available(nowMs) >= 1) return 0;
    if (this.mode === 'chunked') {
      return this.startMs + (this.ticksApplied + 1) * this.spec.fillIntervalMs - nowMs;
    }
    const have = (nowMs - this.mark) * this.ratePerMs;
    return (1 - have) / this.ratePerMs;
  }

  private applyTicks(nowMs: number): void {
    const ticks = Math.floor((nowMs - this.startMs) / this.spec.fillIntervalMs);
    if (ticks > this.ticksApplied) {
      // Successive capped additions equal one capped addition of the sum.
      this.tokens = Math.min(this.spec.maxTokens, this.tokens + (ticks - this.ticksApplied) * this.spec.tokensPerFill);
      this.ticksApplied = ticks;
    }
  }
}

/** Envoy's counters `<stat_prefix>.http_local_rate_limit.{enabled,ok,rate_limited,enforced}`. */
export interface LocalRateLimitCounters {
  enabled: number;
  ok: number;
  rate_limited: number;
  enforced: number;
}

export type RateLimitDecision =
  | { action: 'continue'; outcome: 'disabled' | 'ok' | 'limited-not-enforced' }
  | {
      action: 'reply';
      outcome: 'limited';
      status: number;
      body: string;
      /** Lower-case names, in order; `append: false` replaces an earlier value of the same name. */
      headers: { name: string; value: string; append: boolean }[];
      flag: string;
    };

/**
 * One filter instance: the shared bucket (or one per downstream connection) and the counters, deciding each request
 * like Filter::decodeHeaders: not enabled → pass silently; enabled++; bucket → ok++ or rate_limited++; limited and not
 * enforced → pass; enforced++ → local reply (status, body `local_rate_limited`, response_headers_to_add, flag RL).
 * Envoy adds no x-envoy-ratelimited header to this reply (only the global ratelimit filter sets it).
 */
export class LocalRateLimiter {
  readonly counters: LocalRateLimitCounters = { enabled: 0, ok: 0, rate_limited: 0, enforced: 0 };
  private readonly shared?: TokenBucket;
  private readonly perConnection = new Map<string | number, TokenBucket>();

  constructor(
    readonly limit: LocalRateLimit,
    readonly mode: RateLimitRefill,
    /** When the filter config was created (its timer starts then in chunked mode). */
    readonly createdAtMs: number,
  ) {
    if (!limit.perConnection) this.shared = new TokenBucket(limit.bucket, mode, createdAtMs);
  }

  /**
   * @param random uniform [0,1) draws for filter_enabled / filter_enforced; only called when a percentage is strictly
   *   between 0 and 100 (Envoy draws `random % denominator < numerator`).
   * @param connection downstream connection id; required when local_rate_limit_per_downstream_connection is set
   *   (the per-connection bucket is created, full, at the connection's first request).
   */
  decide(nowMs: number, random: () => number, connection?: string | number): RateLimitDecision {
    if (!percentHit(this.limit.enabledPercent, random)) return { action: 'continue', outcome: 'disabled' };
    this.counters.enabled++;
    if (!this.bucketFor(nowMs, connection).take(nowMs)) {
      this.counters.rate_limited++;
      if (!percentHit(this.limit.enforcedPercent, random)) return { action: 'continue', outcome: 'limited-not-enforced' };
      this.counters.enforced++;
      return {
        action: 'reply',
        outcome: 'limited',
        status: this.limit.status,
        body: LOCAL_RATE_LIMIT_BODY,
        headers: this.limit.responseHeaders.map((h) => ({ ...h })),
        flag: LOCAL_RATE_LIMIT_FLAG,
      };
    }
    this.counters.ok++;
    return { action: 'continue', outcome: 'ok' };
  }

  /** Forget a closed downstream connection's bucket (per-connection mode). */
  closeConnection(connection: string | number): void {
    this.perConnection.delete(connection);
  }

  private bucketFor(nowMs: number, connection?: string | number): TokenBucket {
    if (this.shared) return this.shared;
    if (connection === undefined) {
      throw new Error(`EnvoyFilter ${this.limit.namespace}/${this.limit.name}: local_rate_limit_per_downstream_connection needs a connection id`);
    }
    let b = this.perConnection.get(connection);
    if (!b) {
      b = new TokenBucket(this.limit.bucket, this.mode, nowMs);
      this.perConnection.set(connection, b);
    }
    return b;
  }
}

/** Envoy's runtime fractional percent: 0 never, 100 always, otherwise a uniform draw. */
export function percentHit(percent: number, random: () => number): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return random() * 100 < percent;
}
