// Shared pieces of the driver tests: a plan builder and a run that records into an Observation.
import type { LoadDriver, LoadPlan, LoadProgress, LoadSummary } from '../../src/load/driver.ts';
import { resolveClassifiers } from '../../src/observe/classifiers.ts';
import { Observation } from '../../src/observe/observation.ts';
import type { ResponseRecord } from '../../src/observe/types.ts';
import type { RequestSpec } from '../../src/spec/types.ts';

export function request(path: string, weight = 1, name = path): RequestSpec {
  return { name, method: 'GET', path, headers: {}, weight };
}

export function plan(baseUrl: string, overrides: Partial<LoadPlan>): LoadPlan {
  return {
    baseUrl,
    requests: [request('/ok')],
    model: { kind: 'closed', connections: 2 },
    durationMs: 1000,
    timeoutMs: 1000,
    seed: 7,
    ...overrides,
  };
}

export interface DriverRun {
  summary: LoadSummary;
  observation: Observation;
  records: ResponseRecord[];
  progress: LoadProgress[];
}

export async function drive(driver: LoadDriver, p: LoadPlan, signal = new AbortController().signal): Promise<DriverRun> {
  const observation = new Observation({ classifiers: resolveClassifiers(p.classifiers ?? []) });
  const records: ResponseRecord[] = [];
  const progress: LoadProgress[] = [];
  const summary = await driver.run(
    p,
    (r) => {
      records.push(r);
      observation.record(r);
    },
    { signal, onProgress: (x) => progress.push(x) },
  );
  return { summary, observation, records, progress };
}

/** Ids mp-<seed>-0 .. mp-<seed>-(n-1). */
export function idsUpTo(seed: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `mp-${seed}-${i}`);
}

/**
 * Runs a short load and checks the clock origin the driver reports (LoadControl.onClockOrigin): once, in Date.now()'s
 * clock, such that every request's origin + sentAtMs lies between the run's start and end.
 */
export async function expectClockOrigin(
  driver: LoadDriver,
  p: LoadPlan,
  expect: (
    actual: unknown,
    message?: string,
  ) => { toBe(v: unknown): void; toBeGreaterThanOrEqual(v: number): void; toBeLessThanOrEqual(v: number): void; toHaveLength(n: number): void },
): Promise<void> {
  const origins: number[] = [];
  const records: ResponseRecord[] = [];
  const started = Date.now();
  await driver.run(p, (r) => records.push(r), { signal: new AbortController().signal, onClockOrigin: (epochMs) => origins.push(epochMs) });
  const ended = Date.now();
  expect(origins).toHaveLength(1);
  const origin = origins[0]!;
  expect(origin).toBeGreaterThanOrEqual(started);
  expect(records.length).toBe(p.totalRequests);
  for (const r of records) {
    // whole milliseconds on both clocks: 2 ms either side
    expect(origin + r.sentAtMs, 'send time').toBeGreaterThanOrEqual(started - 2);
    expect(origin + r.sentAtMs + r.latencyMs, 'completion time').toBeLessThanOrEqual(ended + 2);
  }
}
