// Realistic, fabricated RunResults for the reporter tests (seeded, so every run builds the same bytes).
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import type { Expectation, K8sObject, LoadSpec, SourcePos } from '../../src/spec/types.ts';
import type { ExpectedBand, Verdict } from '../../src/assertions/verdict.ts';
import type { CounterSample, ObservationSnapshot, TimeSeriesPoint } from '../../src/observe/types.ts';
import type { ExperimentOutcome, ExperimentResult, PhaseTiming, RunEvent, RunResult } from '../../src/runner/result.ts';
import type { LatencyDetails } from '../../src/assertions/latency.ts';
import type { RateLimitedDetails } from '../../src/assertions/rate-limited.ts';

export const hostileScript = '<script>alert(1)</script>';
export const hostileImg = '<img src=x onerror=alert(1)>';

class Noise {
  private rng: RandomGenerator;
  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed);
  }
  /** Integer in [from, to]. */
  int(from: number, to: number): number {
    return unsafeUniformIntDistribution(from, to, this.rng);
  }
}

const pos = (file: string, line: number, col = 7): SourcePos => ({ file, line, col });

function loadSpec(overrides: Partial<LoadSpec> = {}): LoadSpec {
  return {
    driver: 'autocannon',
    requests: [{ name: 'productpage', method: 'GET', path: '/productpage', headers: {}, user: 'jason', weight: 1 }],
    model: { kind: 'open', rate: 50 },
    durationMs: 10_000,
    warmupMs: 1000,
    timeoutMs: 5000,
    classifiers: ['status', 'reviews.version', 'flag'],
    ...overrides,
  };
}

function virtualService(name: string, http: unknown[]): K8sObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default' },
    spec: { hosts: [name.split(/[^a-z]/)[0] || 'reviews'], http },
  };
}

const destinationRule: K8sObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: { host: 'reviews', subsets: ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })) },
};

/** Per-second counts: `rate` requests a second split by `shares` (status → share), with seeded noise. */
function series(noise: Noise, seconds: number, rate: number, shares: (second: number) => Record<string, number>): TimeSeriesPoint[] {
  const points: TimeSeriesPoint[] = [];
  for (let second = 0; second < seconds; second++) {
    const byStatus: Record<string, number> = {};
    for (const [status, share] of Object.entries(shares(second))) {
      const n = Math.max(0, Math.round(rate * share) + noise.int(-2, 2));
      if (n > 0) byStatus[status] = n;
    }
    points.push({ second, byStatus });
  }
  return points;
}

function observation(
  timeSeries: TimeSeriesPoint[],
  groups: ObservationSnapshot['groups'],
  samples: ObservationSnapshot['samples'],
  latency = { p50: 12.4, p90: 31.8, p99: 88.2, p999: 140.5, max: 212.9, mean: 17.3, min: 2.1 },
): ObservationSnapshot {
  const total = timeSeries.reduce((sum, p) => sum + Object.values(p.byStatus).reduce((a, b) => a + b, 0), 0);
  const errored = timeSeries.reduce((sum, p) => sum + (p.byStatus['0'] ?? 0), 0);
  return { total, sent: total, answered: total - errored, errored, groups, latency, timeSeries, samples };
}

function phases(loadMs: number, failAt?: PhaseTiming['phase']): PhaseTiming[] {
  const plan: [PhaseTiming['phase'], number][] = [
    ['snapshot', 12],
    ['apply', 40],
    ['converge', 850],
    ['load', loadMs],
    ['counters', 25],
    ['judge', 6],
    ['restore', 310],
  ];
  const out: PhaseTiming[] = [];
  let at = 0;
  for (const [phase, duration] of plan) {
    if (failAt === phase) {
      out.push({ phase, startMs: at, durationMs: duration, ok: false, error: `${phase} timed out` });
      at += duration;
      out.push({ phase: 'restore', startMs: at, durationMs: 290, ok: true });
      return out;
    }
    out.push({ phase, startMs: at, durationMs: duration, ok: true });
    at += duration;
  }
  return out;
}

function events(loadMs: number): RunEvent[] {
  return [
    { atMs: -902, what: 'applied' },
    { atMs: -40, what: 'converged' },
    { atMs: 0, what: 'load-start' },
    { atMs: loadMs, what: 'load-end' },
    { atMs: loadMs + 345, what: 'restored' },
  ];
}

function counters(entries: [string, string, Record<string, string>, number][]): CounterSample[] {
  return entries.map(([proxy, name, labels, value]) => ({ proxy, name, labels, value }));
}

/** A share's expected band as the judges build it: value ∓ tolerance within [0, 1] (same arithmetic, same floats). */
function band(value: number, tolerance: number): ExpectedBand {
  return { value, min: Math.max(0, value - tolerance), max: Math.min(1, value + tolerance) };
}

function outcomeOf(verdicts: Verdict[]): ExperimentOutcome {
  if (verdicts.some((v) => v.outcome === 'fail')) return 'fail';
  if (verdicts.some((v) => v.outcome === 'inconclusive')) return 'inconclusive';
  return 'pass';
}

interface ExperimentParts {
  name: string;
  description: string;
  tags: string[];
  resources: K8sObject[];
  load?: LoadSpec;
  expectations: Expectation[];
  /** In the expectations' order: each judges the expectation at its index. */
  verdicts: Verdict[];
  observation?: ObservationSnapshot;
  counters?: CounterSample[];
  sweep?: ExperimentResult['sweep'];
  startedAt: string;
}

function experiment(parts: ExperimentParts): ExperimentResult {
  const loadMs = (parts.load ?? loadSpec()).durationMs ?? 10_000;
  const sent = parts.observation?.sent ?? 0;
  return {
    name: parts.name,
    file: `/work/experiments/bookinfo/${parts.sweep?.baseName ?? parts.name}.yaml`,
    description: parts.description,
    tags: parts.tags,
    sweep: parts.sweep,
    outcome: outcomeOf(parts.verdicts),
    resources: parts.resources,
    load: parts.load ?? loadSpec(),
    loadSummary: {
      driver: 'autocannon',
      sent,
      answered: parts.observation?.answered ?? 0,
      errored: parts.observation?.errored ?? 0,
      durationMs: loadMs,
      notes: [],
    },
    convergence: {
      version: '2024-06-01T10:00:00Z/7',
      proxies: [
        { name: 'productpage-v1', version: '7', synced: true },
        { name: 'reviews-v2', version: '7', synced: true },
      ],
      waitedMs: 850,
    },
    restore: { deleted: parts.resources.map((r) => `${r.kind}/${r.metadata.name}`), restored: [], errors: [] },
    observation: parts.observation,
    counters: parts.counters ?? [],
    expectations: parts.expectations,
    verdicts: parts.verdicts.map((verdict, expectationIndex) => ({ ...verdict, expectationIndex })),
    phases: phases(loadMs),
    events: events(loadMs),
    warnings: [],
    startedAt: parts.startedAt,
    durationMs: loadMs + 1243,
  };
}

function shiftExperiment(noise: Noise): ExperimentResult {
  const file = '/work/experiments/bookinfo/reviews-shift-80-20.yaml';
  const ts = series(noise, 10, 50, () => ({ '200': 1 }));
  const total = ts.reduce((s, p) => s + (p.byStatus['200'] ?? 0), 0);
  const v1 = Math.round(total * 0.806);
  return experiment({
    name: 'reviews-shift-80-20',
    description: '80% of reviews traffic to v1, 20% to v3.',
    tags: ['traffic-shifting', 'tutorial'],
    resources: [
      destinationRule,
      virtualService('reviews', [
        {
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 80 },
            { destination: { host: 'reviews', subset: 'v3' }, weight: 20 },
          ],
        },
      ]),
    ],
    expectations: [
      {
        kind: 'distribution',
        title: 'distribution of reviews.version',
        source: pos(file, 22),
        confidence: 0.99,
        of: 'reviews.version',
        weights: { v1: 80, v3: 20 },
        tolerance: 5,
      },
      { kind: 'status', title: 'status 200', source: pos(file, 23), confidence: 0.99, code: '200', ratio: { min: 0.99 } },
      { kind: 'latency', title: 'latency', source: pos(file, 24), confidence: 0.99, percentiles: { p99: { below: 500 }, p50: { below: 50 } } },
    ],
    verdicts: [
      {
        kind: 'distribution',
        title: 'distribution of reviews.version',
        outcome: 'pass',
        observed: { v1: v1 / total, v3: (total - v1) / total },
        expected: 'v1 80 ± 5 %, v3 20 ± 5 %',
        interval: { v1: [0.762, 0.845], v3: [0.155, 0.238] },
        pValue: 0.71,
        confidence: 0.99,
        sampleSize: total,
        explanation: `Every category's 99 % interval lies within 5 points of its weight (χ² p = 0.71, n = ${total}).`,
        evidence: {
          unit: 'share',
          expected: { v1: band(0.8, 0.05), v3: band(0.2, 0.05) },
          population: { source: 'client', of: 'responses that carried reviews.version' },
        },
        source: pos(file, 22),
      },
      {
        kind: 'status',
        title: 'status 200',
        outcome: 'pass',
        observed: 1,
        expected: '≥ 99 %',
        interval: [0.9887, 1],
        confidence: 0.99,
        sampleSize: total,
        explanation: `All ${total} responses were 200; the lower 99 % bound 98.87 % is above 99 %… within tolerance.`,
        evidence: { unit: 'share', expected: { '': { min: 0.99 } }, population: { source: 'client', of: 'responses' } },
      },
      {
        // As src/assertions/latency.ts judges: the share of requests at or over each threshold.
        kind: 'latency',
        title: 'latency',
        outcome: 'pass',
        observed: { 'p99 below 500': 0, 'p50 below 50': 0.042 },
        expected: 'p99 below 500ms, p50 below 50ms',
        interval: { 'p99 below 500': [0, 0.0106], 'p50 below 50': [0.024, 0.068] },
        confidence: 0.99,
        sampleSize: total,
        explanation: 'p99 (88.2ms): 0 % of 499 requests took 500ms or longer; p50 (12.4ms): 4.2 % took 50ms or longer, both under their tails.',
        evidence: {
          unit: 'share',
          expected: { 'p99 below 500': { max: 0.01 }, 'p50 below 50': { max: 0.5 } },
          population: { source: 'client', of: 'requests' },
        },
        details: {
          unit: 'observed and interval: share of requests at or over each threshold',
          percentilesMs: { p50: 12.4, p90: 31.8, p99: 88.2, max: 212.9 },
          comparisons: 2,
          method: 'clopper-pearson',
          checks: [
            { key: 'p99 below 500', outcome: 'pass', share: 0, interval: [0, 0.0106] },
            { key: 'p50 below 50', outcome: 'pass', share: 0.042, interval: [0.024, 0.068] },
          ],
          limits: [
            { percentile: 'p99', direction: 'below', thresholdMs: 500 },
            { percentile: 'p50', direction: 'below', thresholdMs: 50 },
          ],
        } satisfies LatencyDetails,
      },
    ],
    observation: observation(
      ts,
      [
        { labels: { status: '200', 'reviews.version': 'v1' }, count: v1, latency: { p50: 11, p90: 28, p99: 80, max: 190, mean: 15 } },
        { labels: { status: '200', 'reviews.version': 'v3' }, count: total - v1, latency: { p50: 16, p90: 40, p99: 95, max: 212.9, mean: 21 } },
      ],
      [
        {
          labels: { status: '200', 'reviews.version': 'v3' },
          status: 200,
          body: '<html><body>… glyphicon-star style="color: red" …</body></html>',
          headers: { 'content-type': 'text/html; charset=utf-8', 'x-envoy-upstream-service-time': '14' },
        },
      ],
    ),
    counters: counters([
      ['reviews-v1', 'istio_requests_total', { response_code: '200', destination_service_name: 'reviews', destination_version: 'v1' }, v1],
      ['reviews-v3', 'istio_requests_total', { response_code: '200', destination_service_name: 'reviews', destination_version: 'v3' }, total - v1],
      ['istio-ingressgateway', 'istio_requests_total', { response_code: '200', destination_service_name: 'productpage' }, total],
    ]),
    startedAt: '2024-06-01T10:00:01.000Z',
  });
}

function rateLimitExperiment(noise: Noise): ExperimentResult {
  const file = '/work/experiments/bookinfo/productpage-local-rate-limit.yaml';
  // Bucket of 10 tokens refilled 10/s against 40 req/s: ~30 429s a second after the first second.
  const ts = series(noise, 10, 40, (s) => (s === 0 ? { '200': 0.5, '429': 0.5 } : { '200': 0.25, '429': 0.75 }));
  // details.perSecond as src/assertions/rate-limited.ts reports it.
  const perSecond = ts.map((p) => {
    const sent = (p.byStatus['200'] ?? 0) + (p.byStatus['429'] ?? 0);
    const predictedLimited = p.second === 0 ? sent - 20 : sent - 10;
    return { second: p.second, predictedLimited, predictedAllowed: sent - predictedLimited, observedLimited: p.byStatus['429'] ?? 0 };
  });
  const limited = perSecond.reduce((s, p) => s + p.observedLimited, 0);
  const predicted = perSecond.reduce((s, p) => s + p.predictedLimited, 0);
  return experiment({
    name: 'productpage-local-rate-limit',
    description: 'Local rate limit on productpage: 10 requests per second, token bucket of 10.',
    tags: ['rate-limiting'],
    load: loadSpec({ model: { kind: 'open', rate: 40 } }),
    resources: [
      {
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'EnvoyFilter',
        metadata: { name: 'filter-local-ratelimit-svc', namespace: 'default' },
        spec: {
          workloadSelector: { labels: { app: 'productpage' } },
          configPatches: [
            {
              applyTo: 'HTTP_FILTER',
              match: { context: 'SIDECAR_INBOUND' },
              patch: {
                operation: 'INSERT_BEFORE',
                value: {
                  name: 'envoy.filters.http.local_ratelimit',
                  typed_config: { token_bucket: { max_tokens: 10, tokens_per_fill: 10, fill_interval: '1s' } },
                },
              },
            },
          ],
        },
      },
    ],
    expectations: [{ kind: 'rateLimited', title: 'rate limited by filter-local-ratelimit-svc', source: pos(file, 30), confidence: 0.99, slack: 2 }],
    verdicts: [
      {
        kind: 'rateLimited',
        title: 'rate limited by filter-local-ratelimit-svc',
        outcome: 'pass',
        observed: limited,
        expected: `${predicted} ± 30 429s (token bucket 10/1s, burst 10)`,
        interval: [predicted - 30, predicted + 30],
        confidence: 0.99,
        sampleSize: ts.reduce((s, p) => s + (p.byStatus['200'] ?? 0) + (p.byStatus['429'] ?? 0), 0),
        explanation: `${limited} requests were rate limited; the token bucket predicts ${predicted} ± 30 (clock skew and slack).`,
        evidence: { unit: 'count', expected: { '': { min: predicted - 30, max: predicted + 30 } }, population: { source: 'client', of: 'requests' } },
        details: {
          warmupRequests: 0,
          filter: 'default/filter-local-ratelimit-svc',
          refill: 'chunked',
          bucket: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 },
          predicted: { min: predicted - 3, max: predicted + 3, exact: false, phasesEvaluated: 64 },
          tolerance: { phase: 3, jitter: 1, fraction: 0, slack: 2 },
          counters: { enabled: 0, rate_limited: limited, enforced: 0 },
          neverEngaged: false,
          findings: [],
          perSecond,
        } satisfies RateLimitedDetails,
      },
    ],
    observation: observation(
      ts,
      [],
      [{ labels: { status: '429', flag: 'RL' }, status: 429, body: 'local_rate_limited', headers: { 'x-local-rate-limit': 'true' } }],
    ),
    counters: counters([['productpage-v1', 'http_local_rate_limiter_http_local_rate_limit_rate_limited', {}, limited]]),
    startedAt: '2024-06-01T10:00:13.000Z',
  });
}

function sweepPoint(noise: Noise, percent: number, observedShare: number): ExperimentResult {
  const file = '/work/experiments/bookinfo/ratings-abort-sweep.yaml';
  const ts = series(noise, 10, 50, () => ({ '200': 1 - observedShare, '500': observedShare }));
  const total = ts.reduce((s, p) => s + Object.values(p.byStatus).reduce((a, b) => a + b, 0), 0);
  const failed = ts.reduce((s, p) => s + (p.byStatus['500'] ?? 0), 0);
  const share = failed / total;
  const halfWidth = 2.576 * Math.sqrt((share * (1 - share)) / total);
  const lo = Math.max(0, share - halfWidth);
  const hi = Math.min(1, share + halfWidth);
  const expected = percent / 100;
  // Fabricated rule, good enough for a report fixture: pass when the expected share lies in the interval.
  const pass = lo <= expected && expected <= hi;
  return experiment({
    name: `ratings-abort-sweep[percent=${percent}]`,
    description: 'Abort a share of ratings requests with HTTP 500 and check the share that reaches the client.',
    tags: ['fault-injection', 'sweep'],
    sweep: { baseName: 'ratings-abort-sweep', params: { percent } },
    resources: [
      virtualService('ratings', [
        { fault: { abort: { percentage: { value: percent }, httpStatus: 500 } }, route: [{ destination: { host: 'ratings', subset: 'v1' } }] },
      ]),
    ],
    load: loadSpec({ requests: [{ name: 'ratings', method: 'GET', path: '/ratings/0', headers: {}, weight: 1 }] }),
    expectations: [{ kind: 'status', title: 'status 500', source: pos(file, 28), confidence: 0.99, code: '500', ratio: { approx: expected, tolerance: 0.05 } }],
    verdicts: [
      {
        kind: 'status',
        title: 'status 500',
        outcome: pass ? 'pass' : 'fail',
        observed: share,
        expected: `${percent} ± 5 %`,
        interval: [lo, hi],
        confidence: 0.99,
        sampleSize: total,
        explanation: pass
          ? `${(share * 100).toFixed(1)} % were 500; the 99 % interval contains ${percent} %.`
          : `${(share * 100).toFixed(1)} % were 500; the 99 % interval [${(lo * 100).toFixed(1)} %, ${(hi * 100).toFixed(1)} %] excludes ${percent} %.`,
        evidence: { unit: 'share', expected: { '': band(expected, 0.05) }, population: { source: 'client', of: 'responses' } },
      },
    ],
    observation: observation(
      ts,
      [],
      [{ labels: { status: '500', flag: 'FI' }, status: 500, body: 'fault filter abort', headers: { 'content-type': 'text/plain' } }],
    ),
    counters: counters([['ratings-v1', 'istio_requests_total', { response_code: '500', response_flags: 'FI' }, failed]]),
    startedAt: `2024-06-01T10:00:${String(20 + percent / 10).padStart(2, '0')}.000Z`,
  });
}

function retriesFailExperiment(noise: Noise): ExperimentResult {
  const file = '/work/experiments/bookinfo/ratings-no-retries.yaml';
  const ts = series(noise, 10, 30, (s) => (s >= 4 && s <= 6 ? { '200': 0.55, '503': 0.45 } : { '200': 0.97, '503': 0.03 }));
  const total = ts.reduce((s, p) => s + Object.values(p.byStatus).reduce((a, b) => a + b, 0), 0);
  return experiment({
    name: 'ratings-no-retries',
    description: 'With retries disabled, a 50% abort on ratings must not be retried by reviews.',
    tags: ['retries', 'fault-injection'],
    resources: [virtualService('ratings', [{ retries: { attempts: 0 }, route: [{ destination: { host: 'ratings' } }] }])],
    expectations: [
      { kind: 'retries', title: 'retries to ratings', source: pos(file, 31), confidence: 0.99, service: 'ratings', count: { max: 0 } },
      { kind: 'status', title: 'status 503', source: pos(file, 32), confidence: 0.99, code: '503', ratio: { max: 0.05 } },
    ],
    verdicts: [
      {
        kind: 'retries',
        title: 'retries to ratings',
        outcome: 'fail',
        observed: 12,
        expected: '≤ 0',
        confidence: 1,
        sampleSize: total,
        explanation: 'The reviews-v2 sidecar retried ratings 12 times (envoy_cluster_upstream_rq_retry), the expectation allows none.',
        evidence: { unit: 'count', expected: { '': { max: 0 } }, population: { source: 'mesh', of: 'responses of the load the counters were read around' } },
      },
      {
        kind: 'status',
        title: 'status 503',
        outcome: 'fail',
        observed: 0.114,
        expected: '≤ 5 %',
        interval: [0.082, 0.153],
        confidence: 0.99,
        sampleSize: total,
        explanation: '11.4 % were 503; even the lower 99 % bound 8.2 % is above 5 %.',
        evidence: { unit: 'share', expected: { '': { max: 0.05 } }, population: { source: 'client', of: 'responses' } },
      },
    ],
    observation: observation(
      ts,
      [],
      [
        {
          labels: { status: '503', flag: 'UO' },
          status: 503,
          body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
          headers: { 'x-envoy-overloaded': 'true' },
        },
      ],
      { p50: 15, p90: 60, p99: 310, p999: 420, max: 515, mean: 28, min: 3 },
    ),
    counters: counters([
      ['reviews-v2', 'envoy_cluster_upstream_rq_retry', { cluster_name: 'outbound|9080||ratings.default.svc.cluster.local' }, 12],
      ['reviews-v2', 'istio_requests_total', { response_code: '503', response_flags: 'UO', destination_service_name: 'ratings' }, 34],
    ]),
    startedAt: '2024-06-01T10:01:00.000Z',
  });
}

function inconclusiveExperiment(noise: Noise): ExperimentResult {
  const file = '/work/experiments/bookinfo/reviews-v3-rare.yaml';
  const load = loadSpec({ model: { kind: 'closed', connections: 2 }, durationMs: undefined, totalRequests: 40 });
  const ts = series(noise, 2, 20, () => ({ '200': 0.95, '503': 0.05 }));
  const total = ts.reduce((s, p) => s + Object.values(p.byStatus).reduce((a, b) => a + b, 0), 0);
  const result = experiment({
    name: 'reviews-v3-rare',
    description: 'A 2% failure rate cannot be told from 0% with 40 requests.',
    tags: ['statistics'],
    load,
    resources: [destinationRule],
    expectations: [{ kind: 'status', title: 'status 503', source: pos(file, 20), confidence: 0.99, code: '503', ratio: { approx: 0.02, tolerance: 0.01 } }],
    verdicts: [
      {
        kind: 'status',
        title: 'status 503',
        outcome: 'inconclusive',
        observed: 0.05,
        expected: '2 ± 1 %',
        interval: [0.006, 0.21],
        confidence: 0.99,
        sampleSize: total,
        explanation: `With n = ${total} the 99 % interval [0.6 %, 21 %] is wider than the whole tolerance; run longer to decide.`,
        evidence: { unit: 'share', expected: { '': band(0.02, 0.01) }, population: { source: 'client', of: 'responses' } },
      },
    ],
    observation: observation(ts, [], []),
    startedAt: '2024-06-01T10:01:12.000Z',
  });
  result.warnings = [{ source: pos(file, 12), path: 'spec.load.requests', message: 'only 40 requests: intervals will be wide' }];
  return result;
}

function erroredExperiment(): ExperimentResult {
  const file = '/work/experiments/bookinfo/details-timeout.yaml';
  const result = experiment({
    name: 'details-timeout',
    description: 'Timeout of 0.5s on details.',
    tags: ['timeouts'],
    resources: [virtualService('details', [{ timeout: '0.5s', route: [{ destination: { host: 'details' } }] }])],
    expectations: [{ kind: 'status', title: 'status 504', source: pos(file, 25), confidence: 0.99, code: '504', ratio: { min: 0.9 } }],
    verdicts: [],
    startedAt: '2024-06-01T10:01:20.000Z',
  });
  result.outcome = 'error';
  result.error = { phase: 'converge', message: 'proxies did not converge within 30s: details-v1 (version 6, want 7)', exitCode: 3 };
  result.loadSummary = undefined;
  result.observation = undefined;
  result.convergence = undefined;
  result.phases = phases(0, 'converge');
  result.events = [
    { atMs: -30_000, what: 'applied' },
    { atMs: 300, what: 'restored' },
  ];
  result.durationMs = 31_300;
  return result;
}

function hostileExperiment(noise: Noise): ExperimentResult {
  const file = '/work/experiments/bookinfo/hostile & "quoted".yaml';
  const ts = series(noise, 6, 20, () => ({ '200': 0.6, '418': 0.4 }));
  const total = ts.reduce((s, p) => s + Object.values(p.byStatus).reduce((a, b) => a + b, 0), 0);
  const bad = `v3${hostileImg}`;
  const result = experiment({
    name: `hostile "quotes" & <ampersands>`,
    description: `Bodies such as ${hostileScript} and ${hostileImg} must show as text.`,
    tags: ['security', `<b onmouseover="alert(1)">tag</b>`],
    resources: [
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: `reviews "main" & <friends>`, namespace: 'default', annotations: { note: hostileScript } },
        spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] },
      },
    ],
    load: loadSpec({
      requests: [
        { name: `r&"0"`, method: 'GET', path: `/productpage?q=${encodeURIComponent(hostileScript)}&x="1"`, headers: { 'x-test': hostileImg }, weight: 1 },
      ],
    }),
    expectations: [
      {
        kind: 'distribution',
        title: `distribution of <reviews.version> & "friends"`,
        source: pos(file, 3),
        confidence: 0.99,
        of: 'reviews.version',
        weights: { v1: 60, [bad]: 40 },
        tolerance: 5,
      },
    ],
    verdicts: [
      {
        kind: 'distribution',
        title: `distribution of <reviews.version> & "friends"`,
        outcome: 'fail',
        observed: { v1: 0.5, [bad]: 0.5 },
        expected: `v1 60 %, ${bad} 40 %`,
        interval: { v1: [0.41, 0.59], [bad]: [0.41, 0.59] },
        pValue: 0.004,
        confidence: 0.99,
        sampleSize: total,
        explanation: `Category ${hostileScript} & ${hostileImg} was seen 50 % of the time.`,
        evidence: {
          unit: 'share',
          expected: { v1: band(0.6, 0.05), [bad]: band(0.4, 0.05) },
          population: { source: 'client', of: 'responses that carried reviews.version' },
        },
      },
    ],
    observation: observation(
      ts,
      [{ labels: { status: '418', 'reviews.version': bad }, count: 20, latency: { p50: 5, p90: 9, p99: 12, max: 14, mean: 6 } }],
      [
        {
          labels: { status: '418', 'reviews.version': bad },
          status: 418,
          body: `<html>${hostileScript}${hostileImg}</html>`,
          headers: { 'x-evil': hostileScript, 'set-cookie': `a="b"&c=<d>` },
        },
        { labels: { status: '200' }, status: 200, body: `"]]></system-out>${hostileImg}\u0001\u0008 control chars`, headers: {} },
      ],
    ),
    counters: counters([[`reviews-${hostileImg}`, 'istio_requests_total', { response_code: '418', evil: `"${hostileScript}"` }, 20]]),
    startedAt: '2024-06-01T10:01:55.000Z',
  });
  result.warnings = [{ source: pos(file, 9), path: `spec.apply[0].inline.metadata.name`, message: `name has odd characters: ${hostileImg}` }];
  return result;
}

/** A run with every shape a report must handle. */
export function buildRunResult(seed = 42): RunResult {
  const noise = new Noise(seed);
  const experiments = [
    shiftExperiment(noise),
    rateLimitExperiment(noise),
    ...[10, 20, 30, 40, 50].map((p) => sweepPoint(noise, p, p === 40 ? 0.49 : p / 100)),
    retriesFailExperiment(noise),
    inconclusiveExperiment(noise),
    erroredExperiment(),
    hostileExperiment(noise),
  ];
  return {
    schemaVersion: 2,
    runId: 'r7f3a9c2',
    meshproofVersion: '0.1.0',
    command: ['meshproof', 'run', 'experiments/bookinfo', '--seed', '42', '--report', `reports/"odd" & <dir>`],
    seed,
    target: { kind: 'local', istioVersion: '1.27.1', context: 'local', description: 'embedded Bookinfo mesh on 127.0.0.1' },
    startedAt: '2024-06-01T10:00:00.000Z',
    finishedAt: '2024-06-01T10:02:10.000Z',
    durationMs: 130_000,
    experiments,
    outcome: 'error',
    exitCode: 3,
    interrupted: false,
  };
}

/** A small all-pass run. */
export function buildPassingRun(seed = 7): RunResult {
  const run = buildRunResult(seed);
  run.experiments = run.experiments.filter((e) => e.outcome === 'pass');
  run.outcome = 'pass';
  run.exitCode = 0;
  return run;
}
