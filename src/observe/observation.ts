// The streaming observation: every response is classified once, then only aggregates and a few bytes per request stay.
import * as hdr from 'hdr-histogram-js';
import { SpecError } from '../errors.ts';
import { bodyExcerpt } from './excerpt.ts';
import type { Classifier, Labels, LatencyView, ObservationSnapshot, ObservationView, ResponseRecord, TimeSeriesPoint } from './types.ts';
import { elementAt, must } from '../must.ts';

export interface ObservationOptions {
  /** Classifiers of the response; skipped for a response a driver labelled already (it classified where the body was). */
  classifiers: Classifier[];
  /**
   * Classifiers of what the client sent (e.g. the request's name), never of the response body: applied to every
   * response, also to one a driver labelled, so every driver gives the same labels. Response classifiers win on a
   * shared key.
   */
  requestClassifiers?: Classifier[];
  /**
   * Requests sent before this many ms since the load started are classified but not recorded: only their send times
   * are kept (warmupSendTimes), for replays whose state the warm-up changed (a rate limiter's bucket).
   */
  warmupMs?: number;
  /** Example bodies kept per label combination (default 2). */
  sampleBodies?: number;
}

/** Histograms count microseconds: sub-millisecond loopback latencies stay distinguishable. */
const MICROS_PER_MS = 1000;
const SAMPLE_BODY_CHARS = 2000;
/** Every label combination owns a histogram (~94 kB): 1024 of them stay under 100 MB. More means a classifier invents a label per request. */
export const MAX_LABEL_COMBINATIONS = 1024;

interface Group {
  id: number;
  labels: Labels;
  key: string;
  count: number;
  histogram: hdr.Histogram;
}

/**
 * Short answers repeat (Envoy's local replies, small JSON, a test server's "ok"): the group of a response is
 * remembered by what the classifiers read -- request index, status, error and body -- as long as classifying it read
 * nothing else (TrackedRecord tells), and reused for the next identical answer without classifying again. Bounded: a
 * few hundred entries of at most 1 kB of body.
 */
const REMEMBER_MAX_BODY_CHARS = 1024;
const REMEMBER_MAX_ENTRIES = 256;

/** A response as classifiers see it, noting whether they read more than the remembering key holds. */
class TrackedRecord implements ResponseRecord {
  readBeyondKey = false;
  constructor(private readonly response: ResponseRecord) {}
  get requestIndex(): number {
    return this.response.requestIndex;
  }
  get status(): number {
    return this.response.status;
  }
  get error(): string | undefined {
    return this.response.error;
  }
  get body(): string {
    return this.response.body;
  }
  get sentAtMs(): number {
    this.readBeyondKey = true;
    return this.response.sentAtMs;
  }
  get latencyMs(): number {
    this.readBeyondKey = true;
    return this.response.latencyMs;
  }
  get headers(): Record<string, string> {
    this.readBeyondKey = true;
    return this.response.headers;
  }
  get labels(): Labels | undefined {
    return this.response.labels;
  }
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

/** Canonical key of a label set, independent of key order. */
export function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  let key = '';
  for (const k of keys) key += `${k}\u0001${labels[k]}\u0002`;
  return key;
}

function matches(labels: Labels, where: Labels | undefined): boolean {
  if (!where) return true;
  for (const k in where) if (labels[k] !== where[k]) return false;
  return true;
}

/** Growable typed arrays: 14 bytes per recorded request (send time, latency, label combination id). */
class RequestLog {
  private times = new Float64Array(1024);
  private latencies = new Float32Array(1024);
  private groups = new Uint16Array(1024);
  length = 0;

  push(sentAtMs: number, latencyMs: number, groupId: number): void {
    if (this.length === this.times.length) {
      const capacity = this.times.length * 2;
      const times = new Float64Array(capacity);
      times.set(this.times);
      const latencies = new Float32Array(capacity);
      latencies.set(this.latencies);
      const groups = new Uint16Array(capacity);
      groups.set(this.groups);
      this.times = times;
      this.latencies = latencies;
      this.groups = groups;
    }
    this.times[this.length] = sentAtMs;
    this.latencies[this.length] = latencyMs;
    this.groups[this.length] = groupId;
    this.length++;
  }

  /** Send times and latencies of entries whose group is selected, in send order. */
  selectWithLatencies(selected: Uint8Array): { sendTimes: Float64Array; latencies: Float64Array } {
    const index: number[] = [];
    for (let i = 0; i < this.length; i++) if (selected[elementAt(this.groups, i)]) index.push(i);
    index.sort((a, b) => elementAt(this.times, a) - elementAt(this.times, b) || a - b);
    return {
      sendTimes: Float64Array.from(index, (i) => elementAt(this.times, i)),
      latencies: Float64Array.from(index, (i) => elementAt(this.latencies, i)),
    };
  }

  /** Send times of entries whose group is selected, sorted by send time. */
  select(selected: Uint8Array): Float64Array {
    let n = 0;
    for (let i = 0; i < this.length; i++) if (selected[elementAt(this.groups, i)]) n++;
    const out = new Float64Array(n);
    let j = 0;
    let sorted = true;
    let previous = -Infinity;
    for (let i = 0; i < this.length; i++) {
      if (!selected[elementAt(this.groups, i)]) continue;
      const t = elementAt(this.times, i);
      out[j] = t;
      if (t < previous) sorted = false;
      previous = t;
      j++;
    }
    // Responses are recorded in completion order; send order differs when latencies differ.
    if (!sorted) out.sort();
    return out;
  }
}

class MergedLatency implements LatencyView {
  constructor(private readonly histogram: hdr.Histogram | undefined) {}

  get count(): number {
    return this.histogram?.totalCount ?? 0;
  }
  percentile(p: number): number {
    if (!this.histogram || this.histogram.totalCount === 0) return Number.NaN;
    return percentileOf(this.histogram, p) / MICROS_PER_MS;
  }
  get max(): number {
    return this.histogram && this.histogram.totalCount > 0 ? this.histogram.maxValue / MICROS_PER_MS : Number.NaN;
  }
  get min(): number {
    return this.histogram && this.histogram.totalCount > 0 ? this.histogram.minNonZeroValue / MICROS_PER_MS : Number.NaN;
  }
  get mean(): number {
    return this.histogram && this.histogram.totalCount > 0 ? this.histogram.mean / MICROS_PER_MS : Number.NaN;
  }
  countAtLeast(ms: number): number {
    const h = this.histogram;
    if (!h || h.totalCount === 0) return 0;
    return h.totalCount - countBelow(h, Math.round(ms * MICROS_PER_MS));
  }
}

/**
 * The value at percentile `p`, µs. HDR answers with the highest value equivalent to the bucket's (up to 0.1 % above
 * what was recorded), so near the top a percentile could exceed the exact maximum it also tracks (p99.9 > max in
 * reports); no percentile is above the largest value recorded nor below the smallest.
 */
function percentileOf(h: hdr.Histogram, p: number): number {
  return Math.min(Math.max(h.getValueAtPercentile(p), h.minNonZeroValue), h.maxValue);
}

/** The JS implementation's bucket accessors (hdr.build without WebAssembly returns a JsHistogram). */
interface BucketAccess {
  countsArrayIndex(value: number): number;
  getCountAtIndex(index: number): number;
}

/** Recorded values below `threshold` µs; the bucket holding the threshold counts as at-or-above (0.1 % precision). */
function countBelow(h: hdr.Histogram, threshold: number): number {
  if (threshold <= 0) return 0;
  if (threshold > h.maxValue) return h.totalCount;
  const buckets = h as unknown as BucketAccess;
  const top = buckets.countsArrayIndex(threshold);
  let total = 0;
  for (let i = 0; i < top; i++) total += buckets.getCountAtIndex(i);
  return total;
}

export class Observation implements ObservationView {
  sent = 0;
  answered = 0;
  errored = 0;

  private readonly classifiers: Classifier[];
  private readonly requestClassifiers: Classifier[];
  private readonly warmupMs: number;
  private readonly sampleBodies: number;
  private readonly groupsByKey = new Map<string, Group>();
  private readonly groups: Group[] = [];
  private readonly log = new RequestLog();
  private readonly warmupLog = new RequestLog();
  /** Index = second since load start (by send time); value = counts by status label. */
  private readonly perSecond: Map<string, number>[] = [];
  private readonly samples = new Map<number, ObservationSnapshot['samples']>();
  private readonly remembered = new Map<string, Group>();

  constructor(options: ObservationOptions) {
    this.classifiers = options.classifiers;
    this.requestClassifiers = options.requestClassifiers ?? [];
    this.warmupMs = options.warmupMs ?? 0;
    this.sampleBodies = options.sampleBodies ?? 2;
  }

  get total(): number {
    return this.log.length;
  }

  /** Classifies the response and, unless it was sent during warm-up, records it. Returns its labels (do not modify). */
  record(response: ResponseRecord): Labels {
    const group = this.groupFor(response);
    const labels = group.labels;
    if (response.sentAtMs < this.warmupMs) {
      this.warmupLog.push(response.sentAtMs, response.latencyMs, group.id);
      return labels;
    }

    this.sent++;
    if (response.status > 0) this.answered++;
    else this.errored++;

    group.count++;
    group.histogram.recordValue(Math.max(1, Math.round(response.latencyMs * MICROS_PER_MS)));
    this.log.push(response.sentAtMs, response.latencyMs, group.id);
    this.countSecond(response, labels);
    this.keepSample(group, response);
    return labels;
  }

  count(where?: Labels): number {
    let n = 0;
    for (const g of this.groups) if (matches(g.labels, where)) n += g.count;
    return n;
  }

  countBy(label: string, where?: Labels): Map<string, number> {
    const counts = new Map<string, number>();
    for (const g of this.groups) {
      const value = g.labels[label];
      // A combination seen only during warm-up has no recorded response.
      if (value === undefined || g.count === 0 || !matches(g.labels, where)) continue;
      counts.set(value, (counts.get(value) ?? 0) + g.count);
    }
    return counts;
  }

  latency(where?: Labels): LatencyView {
    let merged: hdr.Histogram | undefined;
    for (const g of this.groups) {
      if (!matches(g.labels, where) || g.count === 0) continue;
      merged ??= newHistogram();
      merged.add(g.histogram);
    }
    return new MergedLatency(merged);
  }

  sendTimes(where?: Labels): Float64Array {
    return this.log.select(this.selectGroups(where));
  }

  warmupSendTimes(where?: Labels): Float64Array {
    return this.warmupLog.select(this.selectGroups(where));
  }

  sendTimesWithLatencies(where?: Labels): { sendTimes: Float64Array; latencies: Float64Array } {
    return this.log.selectWithLatencies(this.selectGroups(where));
  }

  warmupSendTimesWithLatencies(where?: Labels): { sendTimes: Float64Array; latencies: Float64Array } {
    return this.warmupLog.selectWithLatencies(this.selectGroups(where));
  }

  private selectGroups(where: Labels | undefined): Uint8Array {
    const selected = new Uint8Array(this.groups.length);
    for (const g of this.groups) if (matches(g.labels, where)) selected[g.id] = 1;
    return selected;
  }

  timeSeries(): TimeSeriesPoint[] {
    const points: TimeSeriesPoint[] = [];
    this.perSecond.forEach((byStatus, second) => {
      points.push({ second, byStatus: Object.fromEntries(byStatus) });
    });
    return points;
  }

  snapshot(): ObservationSnapshot {
    const all = this.latency();
    return {
      total: this.total,
      sent: this.sent,
      answered: this.answered,
      errored: this.errored,
      groups: this.groups
        .filter((g) => g.count > 0)
        .map((g) => ({
          labels: { ...g.labels },
          count: g.count,
          latency: {
            p50: percentileOf(g.histogram, 50) / MICROS_PER_MS,
            p90: percentileOf(g.histogram, 90) / MICROS_PER_MS,
            p99: percentileOf(g.histogram, 99) / MICROS_PER_MS,
            max: g.histogram.maxValue / MICROS_PER_MS,
            mean: g.histogram.mean / MICROS_PER_MS,
          },
        })),
      latency: {
        p50: finite(all.percentile(50)),
        p90: finite(all.percentile(90)),
        p99: finite(all.percentile(99)),
        p999: finite(all.percentile(99.9)),
        max: finite(all.max),
        mean: finite(all.mean),
        min: finite(all.min),
      },
      timeSeries: this.timeSeries(),
      samples: [...this.samples.values()].flat(),
    };
  }

  private groupFor(response: ResponseRecord): Group {
    if (response.labels) return this.groupOf(this.classify(response));
    const body = response.body;
    if (body.length > REMEMBER_MAX_BODY_CHARS) return this.groupOf(this.classify(response));
    const error = response.error ?? '';
    const key = `${response.requestIndex} ${response.status} ${error.length} ${error}${body}`;
    const known = this.remembered.get(key);
    if (known) return known;
    const tracked = new TrackedRecord(response);
    const group = this.groupOf(this.classify(tracked));
    if (!tracked.readBeyondKey && this.remembered.size < REMEMBER_MAX_ENTRIES) this.remembered.set(key, group);
    return group;
  }

  private classify(response: ResponseRecord): Labels {
    const labels: Labels = {};
    for (const classify of this.requestClassifiers) Object.assign(labels, classify(response));
    if (response.labels) return Object.assign(labels, response.labels);
    for (const classify of this.classifiers) Object.assign(labels, classify(response));
    return labels;
  }

  private groupOf(labels: Labels): Group {
    const key = labelKey(labels);
    let group = this.groupsByKey.get(key);
    if (!group) {
      if (this.groups.length >= MAX_LABEL_COMBINATIONS) throw this.tooManyCombinations(labels);
      group = { id: this.groups.length, labels: { ...labels }, key, count: 0, histogram: newHistogram() };
      this.groupsByKey.set(key, group);
      this.groups.push(group);
    }
    return group;
  }

  /** Names the label with the most distinct values: the one that takes a new value per request. */
  private tooManyCombinations(latest: Labels): SpecError {
    const values = new Map<string, Set<string>>();
    for (const g of [...this.groups, { labels: latest }]) {
      for (const [k, v] of Object.entries(g.labels)) {
        let set = values.get(k);
        if (!set) values.set(k, (set = new Set()));
        set.add(v);
      }
    }
    const [label, distinct] = [...values].map(([k, set]) => [k, set.size] as const).sort((a, b) => b[1] - a[1])[0] ?? ['?', 0];
    return new SpecError(
      `the responses carry more than ${MAX_LABEL_COMBINATIONS} distinct label combinations (the observation's limit; ` +
        `each keeps its own latency histogram): label "${label}" alone took ${distinct} distinct values, e.g. ` +
        `${JSON.stringify(latest[label])}. A label must take a few values, not one per request: leave out the classifier ` +
        'that sets it (spec.load.classifiers)',
      undefined,
      'spec.load.classifiers',
    );
  }

  private countSecond(response: ResponseRecord, labels: Labels): void {
    const second = Math.floor(response.sentAtMs / 1000);
    for (let s = this.perSecond.length; s <= second; s++) this.perSecond[s] = new Map();
    const status = labels.status ?? (response.status > 0 ? String(response.status) : 'error');
    const bucket = must(this.perSecond[second], "this second's counts");
    bucket.set(status, (bucket.get(status) ?? 0) + 1);
  }

  private keepSample(group: Group, response: ResponseRecord): void {
    if (this.sampleBodies <= 0) return;
    let kept = this.samples.get(group.id);
    if (!kept) this.samples.set(group.id, (kept = []));
    if (kept.length >= this.sampleBodies) return;
    // A page's telling part (Bookinfo's reviews block with its stars), not its head and scripts, before truncating.
    const excerpt = bodyExcerpt(response.body);
    const body = excerpt?.text ?? response.body;
    kept.push({
      labels: { ...group.labels },
      status: response.status,
      body: body.length > SAMPLE_BODY_CHARS ? `${body.slice(0, SAMPLE_BODY_CHARS)}…` : body,
      headers: { ...response.headers },
      ...(excerpt ? { bodyNote: excerpt.what } : {}),
    });
  }
}

function finite(n: number): number {
  return Number.isFinite(n) ? n : 0;
}
