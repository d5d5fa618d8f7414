// A small ObservationView for assertion tests, built from label sets (with counts, latencies and send times).
import type { Labels, LatencyView, ObservationView } from '../../src/observe/types.ts';
import { must } from '../../src/must.ts';

export interface FakeGroup {
  labels: Labels;
  count: number;
  /** Latency of each request of the group (length = count), ms ... */
  latencies?: number[];
  /** ... or one latency for every request of the group; default 1 ms. */
  latencyMs?: number;
  /** Send time of each request (length = count), ms since load start; default: none recorded. */
  sendTimes?: number[];
}

export class FakeObservation implements ObservationView {
  constructor(private readonly groups: FakeGroup[]) {}

  /** Counts per label set: `fromCounts([[{ 'reviews.version': 'v1' }, 1600], ...])`. */
  static fromCounts(rows: [Labels, number][]): FakeObservation {
    return new FakeObservation(rows.map(([labels, count]) => ({ labels, count })));
  }

  /** One request per entry. */
  static fromRequests(requests: { labels: Labels; latencyMs?: number; sentAtMs?: number }[]): FakeObservation {
    return new FakeObservation(
      requests.map((r) => ({ labels: r.labels, count: 1, latencies: [r.latencyMs ?? 1], sendTimes: r.sentAtMs === undefined ? [] : [r.sentAtMs] })),
    );
  }

  get total(): number {
    return this.groups.reduce((s, g) => s + g.count, 0);
  }

  count(where?: Labels): number {
    return this.matching(where).reduce((s, g) => s + g.count, 0);
  }

  countBy(label: string, where?: Labels): Map<string, number> {
    const out = new Map<string, number>();
    for (const g of this.matching(where)) {
      const value = g.labels[label];
      if (value !== undefined && g.count > 0) out.set(value, (out.get(value) ?? 0) + g.count);
    }
    return out;
  }

  latency(where?: Labels): LatencyView {
    const values: [number, number][] = [];
    for (const g of this.matching(where)) {
      if (g.latencies) for (const v of g.latencies) values.push([v, 1]);
      else if (g.count > 0) values.push([g.latencyMs ?? 1, g.count]);
    }
    return new SortedLatencies(values);
  }

  sendTimes(where?: Labels): Float64Array {
    const times: number[] = [];
    for (const g of this.matching(where)) if (g.sendTimes) times.push(...g.sendTimes);
    return Float64Array.from(times.sort((a, b) => a - b));
  }

  sendTimesWithLatencies(where?: Labels): { sendTimes: Float64Array; latencies: Float64Array } {
    const pairs: [number, number][] = [];
    for (const g of this.matching(where)) {
      if (!g.sendTimes) continue;
      g.sendTimes.forEach((t, i) => pairs.push([t, g.latencies?.[i] ?? g.latencyMs ?? 1]));
    }
    pairs.sort((a, b) => a[0] - b[0]);
    return { sendTimes: Float64Array.from(pairs, (p) => p[0]), latencies: Float64Array.from(pairs, (p) => p[1]) };
  }

  private matching(where?: Labels): FakeGroup[] {
    if (!where) return this.groups;
    return this.groups.filter((g) => Object.entries(where).every(([k, v]) => g.labels[k] === v));
  }
}

/** Exact latency statistics over (value, how many) pairs (nearest-rank percentiles). */
export class SortedLatencies implements LatencyView {
  private readonly values: [number, number][];
  readonly count: number;
  constructor(values: [number, number][]) {
    this.values = [...values].sort((a, b) => a[0] - b[0]);
    this.count = this.values.reduce((s, [, c]) => s + c, 0);
  }
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const [v, c] of this.values) {
      seen += c;
      if (seen >= rank) return v;
    }
    return this.max;
  }
  get max(): number {
    return this.count ? must(this.values[this.values.length - 1], 'this.values[this.values.length - 1]')[0] : Number.NaN;
  }
  get min(): number {
    return this.count ? must(this.values[0], 'this.values[0]')[0] : Number.NaN;
  }
  get mean(): number {
    return this.count ? this.values.reduce((s, [v, c]) => s + v * c, 0) / this.count : Number.NaN;
  }
  countAtLeast(ms: number): number {
    let n = 0;
    for (const [v, c] of this.values) if (v >= ms) n += c;
    return n;
  }
}
