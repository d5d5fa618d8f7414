// A small ObservationView for assertion tests, built from label sets (with counts, latencies and send times).
import type { Labels, LatencyView, ObservationView } from '../../src/observe/types.ts';

export interface FakeGroup {
  labels: Labels;
  count: number;
  /** Latency of each request of the group (length = count), ms; default 1 ms each. */
  latencies?: number[];
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
    const values: number[] = [];
    for (const g of this.matching(where)) {
      if (g.latencies) values.push(...g.latencies);
      else for (let i = 0; i < g.count; i++) values.push(1);
    }
    return new SortedLatencies(values.sort((a, b) => a - b));
  }

  sendTimes(where?: Labels): Float64Array {
    const times: number[] = [];
    for (const g of this.matching(where)) if (g.sendTimes) times.push(...g.sendTimes);
    return Float64Array.from(times.sort((a, b) => a - b));
  }

  private matching(where?: Labels): FakeGroup[] {
    if (!where) return this.groups;
    return this.groups.filter((g) => Object.entries(where).every(([k, v]) => g.labels[k] === v));
  }
}

/** Exact latency statistics over a sorted array (nearest-rank percentiles). */
export class SortedLatencies implements LatencyView {
  constructor(private readonly sorted: number[]) {}
  get count(): number {
    return this.sorted.length;
  }
  percentile(p: number): number {
    if (this.sorted.length === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.sorted.length));
    return this.sorted[rank - 1];
  }
  get max(): number {
    return this.sorted.length ? this.sorted[this.sorted.length - 1] : Number.NaN;
  }
  get min(): number {
    return this.sorted.length ? this.sorted[0] : Number.NaN;
  }
  get mean(): number {
    return this.sorted.length ? this.sorted.reduce((s, v) => s + v, 0) / this.sorted.length : Number.NaN;
  }
  countAtLeast(ms: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] < ms) lo = mid + 1;
      else hi = mid;
    }
    return this.sorted.length - lo;
  }
}
