// Doubles for the runner's load-side dependencies: a driver that answers instantly from a script of statuses.
import type { LoadDriver, LoadPlan, LoadSummary, LoadControl } from '../../src/load/driver.ts';
import type { ObservationSnapshot, ResponseRecord, LatencyView, Labels } from '../../src/observe/types.ts';
import type { RecordingObservation, RunnerDeps } from '../../src/runner/run.ts';
import type { Verdict } from '../../src/assertions/verdict.ts';

export class ScriptedDriver implements LoadDriver {
  readonly name = 'scripted';
  readonly plans: LoadPlan[] = [];
  constructor(
    private readonly statuses: number[],
    private readonly options: { delayMs?: number; onStart?: () => void; onSent?: (n: number) => void } = {},
  ) {}

  async run(plan: LoadPlan, onResponse: (r: ResponseRecord) => void, control: LoadControl): Promise<LoadSummary> {
    this.plans.push(plan);
    this.options.onStart?.();
    const limit = Math.min(plan.totalRequests ?? Infinity, this.statuses.length);
    let sent = 0;
    const started = Date.now();
    for (const status of this.statuses.slice(0, limit)) {
      if (control.signal.aborted) break;
      if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
      onResponse({ requestIndex: 0, sentAtMs: Date.now() - started, latencyMs: 1, status, headers: {}, body: '' });
      sent++;
      this.options.onSent?.(sent);
    }
    return { driver: this.name, sent, answered: sent, errored: 0, durationMs: Date.now() - started, notes: [] };
  }
}

/** Counts statuses only; enough for lifecycle tests. */
export class CountingObservation implements RecordingObservation {
  readonly statuses: number[] = [];
  get total(): number {
    return this.statuses.length;
  }
  record(r: ResponseRecord): void {
    this.statuses.push(r.status);
  }
  count(where?: Labels): number {
    return where?.status ? this.statuses.filter((s) => String(s) === where.status).length : this.total;
  }
  countBy(label: string): Map<string, number> {
    const m = new Map<string, number>();
    if (label === 'status') for (const s of this.statuses) m.set(String(s), (m.get(String(s)) ?? 0) + 1);
    return m;
  }
  latency(): LatencyView {
    return { count: this.total, percentile: () => 1, max: 1, min: 1, mean: 1, countAtLeast: () => 0 };
  }
  sendTimes(): Float64Array {
    return new Float64Array(this.total);
  }
  snapshot(): ObservationSnapshot {
    return {
      total: this.total,
      sent: this.total,
      answered: this.total,
      errored: 0,
      groups: [],
      latency: { p50: 1, p90: 1, p99: 1, p999: 1, max: 1, min: 1, mean: 1 },
      timeSeries: [],
      samples: [],
    };
  }
}

/** Judges every expectation as "share of 200 ≥ min" from the counting observation; enough to drive outcomes. */
export function fakeDeps(driver: LoadDriver, overrides: Partial<RunnerDeps> = {}): RunnerDeps {
  return {
    createDriver: () => driver,
    newObservation: () => new CountingObservation(),
    resolveRequests: async (_url, requests) => requests,
    judgeAll: (expectations, context) =>
      expectations.map((e): Verdict => {
        const ok = context.observation.count({ status: '200' });
        const share = context.observation.total ? ok / context.observation.total : 0;
        const min = e.kind === 'status' ? (e.ratio.min ?? 0) : 0;
        const outcome = context.observation.total < 10 ? 'inconclusive' : share >= min ? 'pass' : 'fail';
        return {
          kind: e.kind,
          title: e.title,
          outcome,
          observed: share,
          expected: `≥ ${min}`,
          confidence: 0.99,
          sampleSize: context.observation.total,
          explanation: `share ${share}`,
          evidence: { unit: 'share', expected: { '': { min } }, population: { source: 'client', of: 'responses' } },
        };
      }),
    allConclusive: (verdicts) => verdicts.every((v) => v.outcome !== 'inconclusive'),
    ...overrides,
  };
}
