// Replays arrival times through the local rate limiter to predict how many requests it refuses.
//
// Assumptions (state them next to any verdict): the bucket is full at the first request (no earlier traffic through
// that filter since it was created or its listener last changed), the arrival times are those the proxy saw, and
// one filter instance (one proxy) receives all of them.
import type { RateLimitRefill } from '../version.ts';
import { LocalRateLimiter, type LocalRateLimitCounters } from './bucket.ts';
import type { LocalRateLimit } from './types.ts';
import { elementAt, must } from '../../must.ts';

export interface RateLimitPrediction {
  /** Requests the filter let through. */
  allowed: number;
  /** Requests answered by the filter with its status (429 unless configured). */
  limited: number;
  /** What Envoy's http_local_rate_limit counters would show. */
  counters: LocalRateLimitCounters;
  /** Per second of the send clock (floor(ms / 1000)), contiguous from the first to the last request's second. */
  perSecond: { second: number; allowed: number; limited: number }[];
}

export interface PredictOptions {
  /**
   * chunked mode: time since the refill timer last fired (or the filter was created) at the first request,
   * in [0, fill interval). Default 0. Ignored in continuous mode and per-connection mode.
   */
  phaseMs?: number;
  /** Downstream connection of each request (same length as the times); required in per-connection mode. */
  connections?: ArrayLike<number>;
  /** Uniform [0,1) generator for fractional filter_enabled / filter_enforced; required when they are not 0 or 100 %. */
  random?: () => number;
  /**
   * Requests sent before this time (a warm-up) go through the bucket, draining it, but are not counted in allowed,
   * limited, counters or perSecond. Default: every request counts.
   */
  countFromMs?: number;
}

export function predictRateLimited(
  sendTimesMs: ArrayLike<number>,
  limit: LocalRateLimit,
  mode: RateLimitRefill,
  options: PredictOptions = {},
): RateLimitPrediction {
  const n = sendTimesMs.length;
  const order = sortedOrder(sendTimesMs);
  const random = options.random ?? noRandom(limit);
  if (limit.perConnection && (!options.connections || options.connections.length !== n)) {
    throw new Error(`EnvoyFilter ${limit.namespace}/${limit.name} limits per downstream connection: pass the connection of every request`);
  }
  const perSecond: RateLimitPrediction['perSecond'] = [];
  const [firstIndex] = order;
  if (firstIndex === undefined) return { allowed: 0, limited: 0, counters: { enabled: 0, ok: 0, rate_limited: 0, enforced: 0 }, perSecond };
  const first = elementAt(sendTimesMs, firstIndex);
  const phase = options.phaseMs ?? 0;
  if (!(phase >= 0 && phase < limit.bucket.fillIntervalMs)) {
    throw new RangeError(`phaseMs must be in [0, ${limit.bucket.fillIntervalMs}), got ${phase}`);
  }
  const limiter = new LocalRateLimiter(limit, mode, first - phase);
  const countFrom = options.countFromMs ?? -Infinity;
  let firstSecond: number | undefined;
  let uncounted: LocalRateLimitCounters = { enabled: 0, ok: 0, rate_limited: 0, enforced: 0 };
  let allowed = 0;
  let limited = 0;
  for (const i of order) {
    const t = elementAt(sendTimesMs, i);
    if (t < countFrom) {
      limiter.decide(t, random, limit.perConnection ? options.connections?.[i] : undefined);
      continue;
    }
    if (firstSecond === undefined) {
      firstSecond = Math.floor(t / 1000);
      uncounted = { ...limiter.counters };
    }
    const d = limiter.decide(t, random, limit.perConnection ? options.connections?.[i] : undefined);
    const second = Math.floor(t / 1000);
    while (perSecond.length <= second - firstSecond) perSecond.push({ second: firstSecond + perSecond.length, allowed: 0, limited: 0 });
    const row = must(perSecond[second - firstSecond], "this second's row"); // a constant: this runs per request
    if (d.action === 'reply') {
      limited++;
      row.limited++;
    } else {
      allowed++;
      row.allowed++;
    }
  }
  if (firstSecond === undefined) uncounted = { ...limiter.counters }; // nothing counted
  const counters = { ...limiter.counters };
  for (const name of Object.keys(counters) as (keyof LocalRateLimitCounters)[]) counters[name] -= uncounted[name];
  return { allowed, limited, counters, perSecond };
}

export interface RateLimitRange {
  /** Fewest and most refused requests over every phase of the chunked refill timer (equal in continuous mode). */
  minLimited: number;
  maxLimited: number;
  /** maxLimited − minLimited: what one fill interval of clock skew between client and proxy can change. */
  toleranceRequests: number;
  /** The phase (ms) giving minLimited and maxLimited. */
  phaseAtMin: number;
  phaseAtMax: number;
  /** Phases evaluated; `exact` when every distinct outcome was covered (all critical phases). */
  phasesEvaluated: number;
  exact: boolean;
  fillIntervalMs: number;
}

/**
 * The prediction's range over the unknown phase of the chunked refill timer. The outcome only changes when a timer
 * tick crosses an arrival, i.e. at phases p = (−(tᵢ − t₀)) mod I; evaluating every such critical phase and one point
 * inside each gap between them covers all outcomes exactly. With more than `maxPhases` critical phases, a uniform
 * grid of `maxPhases` phases plus the extremes is used instead (`exact: false`).
 */
export function predictRateLimitedRange(
  sendTimesMs: ArrayLike<number>,
  limit: LocalRateLimit,
  mode: RateLimitRefill,
  options: Omit<PredictOptions, 'phaseMs'> & { maxPhases?: number } = {},
): RateLimitRange {
  const I = limit.bucket.fillIntervalMs;
  const base = { fillIntervalMs: I };
  const evaluate = (phaseMs: number) => predictRateLimited(sendTimesMs, limit, mode, { ...options, phaseMs }).limited;
  if (mode === 'continuous' || limit.perConnection || sendTimesMs.length === 0) {
    const v = evaluate(0);
    return { ...base, minLimited: v, maxLimited: v, toleranceRequests: 0, phaseAtMin: 0, phaseAtMax: 0, phasesEvaluated: 1, exact: true };
  }
  const order = sortedOrder(sendTimesMs);
  const first = elementAt(sendTimesMs, must(order[0], 'the first send'));
  const critical = new Set<number>([0]);
  for (const i of order) {
    const offset = (elementAt(sendTimesMs, i) - first) % I;
    critical.add(offset === 0 ? 0 : I - offset);
  }
  const maxPhases = options.maxPhases ?? 256;
  let phases: number[];
  let exact: boolean;
  if (critical.size <= maxPhases) {
    const sorted = [...critical].sort((a, b) => a - b);
    phases = [];
    for (const [k, phase] of sorted.entries()) {
      const next = sorted[k + 1] ?? I;
      phases.push(phase, (phase + next) / 2);
    }
    exact = true;
  } else {
    phases = Array.from({ length: maxPhases }, (_, k) => (k * I) / maxPhases);
    exact = false;
  }
  let minLimited = Infinity;
  let maxLimited = -Infinity;
  let phaseAtMin = 0;
  let phaseAtMax = 0;
  for (const p of phases) {
    if (p >= I) continue;
    const v = evaluate(p);
    if (v < minLimited) [minLimited, phaseAtMin] = [v, p];
    if (v > maxLimited) [maxLimited, phaseAtMax] = [v, p];
  }
  return { ...base, minLimited, maxLimited, toleranceRequests: maxLimited - minLimited, phaseAtMin, phaseAtMax, phasesEvaluated: phases.length, exact };
}

export interface SpreadRange {
  /** Fewest and most refused requests over every arrival spread up to `spreadMs`. */
  minLimited: number;
  maxLimited: number;
  /** The spread bounded (ms) and what it is worth in tokens (fill rate × spread). */
  spreadMs: number;
  spreadTokens: number;
}

/**
 * Continuous refill: bounds on the refused requests when the proxy saw request i at sᵢ + c + δᵢ, for an unknown clock
 * offset c and delays δᵢ whose spread (max δ − min δ) is at most `spreadMs`, instead of at the send times sᵢ.
 *
 * Why it is sound: with continuous refill (token_bucket_impl.h AtomicTokenBucketImpl: tokens = min(max_tokens,
 * elapsed × fill rate), a request takes a whole token) the bucket is a policer with burst B = max_tokens and rate r.
 * Admitting greedily, as Envoy does, admits a largest subset S such that every time window [u, v] holds at most
 * B + r(v − u) admitted arrivals (an exchange argument: admitting earlier never costs a later admission). A window of
 * the proxy's times holds only requests whose send times lie in a window longer by at most the spread D, so S is also
 * admissible on the send times for a bucket of B + rD, and a set admissible on the send times for B − rD is
 * admissible on the proxy's times for B. Hence allowed(B − rD, sends) ≤ allowed(proxy) ≤ allowed(B + rD, sends),
 * whatever the order in which the requests overtook one another on the way.
 */
export function predictRateLimitedUnderSpread(
  sendTimesMs: ArrayLike<number>,
  limit: LocalRateLimit,
  spreadMs: number,
  options: Omit<PredictOptions, 'phaseMs' | 'random'> & { random?: () => () => number } = {},
): SpreadRange {
  if (!(spreadMs >= 0)) throw new RangeError(`spreadMs must be ≥ 0, got ${spreadMs}`);
  const { maxTokens, tokensPerFill, fillIntervalMs } = limit.bucket;
  const spreadTokens = (spreadMs * tokensPerFill) / fillIntervalMs;
  // A bucket below one token admits nothing; TokenBucket wants a positive size, so it gets a vanishing one.
  const limitedWith = (tokens: number) =>
    predictRateLimited(sendTimesMs, { ...limit, bucket: { ...limit.bucket, maxTokens: Math.max(tokens, 1e-9) } }, 'continuous', {
      ...options,
      random: options.random?.(),
    }).limited;
  return { minLimited: limitedWith(maxTokens + spreadTokens), maxLimited: limitedWith(maxTokens - spreadTokens), spreadMs, spreadTokens };
}

/** Requests above which predictRateLimitedUnderDelays is not attempted (it scans back over admitted requests). */
export const PER_REQUEST_BOUND_LIMIT = 5000;

/**
 * Continuous refill, one shared bucket: bounds on the refused requests when request i (sent at sᵢ, in send order)
 * reached the filter δᵢ after its send (plus one clock offset) with 0 ≤ δᵢ ≤ maxDelayMsᵢ, each request's own bound
 * (its response time): sharper than one spread for all when only a few requests were slow (a first burst opening its
 * connections, say).
 *
 * Why it is sound (the admissible sets of predictRateLimitedUnderSpread: at most B + r(v − u) admissions in every
 * window [u, v], the greedy filter admitting a largest such set):
 * - at most: the admitted requests whose sends lie between those of admitted x and y reached the proxy within
 *   [s_x, E], E the latest sᵢ + maxDelayᵢ among the requests sent in between, so there are at most B + r(E − s_x) of
 *   them. Capacities like this grow with the window, for which admitting greedily in send order is again a largest
 *   set (exchange argument); its size bounds what the proxy admitted from above;
 * - at least: a set in which any admitted x ≤ y (send order) hold at most B + r·max(0, s_y − s_x − maxDelay_x)
 *   admitted requests between them is admissible whatever the delays (those reaching the proxy in a window span at
 *   least that much proxy time), so the proxy, which admits a largest admissible set, admitted at least as many.
 */
export function predictRateLimitedUnderDelays(
  sendTimesMs: ArrayLike<number>,
  maxDelayMs: ArrayLike<number>,
  limit: LocalRateLimit,
): { minLimited: number; maxLimited: number } {
  const n = sendTimesMs.length;
  if (maxDelayMs.length !== n) throw new RangeError('one delay bound per send time');
  const B = limit.bucket.maxTokens;
  const r = limit.bucket.tokensPerFill / limit.bucket.fillIntervalMs;
  const eps = 1e-9;
  // Typed arrays read in the quadratic walks below: the calibration tests judge thousands of runs of 500 requests.
  // Every index read is inside [0, n), so `?? 0` never applies.
  const s = Float64Array.from(sendTimesMs);
  const delay = Float64Array.from(maxDelayMs);
  for (let i = 1; i < n; i++) if ((s[i] ?? 0) < (s[i - 1] ?? 0)) throw new RangeError('send times must be in send order');
  const reach = new Float64Array(n);
  let longestDelay = 0;
  for (let i = 0; i < n; i++) {
    const d = delay[i] ?? 0;
    reach[i] = (s[i] ?? 0) + Math.max(0, d);
    longestDelay = Math.max(longestDelay, d);
  }

  // At most: greedy in send order; window capacity B + r(E − s_x), E the latest reach of any request sent in between
  // (a range maximum over reach). The check runs at each admitted request going back, until a window is long enough
  // that no window reaching further back can bind (send times are in order, so that holds from there on).
  const latest = rangeMax(reach);
  const upper = new Int32Array(n);
  let upperCount = 0;
  for (let i = 0; i < n; i++) {
    const si = s[i] ?? 0;
    let ok = 1 <= B + r * ((reach[i] ?? 0) - si) + eps;
    let count = 1;
    for (let k = upperCount - 1; k >= 0 && ok; k--) {
      const x = upper[k] ?? 0;
      const sx = s[x] ?? 0;
      if (B + r * (si - sx) >= upperCount + 1) break;
      count++;
      if (count > B + r * (latest(x, i) - sx) + eps) ok = false;
    }
    if (ok) upper[upperCount++] = i;
  }

  // At least: greedy in send order with the stricter capacity B + r·max(0, s_y − s_x − maxDelay_x).
  const lower = new Int32Array(n);
  let lowerCount = 0;
  for (let i = 0; i < n; i++) {
    const si = s[i] ?? 0;
    let ok = 1 <= B - eps;
    let count = 1;
    for (let k = lowerCount - 1; k >= 0 && ok; k--) {
      const x = lower[k] ?? 0;
      const sx = s[x] ?? 0;
      if (B + r * Math.max(0, si - sx - longestDelay) >= lowerCount + 1) break;
      count++;
      if (count > B + r * Math.max(0, si - sx - (delay[x] ?? 0)) - eps) ok = false;
    }
    if (ok) lower[lowerCount++] = i;
  }
  return { minLimited: n - upperCount, maxLimited: n - lowerCount };
}

/** Maximum of values[a..b] (a ≤ b) in constant time, from a sparse table built once. */
function rangeMax(values: Float64Array): (a: number, b: number) => number {
  const n = values.length;
  const levels = Math.max(1, 32 - Math.clz32(n));
  const table = new Float64Array(levels * n);
  table.set(values);
  for (let l = 1; l < levels; l++) {
    const half = 1 << (l - 1);
    for (let i = 0; i + (1 << l) <= n; i++) table[l * n + i] = Math.max(table[(l - 1) * n + i] ?? 0, table[(l - 1) * n + i + half] ?? 0);
  }
  return (a, b) => {
    const l = 31 - Math.clz32(b - a + 1);
    return Math.max(table[l * n + a] ?? 0, table[l * n + b - (1 << l) + 1] ?? 0);
  };
}

function sortedOrder(times: ArrayLike<number>): number[] {
  const order = Array.from({ length: times.length }, (_, i) => i);
  let sorted = true;
  for (let i = 1; i < times.length; i++) {
    if (!Number.isFinite(times[i]) || elementAt(times, i) < elementAt(times, i - 1)) sorted = false;
  }
  if (times.length > 0 && !Number.isFinite(times[0])) sorted = false;
  if (sorted) return order;
  for (let i = 0; i < times.length; i++) if (!Number.isFinite(times[i])) throw new RangeError(`send time ${i} is not a number`);
  return order.sort((a, b) => elementAt(times, a) - elementAt(times, b) || a - b);
}

function noRandom(limit: LocalRateLimit): () => number {
  return () => {
    throw new Error(
      `EnvoyFilter ${limit.namespace}/${limit.name} enables ${limit.enabledPercent} % / enforces ${limit.enforcedPercent} % of requests: pass a seeded options.random to predict it`,
    );
  };
}
