// From a schema-valid plain object to the typed Experiment: defaults, units, cross-field rules.
import { SpecError } from '../errors.ts';
import { parseDuration } from './units.ts';
import { CLASSIFIER_LABELS } from './semantics.ts';
import { parameterisedLabel } from '../observe/classifiers.ts';
import { suggest } from './suggest.ts';
import { kindHandler } from '../assertions/kinds.ts';
import { DEFAULT_TOLERANCE_POINTS, type RawCommon, type RawDuration, type RawCountBound, type RawShareBound } from './expectation-input.ts';
export { DEFAULT_TOLERANCE_POINTS };
import type { Bound, Expectation, LoadSpec, RequestSpec, SourcePos } from './types.ts';
import { formatPath, positionOf, type PathSegment, type YamlDoc } from './yaml-source.ts';

export const DEFAULT_CLASSIFIERS = ['status', 'envoy', 'bookinfo'];
/** The default for a scenario folder of the user's own services (echo workloads on the local target). */
export const DEFAULT_ECHO_CLASSIFIERS = ['status', 'envoy', 'echo'];
export const DEFAULT_CONFIDENCE = 0.99;
/**
 * Responses between sequential looks. A look costs about 35 µs per share; fewer responses between looks stop the load
 * closer to the first conclusive moment (bench/verdict-speed.ts with the bench's seeds: 80/20 at 99 % ± 5 points,
 * truth 80/20, 951 requests looking every 10, 963 every 20, about 1,000 every 100; docs/statistics.md).
 */
export const DEFAULT_CHECK_EVERY = 10;

export class Normaliser {
  constructor(readonly source: YamlDoc) {}

  at(path: PathSegment[], key = false): SourcePos {
    return positionOf(this.source, path, { key });
  }

  error(path: PathSegment[], message: string, key = false): SpecError {
    return new SpecError(message, this.at(path, key), formatPath(path));
  }

  share(value: unknown, path: PathSegment[]): number {
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && value.endsWith('%')) {
      const n = Number(value.slice(0, -1));
      if (n > 100) throw this.error(path, `a percentage cannot exceed 100%, found "${value}"`);
      return n / 100;
    }
    throw this.error(path, `expected a share (0..1 or "25%"), found ${JSON.stringify(value)}`);
  }

  /**
   * A duration with its unit. A bare number other than 0 is refused: load durations once read it as seconds and latency
   * bounds as milliseconds, so `10` meant 10 s in one place and 10 ms in the other. `likely` orders the suggested fix.
   */
  duration(value: unknown, path: PathSegment[], likely: 's' | 'ms' = 's'): number {
    if (value === 0) return 0;
    if (typeof value === 'number') {
      const [first, second] = likely === 's' ? ['s', 'ms'] : ['ms', 's'];
      throw this.error(path, `a bare number is ambiguous as a duration: write "${value}${first}" (or "${value}${second}"), with the unit`);
    }
    const ms = parseDuration(value);
    if (ms === undefined) throw this.error(path, `expected a duration such as 500ms, 30s or 2m, found ${JSON.stringify(value)}`);
    return ms;
  }

  shareBound(raw: RawShareBound, path: PathSegment[]): Bound & { derived?: { failing: number; retries: number } } {
    const bound: Bound & { derived?: { failing: number; retries: number } } = {};
    if (raw.min !== undefined) bound.min = this.share(raw.min, [...path, 'min']);
    if (raw.max !== undefined) bound.max = this.share(raw.max, [...path, 'max']);
    if (raw.approx !== undefined) bound.approx = this.share(raw.approx, [...path, 'approx']);
    if (raw.tolerance !== undefined) bound.tolerance = this.share(raw.tolerance, [...path, 'tolerance']);
    if (raw.derived !== undefined) {
      if (raw.approx !== undefined) throw this.error([...path, 'derived'], 'give either approx or derived, not both', true);
      bound.derived = { failing: this.share(raw.derived.failing, [...path, 'derived', 'failing']), retries: raw.derived.retries };
    }
    if ((bound.approx !== undefined || bound.derived) && bound.tolerance === undefined) bound.tolerance = DEFAULT_TOLERANCE_POINTS / 100;
    if (bound.tolerance !== undefined && bound.approx === undefined && !bound.derived) {
      throw this.error([...path, 'tolerance'], 'tolerance needs approx (or derived) to be a tolerance around', true);
    }
    this.checkMinMax(bound, path);
    return bound;
  }

  countBound(raw: RawCountBound, path: PathSegment[]): Bound {
    const bound: Bound = { ...raw };
    if (bound.tolerance !== undefined && bound.approx === undefined) {
      throw this.error([...path, 'tolerance'], 'tolerance needs approx to be a tolerance around', true);
    }
    this.checkMinMax(bound, path);
    return bound;
  }

  private checkMinMax(bound: Bound, path: PathSegment[]): void {
    if (bound.min !== undefined && bound.max !== undefined && bound.min > bound.max) {
      throw this.error([...path, 'min'], `min (${bound.min}) is greater than max (${bound.max}); nothing could pass`);
    }
  }
}

/** The schema's $defs/request. */
export interface RawRequest {
  name?: string;
  method?: string;
  path: string;
  headers?: Record<string, string | number>;
  body?: string;
  user?: string;
  weight?: number;
  service?: string;
  port?: number;
}

/** The schema's $defs/load: `requests` is a list of requests or a request count. */
export interface RawLoad {
  driver?: LoadSpec['driver'];
  request?: RawRequest;
  requests?: RawRequest[] | number;
  total?: number;
  rate?: number;
  connections?: number;
  duration?: RawDuration;
  warmup?: RawDuration;
  timeout?: RawDuration;
  classifiers?: string[];
  until?: 'verdict';
  budget?: number;
  checkEvery?: number;
}

/** One item of spec.expect: `{ <kind>: {...} }`, the kind's object as its schema fragment admits it. */
export type RawExpectationItem = Record<string, RawCommon>;

export function normaliseRequests(n: Normaliser, load: RawLoad): RequestSpec[] {
  const base: PathSegment[] = ['spec', 'load'];
  const list = Array.isArray(load.requests) ? load.requests : undefined;
  if (load.request && list) throw n.error([...base, 'requests'], 'give either request or a list of requests, not both', true);
  const raw: { value: RawRequest; path: PathSegment[] }[] = list
    ? list.map((value, i) => ({ value, path: [...base, 'requests', i] }))
    : load.request
      ? [{ value: load.request, path: [...base, 'request'] }]
      : [];
  if (raw.length === 0) throw n.error(base, 'load needs a request (e.g. request: { path: /productpage }) or a list of requests');
  const names = new Set<string>();
  return raw.map(({ value, path }, i) => {
    const name = value.name ?? `r${i}`;
    if (names.has(name)) throw n.error([...path, 'name'], `request name "${name}" is used twice; names label responses and must be unique`);
    names.add(name);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(value.headers ?? {})) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) throw n.error([...path, 'headers', k], `"${k}" is not a valid HTTP header name`, true);
      // What an HTTP client may send (RFC 9110 field-value; Node refuses the rest): no control character but tab.
      if (/[^\t\x20-\x7e\x80-\xff]/.test(String(v)))
        throw n.error(
          [...path, 'headers', k],
          `the value of header "${k}" has a control character or a character beyond Latin-1, which cannot be sent: ${JSON.stringify(String(v))}`,
        );
      headers[k.toLowerCase()] = String(v);
    }
    return {
      name,
      method: value.method ?? 'GET',
      path: value.path,
      headers,
      ...(value.body !== undefined ? { body: value.body } : {}),
      ...(value.user !== undefined ? { user: value.user } : {}),
      weight: value.weight ?? 1,
      ...(value.service !== undefined ? { service: value.service } : {}),
      ...(value.port !== undefined ? { port: value.port } : {}),
    };
  });
}

export function normaliseLoad(n: Normaliser, load: RawLoad): LoadSpec {
  const base: PathSegment[] = ['spec', 'load'];
  const requests = normaliseRequests(n, load);
  if (load.rate !== undefined && load.connections !== undefined) {
    throw n.error([...base, 'connections'], 'give either rate (open model: requests per second) or connections (closed model), not both', true);
  }
  const model: LoadSpec['model'] | undefined =
    load.rate !== undefined
      ? { kind: 'open', rate: load.rate }
      : load.connections !== undefined
        ? { kind: 'closed', connections: load.connections }
        : undefined;
  if (!model) throw n.error(base, 'load needs rate (open model, requests per second) or connections (closed model)');
  const durationMs = load.duration !== undefined ? n.duration(load.duration, [...base, 'duration']) : undefined;
  if (typeof load.requests === 'number' && load.total !== undefined) {
    throw n.error([...base, 'total'], 'give the request count once: either requests: N or total: N', true);
  }
  const totalRequests: number | undefined = typeof load.requests === 'number' ? load.requests : load.total;
  const sequential = load.until === 'verdict';
  if (!sequential && (load.budget !== undefined || load.checkEvery !== undefined)) {
    throw n.error([...base, load.budget !== undefined ? 'budget' : 'checkEvery'], 'budget and checkEvery belong to sequential mode (until: verdict)', true);
  }
  const budget = load.budget;
  if (sequential && budget === undefined) throw n.error([...base, 'until'], 'sequential mode (until: verdict) needs a request budget (budget: N)');
  if (!sequential && durationMs === undefined && totalRequests === undefined) {
    throw n.error(base, 'load needs a stop: duration (e.g. 20s), total (a request count), or until: verdict with a budget');
  }
  if (durationMs === 0) throw n.error([...base, 'duration'], 'duration must be more than 0');
  const warmupMs = load.warmup !== undefined ? n.duration(load.warmup, [...base, 'warmup']) : 0;
  if (durationMs !== undefined && warmupMs >= durationMs) {
    throw n.error([...base, 'warmup'], `warm-up (${warmupMs} ms) must be shorter than the duration (${durationMs} ms)`);
  }
  (load.classifiers ?? []).forEach((name, i) => {
    if (!(name in CLASSIFIER_LABELS) && parameterisedLabel(name) === undefined) {
      const hint = suggest(name, Object.keys(CLASSIFIER_LABELS));
      throw n.error(
        [...base, 'classifiers', i],
        `unknown classifier "${name}"${hint ? `; did you mean "${hint}"?` : ''} (known: ${Object.keys(CLASSIFIER_LABELS).join(', ')}, header:<name>[=<label>], json:<path>[=<label>])`,
      );
    }
  });
  const timeoutMs = load.timeout !== undefined ? n.duration(load.timeout, [...base, 'timeout']) : 30_000;
  if (timeoutMs <= 0) throw n.error([...base, 'timeout'], 'timeout must be more than 0');
  return {
    driver: load.driver ?? 'autocannon',
    requests,
    model,
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(totalRequests !== undefined ? { totalRequests } : {}),
    warmupMs,
    timeoutMs,
    classifiers: load.classifiers ?? DEFAULT_CLASSIFIERS,
    ...(sequential && budget !== undefined ? { sequential: { budget, checkEvery: load.checkEvery ?? DEFAULT_CHECK_EVERY } } : {}),
  };
}

export function normaliseExpectation(n: Normaliser, item: RawExpectationItem, index: number): Expectation {
  // The schema allows exactly one key per item: the kind.
  const [kind = '', raw] = Object.entries(item)[0] ?? [];
  const path: PathSegment[] = ['spec', 'expect', index, kind];
  const handler = kindHandler(kind);
  if (!handler || raw === undefined) throw n.error(path, `unknown expectation kind "${kind}"`, true);
  const common = { source: n.at(['spec', 'expect', index]), confidence: raw.confidence ?? DEFAULT_CONFIDENCE };
  return handler.parse({ n, raw, path, common }) as Expectation;
}
