// Envoy's local rate limit under Istio: EnvoyFilter parsing, token bucket, per-request decision, prediction, counters.
export * from './ratelimit/types.ts';
export { isLocalRateLimitFilter, parseLocalRateLimit, parseLocalRateLimitConfig, parseLocalRateLimits } from './ratelimit/parse.ts';
export { LocalRateLimiter, TokenBucket } from './ratelimit/bucket.ts';
export {
  predictRateLimited,
  predictRateLimitedRange,
  predictRateLimitedUnderDelays,
  predictRateLimitedUnderSpread,
  PER_REQUEST_BOUND_LIMIT,
  type SpreadRange,
} from './ratelimit/predict.ts';
export { localRateLimitSamples, localRateLimitSeries } from './ratelimit/stats.ts';
