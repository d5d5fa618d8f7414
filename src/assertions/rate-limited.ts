// rateLimited: the 429s the client saw against a replay of the same arrival times through the token bucket of the
// applied local-rate-limit EnvoyFilter, with the refill behaviour of the target's Envoy (chunked before 1.31,
// continuous since).
//
// Tolerance, in requests, shown in the sentence:
// - continuous refill: the proxy does not see the requests at their send times but each some time δᵢ later, and a
//   burst (autocannon releases every connection's per-second budget at once) reaches the filter spread over tens of
//   milliseconds as the proxy works through it. No request can reach the proxy after its response came back, so the
//   slowest response bounds the spread of δ; the replay is bounded for that spread (predictRateLimitedUnderSpread:
//   a bucket of max_tokens ± fill rate × spread over the send times brackets what the proxy can have decided, soundly),
//   and, when the observation kept each request's response time, more sharply by each request's own bound
//   (predictRateLimitedUnderDelays; a slow first burst then no longer widens the whole run);
// - chunked refill: the refill timer's phase relative to the client's clock is unknown (the timer starts when the
//   proxy builds the filter), so the prediction is the range over every phase in one fill interval
//   (predictRateLimitedRange); its width is what one fill interval of clock skew can change. Between two timer fires
//   arrival times do not matter, only on which side of a fire a request lands: 1 request for that;
// - plus the expectation's `slack`.
// Sequential looks (load still running): only "too few 429s" is conclusive. Requests still in flight at a look are
// the allowed ones (a limited request gets Envoy's local reply at once; an allowed one waits for the upstream), and
// each allowed request missing from the replay frees a token there, lowering the prediction by up to one. So a
// look sees too many 429s through no fault of the filter (measured: 45 % false fails on experiment 09's load,
// test/assertions/calibration-ratelimit-sequential.test.ts), and an agreement is no pass either: a bucket twice as
// large agrees with the first look and only departs once it is drained. Missing allowed requests can only lower the
// prediction, so too few 429s stays a failure at any look; everything else waits for the final look.
// The verdict is exact given the arrivals (no sampling error), so it is pass or fail; "the filter never engaged"
// (nothing limited and no counter movement although the replay limits requests) is called out, since an
// EnvoyFilter that is accepted but matches no listener is the classic rate-limit mistake (istio/istio#43953).
import type { RateLimitedExpectation, ResourceRef } from '../spec/types.ts';
import { SpecError } from '../errors.ts';
import {
  isLocalRateLimitFilter,
  LOCAL_RATE_LIMIT_FLAG,
  parseLocalRateLimit,
  predictRateLimited,
  predictRateLimitedRange,
  predictRateLimitedUnderDelays,
  predictRateLimitedUnderSpread,
  PER_REQUEST_BOUND_LIMIT,
  type LocalRateLimit,
  type SpreadRange,
} from '../istio/ratelimit.ts';
import { istioBehaviour, type RateLimitRefill } from '../istio/version.ts';
import { seededRandom } from './stats/simulate.ts';
import type { JudgeContext, Verdict } from './verdict.ts';
import { localRateLimitCount } from './counters.ts';
import { FLAG_LABEL, hasFlag } from './labels.ts';
import { formatCount, formatMs, plural } from './stats/format.ts';
import { clientPopulation, scalarBand, type KindHandler } from './kind.ts';
import { where, population, type RawCommon, type RawWhere } from '../spec/expectation-input.ts';

/** Chunked refill: requests that a timer fire just as a request arrives can move (arrival jitter between client and proxy). */
export const ARRIVAL_JITTER_REQUESTS = 1;
/** Send times and the proxy's clock may be whole milliseconds (k6 and Date.now()): added to the arrival spread bound. */
const TIMESTAMP_RESOLUTION_MS = 2;
/** Seed of the draws for fractional filter_enabled / filter_enforced, so a verdict is reproducible. */
const FRACTION_SEED = 20240917;

/** One second of the replay against what the client saw. */
export interface RateLimitSecond {
  second: number;
  predictedLimited: number;
  predictedAllowed: number;
  observedLimited: number;
}

export interface RateLimitedDetails {
  warmupRequests: number;
  /** namespace/name of the EnvoyFilter replayed. */
  filter: string;
  refill: RateLimitRefill;
  bucket: LocalRateLimit['bucket'];
  predicted: { min: number; max: number; exact: boolean; phasesEvaluated: number };
  /** The allowance around the prediction, in requests, by cause. */
  tolerance: {
    phase: number;
    jitter: number;
    arrivalSpreadMs?: number;
    arrivalSpreadTokens?: number;
    spread?: number;
    perRequestDelays?: boolean;
    fraction: number;
    slack: number;
  };
  counters: { enabled: number; rate_limited: number; enforced: number };
  neverEngaged: boolean;
  findings: LocalRateLimit['findings'];
  perSecond: RateLimitSecond[];
}

export function judgeRateLimited(e: RateLimitedExpectation, context: JudgeContext): Verdict {
  const ref = findFilter(e, context.experiment.apply);
  const limit = parseLocalRateLimit(ref.object, ref.source);
  const mode: RateLimitRefill = istioBehaviour(context.target.istioVersion).rateLimitRefill;
  const times = context.observation.sendTimes(e.where);
  // The warm-up's requests drained the bucket before the first recorded one: replay them too, without counting them.
  const warmup = times.length > 0 ? (context.observation.warmupSendTimes?.(e.where) ?? new Float64Array(0)) : new Float64Array(0);
  const replayed = warmup.length > 0 ? concat(warmup, times) : times;
  const fractional = isFractional(limit.enabledPercent) || isFractional(limit.enforcedPercent);
  const random = () => seededRandom(FRACTION_SEED).uniform;
  const replay = { ...(warmup.length > 0 ? { countFromMs: context.experiment.load.warmupMs } : {}) };
  const phases = predictRateLimitedRange(replayed, limit, mode, fractional ? { ...replay, random: random() } : replay);
  const continuous = mode === 'continuous';
  const spread = continuous
    ? continuousBounds(context, limit, e.where, times, warmup, arrivalSpreadBoundMs(context, e.where), fractional ? random : undefined)
    : undefined;
  const perRequest = spread?.perRequest === true ? spread : undefined;
  const narrowed = spread;
  const range = narrowed ? { ...phases, minLimited: narrowed.minLimited, maxLimited: narrowed.maxLimited } : phases;
  const phaseTolerance = phases.toleranceRequests;
  const jitter = continuous ? 0 : ARRIVAL_JITTER_REQUESTS;
  const fractionAllowance = fractional ? Math.ceil(3 * Math.sqrt(Math.max(range.maxLimited, 1))) : 0;
  const lowest = Math.max(0, range.minLimited - jitter - fractionAllowance - e.slack);
  const highest = range.maxLimited + jitter + fractionAllowance + e.slack;

  const observed = countFlagged(context, e.where);
  const limitedCounter = localRateLimitCount(context.counters, 'rate_limited', limit.statPrefix);
  const enabledCounter = localRateLimitCount(context.counters, 'enabled', limit.statPrefix);
  const enforcedCounter = localRateLimitCount(context.counters, 'enforced', limit.statPrefix);
  const counterMoved = limitedCounter + enabledCounter + enforcedCounter > 0;
  const agree = observed >= lowest && observed <= highest;
  const provisional = context.sequential !== undefined && context.sequential.final !== true;
  const tooFew = observed < lowest;
  const neverEngaged = !agree && observed === 0 && range.minLimited > 0 && !counterMoved && context.counters.length > 0;

  const bucket = describeBucket(limit, mode);
  const predicted = range.minLimited === range.maxLimited ? formatCount(range.minLimited) : `${formatCount(range.minLimited)}–${formatCount(range.maxLimited)}`;
  const toleranceText = describeTolerance(
    mode,
    phaseTolerance,
    limit.bucket.fillIntervalMs,
    e.slack,
    fractionAllowance,
    spread,
    range.maxLimited - range.minLimited,
    perRequest !== undefined,
  );
  const allowed = `${formatCount(lowest)}–${formatCount(highest)}`;
  let explanation: string;
  if (times.length === 0) {
    explanation = `No request was recorded${e.where ? ' matching the filter' : ''}, so there is nothing to replay through ${bucket}.`;
  } else if (neverEngaged) {
    explanation =
      `The filter never engaged: ${limit.name} should have limited ${predicted} of ${plural(times.length, 'request')} (${bucket}) ` +
      `but the client saw no ${limit.status} and its http_local_rate_limit counters did not move — check its workloadSelector, ` +
      `listener match and context, and that filter_enabled and filter_enforced are set.`;
  } else {
    const counterNote = context.counters.length > 0 ? `, counter rate_limited ${formatCount(limitedCounter)}` : '';
    const verdictWord = agree ? '' : `, outside the allowed ${allowed}`;
    const waiting =
      provisional && !tooFew
        ? ' Judged at the last look: requests still in flight (allowed ones wait for the upstream, limited ones are answered at once) are missing from this replay, and later requests can still disagree.'
        : '';
    const afterWarmup = warmup.length > 0 ? `, after the ${plural(warmup.length, 'warm-up request')} before them,` : '';
    explanation =
      `${formatCount(observed)} of ${plural(times.length, 'request')} were rate limited${counterNote}; replaying their arrivals${afterWarmup} ` +
      `through ${bucket} predicts ${predicted} (tolerance ${toleranceText})${verdictWord}.${waiting}`;
  }

  const predictedSeries = predictRateLimited(replayed, limit, mode, {
    ...replay,
    phaseMs: range.phaseAtMin,
    ...(fractional ? { random: random() } : {}),
  }).perSecond;
  const observedPerSecond = perSecond(context.observation.sendTimes({ ...e.where, [FLAG_LABEL]: LOCAL_RATE_LIMIT_FLAG }));
  return {
    kind: 'rateLimited',
    title: e.title,
    outcome: times.length === 0 ? 'inconclusive' : tooFew ? 'fail' : provisional ? 'inconclusive' : agree ? 'pass' : 'fail',
    observed,
    expected: `${predicted} rate limited (allowed ${allowed})`,
    interval: [lowest, highest],
    confidence: e.confidence,
    sampleSize: times.length,
    explanation,
    evidence: { unit: 'count', expected: scalarBand({ min: lowest, max: highest }), population: clientPopulation('requests', e.where) },
    details: {
      warmupRequests: warmup.length,
      filter: `${limit.namespace}/${limit.name}`,
      refill: mode,
      bucket: limit.bucket,
      predicted: { min: range.minLimited, max: range.maxLimited, exact: range.exact, phasesEvaluated: range.phasesEvaluated },
      tolerance: {
        phase: phaseTolerance,
        jitter,
        ...(spread
          ? {
              arrivalSpreadMs: spread.spreadMs,
              arrivalSpreadTokens: spread.spreadTokens,
              spread: range.maxLimited - range.minLimited,
              perRequestDelays: perRequest !== undefined,
            }
          : {}),
        fraction: fractionAllowance,
        slack: e.slack,
      },
      counters: { enabled: enabledCounter, rate_limited: limitedCounter, enforced: enforcedCounter },
      neverEngaged,
      findings: limit.findings,
      perSecond: mergePerSecond(predictedSeries, observedPerSecond),
    } satisfies RateLimitedDetails,
    source: e.source,
  };
}

function findFilter(e: RateLimitedExpectation, apply: ResourceRef[]): ResourceRef {
  const candidates = apply.filter((r) => r.object.kind === 'EnvoyFilter' && isLocalRateLimitFilter(r.object));
  if (e.filter !== undefined) {
    const named = candidates.find((r) => r.object.metadata.name === e.filter);
    if (!named) {
      const names = candidates.map((r) => r.object.metadata.name).join(', ') || 'none';
      throw new SpecError(`no local-rate-limit EnvoyFilter named "${e.filter}" is applied (applied: ${names})`, e.source, 'rateLimited.filter');
    }
    return named;
  }
  const [only, ...others] = candidates;
  if (only !== undefined && others.length === 0) return only;
  throw new SpecError(
    candidates.length === 0
      ? 'no local-rate-limit EnvoyFilter is applied by this experiment, so there is no bucket to predict with'
      : `${candidates.length} local-rate-limit EnvoyFilters are applied (${candidates.map((r) => r.object.metadata.name).join(', ')}): name one with "filter"`,
    e.source,
    'rateLimited.filter',
  );
}

function countFlagged(context: JudgeContext, where?: Record<string, string>): number {
  let n = 0;
  for (const [value, count] of context.observation.countBy(FLAG_LABEL, where)) if (hasFlag(value, LOCAL_RATE_LIMIT_FLAG)) n += count;
  return n;
}

function isFractional(percent: number): boolean {
  return percent > 0 && percent < 100;
}

function describeBucket(limit: LocalRateLimit, mode: RateLimitRefill): string {
  const { maxTokens, tokensPerFill, fillIntervalMs } = limit.bucket;
  return `${limit.name}'s bucket (${plural(maxTokens, 'token')}, ${formatCount(tokensPerFill)} per ${formatMs(fillIntervalMs)}, ${mode} refill)`;
}

function describeTolerance(
  mode: RateLimitRefill,
  phase: number,
  fillIntervalMs: number,
  slack: number,
  fraction: number,
  spread: SpreadRange | undefined,
  width: number,
  perRequest: boolean,
): string {
  const parts =
    mode === 'chunked' || !spread
      ? [`${formatCount(phase)} for one ${formatMs(fillIntervalMs)} fill interval of clock skew`, `${ARRIVAL_JITTER_REQUESTS} for arrival jitter`]
      : [
          `${formatCount(width)} for when each request can have reached the proxy (no later than its response came back` +
            (perRequest
              ? `, each by its own response time; at most ${formatMs(spread.spreadMs)})`
              : `: up to ${formatMs(spread.spreadMs)}, worth ${spread.spreadTokens.toFixed(2)} tokens)`) +
            '; continuous refill has no timer to skew',
        ];
  if (fraction > 0) parts.push(`${formatCount(fraction)} for the filter's partial enabling/enforcement`);
  if (slack > 0) parts.push(`${formatCount(slack)} slack`);
  return parts.join(' + ');
}

interface ContinuousBounds extends SpreadRange {
  /** Whether each request's own response time bounded its delay (predictRateLimitedUnderDelays). */
  perRequest: boolean;
}

/**
 * Continuous refill: the fewest and most requests the proxy can have refused among the recorded ones. Both bounds
 * hold for a whole sequence replayed from a full bucket, so with a warm-up before the recorded requests the recorded
 * ones' admissions are bounded as the whole sequence's minus the warm-up's alone (assuming no recorded request
 * overtook a warm-up one on the way to the proxy).
 */
function continuousBounds(
  context: JudgeContext,
  limit: LocalRateLimit,
  where: Record<string, string> | undefined,
  times: Float64Array,
  warmup: Float64Array,
  spreadMs: number,
  random: (() => () => number) | undefined,
): ContinuousBounds {
  const pairs = context.observation.sendTimesWithLatencies?.(where);
  const warmPairs = warmup.length > 0 ? context.observation.warmupSendTimesWithLatencies?.(where) : undefined;
  const delays = (latencies: Float64Array) => Float64Array.from(latencies, (l) => (Number.isFinite(l) ? l : Infinity) + TIMESTAMP_RESOLUTION_MS);
  const usable = random === undefined && !limit.perConnection && pairs !== undefined && pairs.sendTimes.length === times.length;
  const all = warmup.length > 0 ? concat(warmup, times) : times;
  const allDelays = !usable
    ? undefined
    : warmup.length === 0
      ? delays(pairs.latencies)
      : warmPairs !== undefined && warmPairs.sendTimes.length === warmup.length
        ? concat(delays(warmPairs.latencies), delays(pairs.latencies))
        : undefined;
  let perRequest = false;
  const admitted = (sequence: Float64Array, bounds: Float64Array | undefined) => {
    const one = predictRateLimitedUnderSpread(sequence, limit, spreadMs, random ? { random } : {});
    let lo = sequence.length - one.maxLimited;
    let hi = sequence.length - one.minLimited;
    if (bounds && sequence.length <= PER_REQUEST_BOUND_LIMIT && bounds.every((b) => Number.isFinite(b))) {
      const own = predictRateLimitedUnderDelays(sequence, bounds, limit);
      lo = Math.max(lo, sequence.length - own.maxLimited);
      hi = Math.min(hi, sequence.length - own.minLimited);
      perRequest = true;
    }
    return { lo, hi };
  };
  const total = admitted(all, allDelays);
  const before = warmup.length > 0 ? admitted(warmup, allDelays?.subarray(0, warmup.length)) : { lo: 0, hi: 0 };
  const recordedLo = Math.max(0, total.lo - before.hi);
  const recordedHi = Math.min(times.length, total.hi - before.lo);
  const spreadTokens = (spreadMs * limit.bucket.tokensPerFill) / limit.bucket.fillIntervalMs;
  return { minLimited: times.length - recordedHi, maxLimited: times.length - recordedLo, spreadMs, spreadTokens, perRequest };
}

/**
 * An upper bound on the spread of the delays from send to the proxy's filter: no request reaches the proxy after its
 * response is back, so the slowest recorded response bounds every delay (and the fastest delay is ≥ 0).
 */
function arrivalSpreadBoundMs(context: JudgeContext, where?: Record<string, string>): number {
  const latency = context.observation.latency(where);
  return latency.count > 0 && Number.isFinite(latency.max) ? latency.max + TIMESTAMP_RESOLUTION_MS : TIMESTAMP_RESOLUTION_MS;
}

function perSecond(times: Float64Array): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of times) {
    const s = Math.floor(t / 1000);
    out.set(s, (out.get(s) ?? 0) + 1);
  }
  return out;
}

function mergePerSecond(predicted: { second: number; allowed: number; limited: number }[], observed: Map<number, number>): RateLimitSecond[] {
  const rows = predicted.map((p) => ({
    second: p.second,
    predictedLimited: p.limited,
    predictedAllowed: p.allowed,
    observedLimited: observed.get(p.second) ?? 0,
  }));
  for (const [second, count] of observed) {
    if (!rows.some((r) => r.second === second)) rows.push({ second, predictedLimited: 0, predictedAllowed: 0, observedLimited: count });
  }
  return rows.sort((a, b) => a.second - b.second);
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The schema's `rateLimited` object. */
interface RawRateLimited extends RawCommon {
  filter?: string;
  slack?: number;
  where?: RawWhere;
}

export const rateLimitedKind: KindHandler<RateLimitedExpectation, RawRateLimited> = {
  parse({ raw, common }) {
    return {
      kind: 'rateLimited',
      ...common,
      title: raw.title ?? `429s as the token bucket predicts${raw.filter ? ` (${raw.filter})` : ''}${population(raw.where)}`,
      filter: raw.filter,
      slack: raw.slack ?? 0,
      where: where(raw.where),
    };
  },
  judge: judgeRateLimited,
  judgedFromClient: () => true,
};
