import { describe, expect, it } from 'vitest';
import { apportion, groupByEntry, mergeProgress, mergeSummaries, splitPlan } from '../../src/runner/load-split.ts';
import type { LoadPlan } from '../../src/load/driver.ts';
import type { RequestSpec } from '../../src/spec/types.ts';
import { Runner } from '../../src/runner/run.ts';
import { ExitCode } from '../../src/errors.ts';
import { MemoryTarget } from '../support/memory-target.ts';
import { ScriptedDriver, fakeDeps } from '../support/fake-load.ts';
import { makeExperiment } from '../support/experiments.ts';

const request = (name: string, weight = 1, service?: string): RequestSpec => ({
  name,
  method: 'GET',
  path: '/',
  headers: {},
  weight,
  ...(service ? { service, port: 9080 } : {}),
});
const plan = (requests: RequestSpec[], extra: Partial<LoadPlan> = {}): LoadPlan => ({
  baseUrl: 'http://gw',
  requests,
  model: { kind: 'open', rate: 300 },
  timeoutMs: 1000,
  seed: 5,
  ...extra,
});

describe('splitting load by entry point', () => {
  it('apportions integers that sum to the whole, by largest remainder, with a floor', () => {
    expect(apportion(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(apportion(7, [3, 1])).toEqual([5, 2]);
    expect(apportion(1, [1, 1], 1)).toEqual([1, 1]);
  });

  it('groups requests by where they go, keeping first-appearance order', () => {
    const requests = [request('a'), request('b', 1, 'ratings'), request('c')];
    expect(groupByEntry(requests, (r) => (r.service ? 'http://ratings' : 'http://gw'))).toEqual([
      { baseUrl: 'http://gw', indices: [0, 2] },
      { baseUrl: 'http://ratings', indices: [1] },
    ]);
  });

  it('gives each part its weight share of the rate, connections and request count, and its own seed', () => {
    const requests = [request('page', 3), request('outside', 1, 'ratings')];
    const groups = [
      { baseUrl: 'http://gw', indices: [0] },
      { baseUrl: 'http://ratings', indices: [1] },
    ];
    const open = splitPlan(plan(requests, { totalRequests: 400 }), groups);
    expect(open.map((p) => [p.plan.baseUrl, p.plan.model, p.plan.totalRequests, p.plan.seed, p.plan.requests.map((r) => r.name)])).toEqual([
      ['http://gw', { kind: 'open', rate: 225 }, 300, 5, ['page']],
      ['http://ratings', { kind: 'open', rate: 75 }, 100, 6, ['outside']],
    ]);
    // `total: 1` over two entry points sends one request, not one per part.
    const one = splitPlan(plan(requests, { totalRequests: 1 }), groups);
    expect(one.map((p) => [p.plan.baseUrl, p.plan.totalRequests, p.indices])).toEqual([['http://gw', 1, [0]]]);
    const closed = splitPlan(plan(requests, { model: { kind: 'closed', connections: 2 } }), groups);
    expect(closed.map((p) => p.plan.model)).toEqual([
      { kind: 'closed', connections: 2 },
      { kind: 'closed', connections: 1 },
    ]);
  });

  it('leaves a single-entry plan as it is', () => {
    const p = plan([request('a'), request('b')], { totalRequests: 10 });
    expect(splitPlan(p, [{ baseUrl: 'http://gw', indices: [0, 1] }])).toEqual([{ plan: p, indices: [0, 1] }]);
  });

  it('merges summaries and progress by adding counts', () => {
    const merged = mergeSummaries([
      { driver: 'autocannon', sent: 10, answered: 9, errored: 1, durationMs: 100, notes: ['x'] },
      { driver: 'autocannon', sent: 5, answered: 5, errored: 0, durationMs: 120, notes: ['x'] },
    ]);
    expect(merged).toMatchObject({ sent: 15, answered: 14, errored: 1, durationMs: 120 });
    expect(merged.notes).toContain('x');
    // The note names each part that ran, so it cannot disagree with the request lines shown beside it.
    const named = mergeSummaries(
      [
        { driver: 'autocannon', sent: 1, answered: 1, errored: 0, durationMs: 1, notes: [] },
        { driver: 'autocannon', sent: 1, answered: 1, errored: 0, durationMs: 1, notes: [] },
      ],
      ['jason, anonymous → http://127.0.0.1:8080', 'ratings-direct → http://127.0.0.9:9080'],
    );
    expect(named.notes[0]).toBe(
      'the load ran as 2 parallel parts, one per entry point: jason, anonymous → http://127.0.0.1:8080; ratings-direct → http://127.0.0.9:9080',
    );
    expect(
      mergeProgress([
        { elapsedMs: 5, sent: 1, answered: 1, errored: 0, byStatus: { '200': 1 } },
        undefined,
        { elapsedMs: 7, sent: 2, answered: 1, errored: 1, byStatus: { '200': 1, error: 1 } },
      ]),
    ).toEqual({
      elapsedMs: 7,
      sent: 3,
      answered: 2,
      errored: 1,
      byStatus: { '200': 2, error: 1 },
    });
  });
});

describe('runner: requests straight to a service from outside the mesh', () => {
  it('is a target failure (exit 3) naming the request when the target cannot do it, and the mesh is restored', async () => {
    const target = new MemoryTarget();
    const experiment = makeExperiment();
    experiment.load = { ...experiment.load, requests: [request('page'), request('outside', 1, 'ratings')] };
    const result = await new Runner({ runId: 'mp-x', seed: 1, command: [], meshproofVersion: '0', target }, fakeDeps(new ScriptedDriver([200]))).run([
      experiment,
    ]);
    expect(result.exitCode).toBe(ExitCode.infrastructure);
    expect(result.experiments[0]?.error?.message).toMatch(
      /request "outside" goes straight to service ratings from outside the mesh, which the local target cannot do/,
    );
    expect(target.calls).toContain('restore');
  });

  it('runs one driver per entry point and labels each response with its own request', async () => {
    const target = new MemoryTarget();
    const withOutside = Object.assign(target, { outsideEntrypoint: async (service: string, port: number) => `http://outside/${service}:${port}` });
    const drivers: ScriptedDriver[] = [];
    const experiment = makeExperiment();
    experiment.load = { ...experiment.load, requests: [request('page'), request('outside', 1, 'ratings')], totalRequests: 20 };
    const seen: number[] = [];
    const deps = fakeDeps(new ScriptedDriver([]), {
      createDriver: () => {
        const d = new ScriptedDriver(Array(20).fill(200));
        drivers.push(d);
        return d;
      },
    });
    const observation = deps.newObservation;
    deps.newObservation = (e) => {
      const o = observation(e);
      const record = o.record.bind(o);
      o.record = (r) => (seen.push(r.requestIndex), record(r));
      return o;
    };
    const result = await new Runner({ runId: 'mp-x', seed: 1, command: [], meshproofVersion: '0', target: withOutside }, deps).run([experiment]);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(drivers.map((d) => [d.plans[0]?.baseUrl, d.plans[0]?.totalRequests])).toEqual([
      [await target.entrypoint(), 10],
      ['http://outside/ratings:9080', 10],
    ]);
    expect(seen.filter((i) => i === 0)).toHaveLength(10);
    expect(seen.filter((i) => i === 1)).toHaveLength(10);
    expect(result.experiments[0]?.loadSummary?.sent).toBe(20);
  });
});

describe('connections set up ahead of the load', () => {
  it("asks the target to open each entry point's share of the driver's connections in the login phase, before the counters are read", async () => {
    const target = new MemoryTarget();
    const opened: string[] = [];
    const withConnections = Object.assign(target, {
      outsideEntrypoint: async (service: string, port: number) => `http://outside/${service}:${port}`,
      openConnections: async (baseUrl: string, count: number) => {
        target.calls.push('connect');
        opened.push(`${baseUrl} ${count}`);
      },
    });
    const experiment = makeExperiment();
    experiment.load = {
      ...experiment.load,
      model: { kind: 'closed', connections: 6 },
      requests: [request('page'), request('outside', 2, 'ratings')],
      totalRequests: 30,
    };
    const driver = (): ScriptedDriver =>
      Object.assign(new ScriptedDriver(Array(30).fill(200)), { connections: (p: LoadPlan) => (p.model.kind === 'closed' ? p.model.connections : 0) });
    const deps = fakeDeps(driver(), { createDriver: driver });
    const result = await new Runner({ runId: 'mp-x', seed: 1, command: [], meshproofVersion: '0', target: withConnections }, deps).run([experiment]);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(opened).toEqual([`${await target.entrypoint()} 2`, 'http://outside/ratings:9080 4']);
    expect(target.calls).toEqual(['prepare', 'snapshot', 'apply', 'converge', 'connect', 'connect', 'counters', 'counters', 'restore', 'close']);
  });
});
