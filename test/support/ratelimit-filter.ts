// The istio.io local rate-limit task's EnvoyFilter with the bucket, workload and place a test wants
// (src/istio/ratelimit/envoy-filter.ts builds it).
export { localRateLimitEnvoyFilter as localRateLimitFilter } from '../../src/istio/ratelimit/envoy-filter.ts';
