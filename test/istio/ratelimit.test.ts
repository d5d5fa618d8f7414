import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { seededRandom } from '../../src/assertions/stats/simulate.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import {
  LOCAL_RATE_LIMIT_BODY,
  LocalRateLimiter,
  TokenBucket,
  isLocalRateLimitFilter,
  localRateLimitSamples,
  localRateLimitSeries,
  parseLocalRateLimit,
  parseLocalRateLimits,
  predictRateLimited,
  predictRateLimitedRange,
  predictRateLimitedUnderDelays,
  predictRateLimitedUnderSpread,
  type LocalRateLimit,
} from '../../src/istio/ratelimit.ts';
import { localRateLimitEnvoyFilter } from '../../src/istio/ratelimit/envoy-filter.ts';
import { must } from '../../src/must.ts';

/** The EnvoyFilter of istio.io tasks/policy-enforcement/rate-limit (local rate limit on productpage, TypedStruct form). */
function taskFilter(value: Record<string, unknown> = {}): K8sObject {
  return localRateLimitEnvoyFilter({
    name: 'filter-local-ratelimit-svc',
    namespace: 'istio-system',
    app: 'productpage',
    maxTokens: 4,
    tokensPerFill: 4,
    fillInterval: '60s',
    extra: { response_headers_to_add: [{ append: false, header: { key: 'x-local-rate-limit', value: 'true' } }], ...value },
  });
}

/** The direct typed_config form, as in Envoy's local rate limit docs, on the gateway before the router. */
function directFilter(): K8sObject {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: 'gateway-limit', namespace: 'istio-system' },
    spec: {
      workloadSelector: { labels: { istio: 'ingressgateway' } },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: {
            context: 'GATEWAY',
            listener: {
              portNumber: 8080,
              filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } },
            },
          },
          patch: {
            operation: 'INSERT_BEFORE',
            value: {
              name: 'envoy.filters.http.local_ratelimit',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
                statPrefix: 'gw_limiter',
                tokenBucket: { maxTokens: 10, tokensPerFill: { value: 5 }, fillInterval: '0.5s' },
                filterEnabled: { defaultValue: { numerator: 5000, denominator: 'TEN_THOUSAND' } },
                filterEnforced: { defaultValue: { numerator: 100 } },
                status: { code: 'ServiceUnavailable' },
              },
            },
          },
        },
      ],
    },
  };
}

/** The parts of the task filter's spec the tests below change (the filter as localRateLimitEnvoyFilter builds it). */
interface TaskFilterSpec {
  targetRefs?: unknown;
  workloadSelector?: unknown;
  configPatches: {
    applyTo: string;
    match: { context: string; proxy?: unknown; listener: { filterChain: { filter: { subFilter?: unknown } } } };
    patch: { operation: string; filterClass?: string; value: { name: string; typed_config: { '@type': string; type_url: string; value: TaskFilterConfig } } };
  }[];
}
interface TaskFilterConfig {
  stat_prefix?: string;
  token_bucket?: { max_tokens?: number; tokens_per_fill?: number; fill_interval?: string };
  filter_enabled?: unknown;
  filter_enforced?: unknown;
  descriptors?: unknown;
  enable_x_ratelimit_headers?: string;
  response_headers_to_add: { header: { key: string; value: string } }[];
}

function specOf(f: K8sObject): TaskFilterSpec {
  return f.spec as TaskFilterSpec;
}

function firstHeaderToAdd(f: K8sObject) {
  return must(patchValue(f).response_headers_to_add[0], 'the first response header to add');
}

function patchValue(f: K8sObject): TaskFilterConfig {
  return must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').patch.value.typed_config.value;
}

function specErrorOf(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

const task = parseLocalRateLimit(taskFilter());

describe('parseLocalRateLimit', () => {
  it('reads the TypedStruct form of the Istio rate-limit task', () => {
    expect(task).toMatchObject({
      name: 'filter-local-ratelimit-svc',
      namespace: 'istio-system',
      selector: { app: 'productpage' },
      context: 'SIDECAR_INBOUND',
      portNumber: undefined,
      position: 'first',
      statPrefix: 'http_local_rate_limiter',
      bucket: { maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 },
      enabledPercent: 100,
      enforcedPercent: 100,
      status: 429,
      responseHeaders: [{ name: 'x-local-rate-limit', value: 'true', append: false }],
      perConnection: false,
      findings: [],
    });
    expect(isLocalRateLimitFilter(taskFilter())).toBe(true);
  });

  it('reads the direct @type form with camelCase fields (protobuf JSON accepts both spellings)', () => {
    const l = parseLocalRateLimit(directFilter());
    expect(l).toMatchObject({
      context: 'GATEWAY',
      portNumber: 8080,
      position: 'beforeRouter',
      statPrefix: 'gw_limiter',
      bucket: { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 500 },
      enabledPercent: 50,
      enforcedPercent: 100,
      status: 503,
    });
    expect(l.findings).toEqual(['filter_enabled is 50 %: only that share of requests is checked against the bucket']);
  });

  it('accepts xds.type.v3.TypedStruct and defaults tokens_per_fill to 1 (envoy type/v3/token_bucket.proto)', () => {
    const f = taskFilter();
    must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').patch.value.typed_config['@type'] = 'type.googleapis.com/xds.type.v3.TypedStruct';
    delete patchValue(f).token_bucket!.tokens_per_fill;
    expect(parseLocalRateLimit(f).bucket.tokensPerFill).toBe(1);
  });

  it('reports filter_enabled/filter_enforced absent as 0 % with findings (local_ratelimit.cc enabled()/enforced())', () => {
    const f = taskFilter();
    delete patchValue(f).filter_enabled;
    delete patchValue(f).filter_enforced;
    const l = parseLocalRateLimit(f);
    expect([l.enabledPercent, l.enforcedPercent]).toEqual([0, 0]);
    expect(l.findings[0]).toMatch(/filter_enabled is not set.*never counts or limits/);
    const g = taskFilter();
    delete patchValue(g).filter_enforced;
    expect(parseLocalRateLimit(g).findings).toEqual([
      'filter_enforced is not set (0 %): requests over the limit are counted in rate_limited but never refused',
    ]);
  });

  it('turns a status below 400 into 429 like Envoy toErrorCode', () => {
    const l = parseLocalRateLimit(taskFilter({ status: { code: 200 } }));
    expect(l.status).toBe(429);
    expect(l.findings).toContain('status 200 is below 400: Envoy answers 429 instead');
  });

  it('reads per-connection buckets and INSERT_FIRST', () => {
    const f = taskFilter({ local_rate_limit_per_downstream_connection: true });
    must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').patch.operation = 'INSERT_FIRST';
    expect(parseLocalRateLimit(f)).toMatchObject({ perConnection: true, position: 'first' });
  });

  const refusals: [string, (f: K8sObject) => void, string, RegExp][] = [
    [
      'another applyTo',
      (f) => (must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').applyTo = 'HTTP_ROUTE'),
      'spec.configPatches[0].applyTo',
      /HTTP_ROUTE.*not emulated/,
    ],
    [
      'MERGE',
      (f) => (must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').patch.operation = 'MERGE'),
      'spec.configPatches[0].patch.operation',
      /MERGE/,
    ],
    [
      'ADD',
      (f) => (must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').patch.operation = 'ADD'),
      'spec.configPatches[0].patch.operation',
      /after the router/,
    ],
    [
      'context ANY',
      (f) => (must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').match.context = 'ANY'),
      'spec.configPatches[0].match.context',
      /"ANY" is not emulated/,
    ],
    [
      'another filter',
      (f) => (must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').patch.value.name = 'envoy.filters.http.lua'),
      'spec.configPatches[0].patch.value.name',
      /envoy\.filters\.http\.lua/,
    ],
    ['unknown proto field', (f) => (patchValue(f).descriptors = []), 'spec.configPatches[0].patch.value.typed_config.value.descriptors', /unsupported field/],
    [
      'enable_x_ratelimit_headers',
      (f) => (patchValue(f).enable_x_ratelimit_headers = 'DRAFT_VERSION_03'),
      'spec.configPatches[0].patch.value.typed_config.value.enable_x_ratelimit_headers',
      /unsupported field/,
    ],
    [
      'fill_interval below 50ms',
      (f) => (patchValue(f).token_bucket!.fill_interval = '0.02s'),
      'spec.configPatches[0].patch.value.typed_config.value.token_bucket.fill_interval',
      />= 50ms/,
    ],
    [
      'fill_interval not a protobuf Duration',
      (f) => (patchValue(f).token_bucket!.fill_interval = '1m'),
      'spec.configPatches[0].patch.value.typed_config.value.token_bucket.fill_interval',
      /protobuf Duration/,
    ],
    [
      'max_tokens 0',
      (f) => (patchValue(f).token_bucket!.max_tokens = 0),
      'spec.configPatches[0].patch.value.typed_config.value.token_bucket.max_tokens',
      /greater than 0/,
    ],
    ['missing stat_prefix', (f) => delete patchValue(f).stat_prefix, 'spec.configPatches[0].patch.value.typed_config.value.stat_prefix', /required/],
    ['missing token_bucket', (f) => delete patchValue(f).token_bucket, 'spec.configPatches[0].patch.value.typed_config.value.token_bucket', /per-route/],
    [
      'wrong type_url',
      (f) =>
        (must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').patch.value.typed_config.type_url =
          'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit'),
      'spec.configPatches[0].patch.value.typed_config.type_url',
      /expected/,
    ],
    [
      'match.proxy',
      (f) => (must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').match.proxy = { proxyVersion: '^1\\.2.*' }),
      'spec.configPatches[0].match.proxy',
      /unsupported field/,
    ],
    [
      'patch.filterClass',
      (f) => (must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').patch.filterClass = 'AUTHZ'),
      'spec.configPatches[0].patch.filterClass',
      /unsupported field/,
    ],
    ['targetRefs', (f) => (specOf(f).targetRefs = [{ kind: 'Gateway', name: 'gw' }]), 'spec.targetRefs', /unsupported field/],
    [
      'selector matchLabels on an EnvoyFilter',
      (f) => (specOf(f).workloadSelector = { matchLabels: { app: 'x' } }),
      'spec.workloadSelector.matchLabels',
      /only labels/,
    ],
    [
      'subFilter other than the router',
      (f) => (must(specOf(f).configPatches[0], 'specOf(f).configPatches[0]').match.listener.filterChain.filter.subFilter = { name: 'envoy.filters.http.rbac' }),
      'spec.configPatches[0].match.listener.filterChain.filter.subFilter.name',
      /not emulated/,
    ],
    // Envoy refuses these (base.proto HeaderValue key/value rules; header_parser.cc isModifiableHeader).
    [
      'a CR/LF header name',
      (f) => (firstHeaderToAdd(f).header.key = 'x-a\r\nx-b'),
      'spec.configPatches[0].patch.value.typed_config.value.response_headers_to_add[0].header.key',
      /cannot contain NUL, CR or LF/,
    ],
    [
      'a pseudo-header name',
      (f) => (firstHeaderToAdd(f).header.key = ':status'),
      'spec.configPatches[0].patch.value.typed_config.value.response_headers_to_add[0].header.key',
      /:-prefixed or host headers may not be modified/,
    ],
    [
      'a host header',
      (f) => (firstHeaderToAdd(f).header.key = 'Host'),
      'spec.configPatches[0].patch.value.typed_config.value.response_headers_to_add[0].header.key',
      /may not be modified/,
    ],
    [
      'a CR/LF header value',
      (f) => (firstHeaderToAdd(f).header.value = 'a\r\nSet-Cookie: x'),
      'spec.configPatches[0].patch.value.typed_config.value.response_headers_to_add[0].header.value',
      /cannot contain NUL, CR or LF/,
    ],
    [
      "a status Envoy's StatusCode enum does not define (defined_only: Envoy would NACK the listener)",
      (f) => ((patchValue(f) as unknown as Record<string, unknown>).status = { code: 451 }),
      'spec.configPatches[0].patch.value.typed_config.value.status.code',
      /not one of Envoy's StatusCode values .*451/,
    ],
    [
      'header formatter',
      (f) => (firstHeaderToAdd(f).header.value = '%DOWNSTREAM_REMOTE_ADDRESS%'),
      'spec.configPatches[0].patch.value.typed_config.value.response_headers_to_add[0].header.value',
      /formatters/,
    ],
  ];
  for (const [what, mutate, path, message] of refusals) {
    it(`refuses ${what} naming the resource and ${path}`, () => {
      const f = taskFilter();
      mutate(f);
      const e = specErrorOf(() => parseLocalRateLimits(f, { file: 'exp.yaml', line: 3, col: 5 }));
      expect(e.path).toBe(`EnvoyFilter istio-system/filter-local-ratelimit-svc: ${path}`);
      expect(e.message).toMatch(message);
      expect(e.format()).toMatch(/^exp\.yaml:3:5: EnvoyFilter istio-system\/filter-local-ratelimit-svc: /);
    });
  }
});

describe('TokenBucket (Envoy local_ratelimit_impl.cc TimerTokenBucket / token_bucket_impl.h AtomicTokenBucketImpl)', () => {
  const spec = { maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 };

  it('starts full in both modes', () => {
    expect(new TokenBucket(spec, 'chunked', 0).available(0)).toBe(4);
    expect(new TokenBucket(spec, 'continuous', 0).available(0)).toBe(4);
  });

  it('chunked: adds tokens_per_fill only when the timer fires, counted from the filter creation', () => {
    const b = new TokenBucket(spec, 'chunked', 1000);
    for (let i = 0; i < 4; i++) expect(b.take(2000)).toBe(true);
    expect(b.take(2000)).toBe(false);
    expect(b.take(60_999)).toBe(false); // timer fires at 61 000
    expect(b.available(61_000)).toBe(4);
    expect(b.msUntilNextToken(61_000)).toBe(0);
  });

  it('chunked: refills are capped at max_tokens', () => {
    const b = new TokenBucket({ maxTokens: 3, tokensPerFill: 2, fillIntervalMs: 100 }, 'chunked', 0);
    b.take(0);
    expect(b.available(100)).toBe(3);
    expect(b.available(1000)).toBe(3);
  });

  it('continuous: one token every fill_interval / tokens_per_fill (4 per 60 s = one per 15 s)', () => {
    const b = new TokenBucket(spec, 'continuous', 0);
    for (let i = 0; i < 4; i++) expect(b.take(0)).toBe(true);
    expect(b.take(14_999)).toBe(false);
    expect(b.take(15_000)).toBe(true);
    expect(b.available(15_000)).toBeCloseTo(0, 9);
    expect(b.msUntilNextToken(20_000)).toBeCloseTo(10_000, 6);
    expect(b.available(10_000_000)).toBe(4);
  });
});

describe('predictRateLimited', () => {
  const fiveRequestsOneSecondApart = [0, 1000, 2000, 3000, 4000];

  for (const mode of ['chunked', 'continuous'] as const) {
    it(`reproduces the Istio task outcome 200 200 200 200 429 (${mode})`, () => {
      const p = predictRateLimited(fiveRequestsOneSecondApart, task, mode);
      expect([p.allowed, p.limited]).toEqual([4, 1]);
      expect(p.counters).toEqual({ enabled: 5, ok: 4, rate_limited: 1, enforced: 1 });
      expect(p.perSecond).toEqual([
        { second: 0, allowed: 1, limited: 0 },
        { second: 1, allowed: 1, limited: 0 },
        { second: 2, allowed: 1, limited: 0 },
        { second: 3, allowed: 1, limited: 0 },
        { second: 4, allowed: 0, limited: 1 },
      ]);
    });
  }

  it('chunked refill after an interval: a whole batch of 4 comes back at once', () => {
    const times = [0, 1, 2, 3, 4, 60_000, 60_001, 60_002, 60_003, 60_004];
    expect(predictRateLimited(times, task, 'chunked').limited).toBe(2);
    // With the timer 30 s into its interval at the first request, the refill comes at 30 s.
    expect(predictRateLimited([0, 1, 2, 3, 4, 30_000, 30_001], task, 'chunked', { phaseMs: 30_000 }).limited).toBe(1);
  });

  it('continuous refill after an interval: tokens come back one by one', () => {
    const times = [0, 1, 2, 3, 4, 15_004, 15_005, 30_004];
    // 4 allowed, 1 limited, one token at 15 004 (allowed), none at 15 005 (limited), one at 30 004.
    const p = predictRateLimited(times, task, 'continuous');
    expect([p.allowed, p.limited]).toEqual([6, 2]);
  });

  it('differs between the modes at a steady 1 request/s for 2 minutes (the Envoy 1.31 change)', () => {
    const times = Array.from({ length: 120 }, (_, i) => i * 1000);
    // chunked: 4 at 0 s and 4 more at the 60 s tick → 8 allowed; continuous: 4 at 0–3 s, then one token per 15 s
    // (15, 30, …, 105 s) → 11 allowed.
    expect(predictRateLimited(times, task, 'chunked').allowed).toBe(8);
    expect(predictRateLimited(times, task, 'continuous').allowed).toBe(11);
  });

  it('filter_enabled 0 %: nothing is counted or limited', () => {
    const f = taskFilter();
    delete patchValue(f).filter_enabled;
    const p = predictRateLimited(fiveRequestsOneSecondApart, parseLocalRateLimit(f), 'continuous');
    expect(p).toMatchObject({ allowed: 5, limited: 0, counters: { enabled: 0, ok: 0, rate_limited: 0, enforced: 0 } });
  });

  it('enabled but not enforced: rate_limited counts, nothing refused', () => {
    const f = taskFilter();
    delete patchValue(f).filter_enforced;
    const p = predictRateLimited(fiveRequestsOneSecondApart, parseLocalRateLimit(f), 'continuous');
    expect(p).toMatchObject({ allowed: 5, limited: 0, counters: { enabled: 5, ok: 4, rate_limited: 1, enforced: 0 } });
  });

  it('fractional enabled/enforced use the seeded generator, and refuse to guess without one', () => {
    const limit: LocalRateLimit = { ...task, enabledPercent: 50, enforcedPercent: 50 };
    expect(() => predictRateLimited(fiveRequestsOneSecondApart, limit, 'chunked')).toThrow(/seeded options.random/);
    // A draw below 0.5 hits 50 %: enabled on every request; the 5th is limited; enforcement draw 0.9 → not enforced.
    const draws = [0.1, 0.1, 0.1, 0.1, 0.1, 0.9];
    let k = 0;
    const p = predictRateLimited(fiveRequestsOneSecondApart, limit, 'chunked', { random: () => must(draws[k++], `draw ${k}`) });
    expect(p.counters).toEqual({ enabled: 5, ok: 4, rate_limited: 1, enforced: 0 });
    // Over many requests the shares approach the percentages.
    let s = 1;
    const lcg = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const burst = new Float64Array(20_000); // all at t=0: after 4 tokens, every enabled request is limited
    const q = predictRateLimited(burst, limit, 'chunked', { random: lcg });
    expect(q.counters.enabled / 20_000).toBeCloseTo(0.5, 1);
    expect(q.counters.enforced / q.counters.rate_limited).toBeCloseTo(0.5, 1);
  });

  it('per-connection buckets start full at each connection’s first request', () => {
    const limit = { ...task, perConnection: true };
    const times = [0, 1, 2, 3, 4, 5, 6];
    const conns = [1, 1, 1, 1, 1, 2, 2];
    expect(predictRateLimited(times, limit, 'chunked', { connections: conns }).limited).toBe(1);
    expect(() => predictRateLimited(times, limit, 'chunked')).toThrow(/connection/);
  });

  it('sorts unsorted times and validates the phase', () => {
    expect(predictRateLimited([4000, 0, 3000, 1000, 2000], task, 'chunked').perSecond[4]).toEqual({ second: 4, allowed: 0, limited: 1 });
    expect(() => predictRateLimited([0], task, 'chunked', { phaseMs: 60_000 })).toThrow(RangeError);
  });
});

describe('predictRateLimitedRange (unknown phase of the chunked timer)', () => {
  it('is a single value in continuous mode', () => {
    const r = predictRateLimitedRange([0, 1000, 2000, 3000, 4000], task, 'continuous');
    expect([r.minLimited, r.maxLimited, r.toleranceRequests]).toEqual([1, 1, 0]);
  });

  it('spans what one fill interval of skew can change, exactly over critical phases', () => {
    // 91 requests, one per second for 90 s: 4 at once, a refill of 4 at 60 s − phase, and a second refill at
    // 120 s − phase only when phase ≥ 30 s: 8 or 12 allowed, 83 or 79 limited.
    const times = Array.from({ length: 91 }, (_, i) => i * 1000);
    const r = predictRateLimitedRange(times, task, 'chunked');
    expect(r.exact).toBe(true);
    // Brute force over a fine grid of phases must agree.
    let min = Infinity;
    let max = -Infinity;
    for (let p = 0; p < 60_000; p += 250) {
      const v = predictRateLimited(times, task, 'chunked', { phaseMs: p }).limited;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([r.minLimited, r.maxLimited]).toEqual([min, max]);
    expect(r.toleranceRequests).toBe(max - min);
    expect([min, max]).toEqual([79, 83]);
    expect(predictRateLimited(times, task, 'chunked', { phaseMs: r.phaseAtMax }).limited).toBe(max);
  });

  it('falls back to a grid when there are too many critical phases', () => {
    const times = Array.from({ length: 500 }, (_, i) => i * 137.3);
    const r = predictRateLimitedRange(times, task, 'chunked', { maxPhases: 64 });
    expect(r).toMatchObject({ exact: false, phasesEvaluated: 64 });
    expect(r.minLimited).toBeLessThanOrEqual(r.maxLimited);
  });
});

describe('predictRateLimitedUnderSpread (the proxy sees each request up to a spread later, AtomicTokenBucketImpl)', () => {
  it('brackets what the proxy decides for every delay within the spread, even when requests overtake one another', () => {
    const fast = { ...task, bucket: { maxTokens: 10, tokensPerFill: 25, fillIntervalMs: 1000 } };
    const rng = seededRandom(5);
    for (let run = 0; run < 300; run++) {
      const sends = Array.from({ length: 200 }, (_, i) => Math.floor(i / 40) * 1000 + rng.uniform() * 5);
      const spreadMs = rng.uniform() * 200;
      const arrivals = sends.map((s) => s + 7 + rng.uniform() * spreadMs);
      const seen = predictRateLimited(arrivals, fast, 'continuous').limited;
      const r = predictRateLimitedUnderSpread(sends, fast, spreadMs);
      expect(seen).toBeGreaterThanOrEqual(r.minLimited);
      expect(seen).toBeLessThanOrEqual(r.maxLimited);
    }
  });

  it('is the plain replay with no spread, and widens by about fill rate × spread', () => {
    const times = Array.from({ length: 50 }, (_, i) => Math.floor(i / 10) * 1000);
    const exact = predictRateLimited(times, task, 'continuous').limited;
    expect(predictRateLimitedUnderSpread(times, task, 0)).toMatchObject({ minLimited: exact, maxLimited: exact, spreadTokens: 0 });
    const fast = { ...task, bucket: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 } };
    const wide = predictRateLimitedUnderSpread(times, fast, 150);
    expect(wide.spreadTokens).toBeCloseTo(1.5);
    expect(wide.maxLimited - wide.minLimited).toBeGreaterThanOrEqual(2);
  });
});

describe('predictRateLimitedUnderDelays (each request reached the proxy within its own delay bound)', () => {
  it('brackets what the proxy decides for every draw of delays within the bounds, and is no wider than one spread for all', () => {
    const rng = seededRandom(6);
    for (const bucket of [
      { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 },
      { maxTokens: 10, tokensPerFill: 25, fillIntervalMs: 1000 },
      { maxTokens: 3, tokensPerFill: 1, fillIntervalMs: 400 },
    ]) {
      const limit = { ...task, bucket };
      for (let run = 0; run < 200; run++) {
        const sends = Array.from({ length: 150 }, (_, i) => Math.floor(i / 25) * 1000 + rng.uniform() * 5).sort((a, b) => a - b);
        // Most requests answered within a few ms; now and then one slow (a connection being opened, a stall).
        const bounds = sends.map(() => (rng.uniform() < 0.05 ? 50 + rng.uniform() * 300 : 1 + rng.uniform() * 10));
        const arrivals = sends.map((t, i) => t + rng.uniform() * must(bounds[i], 'bounds[i]'));
        const seen = predictRateLimited(arrivals, limit, 'continuous').limited;
        const r = predictRateLimitedUnderDelays(sends, bounds, limit);
        expect(seen).toBeGreaterThanOrEqual(r.minLimited);
        expect(seen).toBeLessThanOrEqual(r.maxLimited);
        const spread = predictRateLimitedUnderSpread(sends, limit, Math.max(...bounds));
        expect(r.maxLimited - r.minLimited).toBeLessThanOrEqual(spread.maxLimited - spread.minLimited);
      }
    }
  });

  it('equals the bounds computed the slow, obvious way: every request walked back over for the latest reach (the range-maximum table and the walk over admitted requests only are speed-ups)', () => {
    // The greedy sets of the function's comment, written directly (quadratic, no early exits but the function's own).
    const direct = (s: number[], delay: number[], l: LocalRateLimit) => {
      const B = l.bucket.maxTokens;
      const r = l.bucket.tokensPerFill / l.bucket.fillIntervalMs;
      const reach = s.map((t, i) => t + Math.max(0, must(delay[i], 'delay')));
      const longest = Math.max(0, ...delay);
      const upper: number[] = [];
      for (let i = 0; i < s.length; i++) {
        let ok = true;
        let latest = must(reach[i], 'reach');
        let count = 1;
        for (let j = i - 1; j >= 0 && ok; j--) {
          if (B + r * (must(s[i], 's') - must(s[j], 's')) >= upper.length + 1) break;
          latest = Math.max(latest, must(reach[j], 'reach'));
          if (upper.includes(j) && ++count > B + r * (latest - must(s[j], 's')) + 1e-9) ok = false;
        }
        if (ok && 1 > B + r * (must(reach[i], 'reach') - must(s[i], 's')) + 1e-9) ok = false;
        if (ok) upper.push(i);
      }
      const lower: number[] = [];
      for (let i = 0; i < s.length; i++) {
        let ok = 1 <= B - 1e-9;
        for (let k = lower.length - 1; k >= 0 && ok; k--) {
          const x = must(lower[k], 'x');
          const gap = must(s[i], 's') - must(s[x], 's');
          if (B + r * Math.max(0, gap - longest) >= lower.length + 1) break;
          if (lower.length - k + 1 > B + r * Math.max(0, gap - must(delay[x], 'delay')) - 1e-9) ok = false;
        }
        if (ok) lower.push(i);
      }
      return { minLimited: s.length - upper.length, maxLimited: s.length - lower.length };
    };
    const rng = seededRandom(61);
    for (let run = 0; run < 300; run++) {
      const bucket = {
        maxTokens: 1 + Math.floor(rng.uniform() * 20),
        tokensPerFill: 1 + Math.floor(rng.uniform() * 20),
        fillIntervalMs: [400, 1000, 2000][run % 3]!,
      };
      let t = 0;
      const sends = Array.from(
        { length: Math.floor(rng.uniform() * 200) },
        () => (t += rng.uniform() < 0.3 ? 0 : rng.uniform() < 0.9 ? rng.uniform() * 20 : rng.uniform() * 2000),
      );
      const delays = sends.map(() => (rng.uniform() < 0.05 ? rng.uniform() * 3000 : rng.uniform() < 0.1 ? 0 : rng.uniform() * 50));
      expect(predictRateLimitedUnderDelays(sends, delays, { ...task, bucket })).toEqual(direct(sends, delays, { ...task, bucket }));
    }
  });

  it('with no delay it is the replay itself', () => {
    const times = Array.from({ length: 60 }, (_, i) => Math.floor(i / 10) * 1000 + i);
    const fast = { ...task, bucket: { maxTokens: 5, tokensPerFill: 5, fillIntervalMs: 1000 } };
    const exact = predictRateLimited(times, fast, 'continuous').limited;
    expect(
      predictRateLimitedUnderDelays(
        times,
        times.map(() => 0),
        fast,
      ),
    ).toEqual({ minLimited: exact, maxLimited: exact });
  });
});

describe('LocalRateLimiter decision (local_ratelimit.cc Filter::decodeHeaders)', () => {
  it('answers 429 local_rate_limited with the configured headers and flag RL, no x-envoy-ratelimited', () => {
    const limiter = new LocalRateLimiter(task, 'continuous', 0);
    const never = () => {
      throw new Error('no draw expected at 100 %');
    };
    for (let i = 0; i < 4; i++) expect(limiter.decide(i, never)).toEqual({ action: 'continue', outcome: 'ok' });
    const d = limiter.decide(5, never);
    expect(d).toEqual({
      action: 'reply',
      outcome: 'limited',
      status: 429,
      body: LOCAL_RATE_LIMIT_BODY,
      headers: [{ name: 'x-local-rate-limit', value: 'true', append: false }],
      flag: 'RL',
    });
    expect(JSON.stringify(d)).not.toContain('x-envoy-ratelimited');
    expect(limiter.counters).toEqual({ enabled: 5, ok: 4, rate_limited: 1, enforced: 1 });
  });
});

describe('counter names', () => {
  it('keeps the stat prefix in the Prometheus name on Istio (bootstrap use_all_default_tags: false)', () => {
    expect(localRateLimitSeries('http_local_rate_limiter', 'rate_limited')).toEqual({
      stat: 'http_local_rate_limiter.http_local_rate_limit.rate_limited',
      name: 'envoy_http_local_rate_limiter_http_local_rate_limit_rate_limited',
      labels: {},
    });
    expect(localRateLimitSamples('p', { enabled: 5, ok: 4, rate_limited: 1, enforced: 1 }).map((s) => `${s.name} ${s.value}`)).toEqual([
      'envoy_p_http_local_rate_limit_enabled 5',
      'envoy_p_http_local_rate_limit_ok 4',
      'envoy_p_http_local_rate_limit_rate_limited 1',
      'envoy_p_http_local_rate_limit_enforced 1',
    ]);
  });
});
