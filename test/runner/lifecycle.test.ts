import { describe, expect, it } from 'vitest';
import { Runner, type RunOptions } from '../../src/runner/run.ts';
import { ExitCode, ResourceError, TargetError } from '../../src/errors.ts';
import type { JudgeContext } from '../../src/assertions/verdict.ts';
import type { Expectation } from '../../src/spec/types.ts';
import type { LoadDriver } from '../../src/load/driver.ts';
import { MemoryTarget } from '../support/memory-target.ts';
import { ScriptedDriver, fakeDeps } from '../support/fake-load.ts';
import { makeExperiment, vs } from '../support/experiments.ts';
import { must } from '../../src/must.ts';

function options(target: MemoryTarget, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    runId: 'mp-test-0001',
    seed: 7,
    command: ['meshproof', 'run'],
    meshproofVersion: '0.0.0-test',
    target,
    ...extra,
  };
}

const pre = { ...vs('reviews'), spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] } };

describe('runner lifecycle against an in-memory target', () => {
  it('runs every phase in order and restores the mesh exactly as it was', async () => {
    const target = new MemoryTarget({ initial: [pre] });
    const before = structuredClone([...target.objects.entries()]);
    const result = await new Runner(options(target), fakeDeps(new ScriptedDriver(Array(50).fill(200)))).run([makeExperiment()]);
    expect(target.calls).toEqual(['prepare', 'snapshot', 'apply', 'converge', 'counters', 'counters', 'restore', 'close']);
    expect([...target.objects.entries()]).toEqual(before);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.outcome).toBe('pass');
    const [experiment] = result.experiments;
    expect(experiment?.restore).toEqual({ deleted: ['VirtualService/default/ratings'], restored: ['VirtualService/default/reviews'], errors: [] });
    expect(experiment?.phases.map((p) => p.phase)).toEqual(['snapshot', 'apply', 'converge', 'login', 'counters', 'load', 'counters', 'judge', 'restore']);
    expect(experiment?.events.map((e) => e.what)).toEqual(['applied', 'converged', 'load-start', 'load-end', 'restored']);
    expect(experiment?.loadSummary?.sent).toBe(50);
  });

  it('labels applied objects with the run id', async () => {
    const target = new MemoryTarget();
    let seen: string | undefined;
    const driver = new ScriptedDriver([200], {
      onStart: () => (seen = target.objects.get('VirtualService/default/reviews')?.metadata.labels?.['meshproof.dev/run']),
    });
    await new Runner(options(target), fakeDeps(driver)).run([makeExperiment()]);
    expect(seen).toBe('mp-test-0001');
  });

  it('exits 1 when an expectation fails, and still restores', async () => {
    const target = new MemoryTarget();
    const result = await new Runner(options(target), fakeDeps(new ScriptedDriver(Array(50).fill(503)))).run([makeExperiment()]);
    expect(result.exitCode).toBe(ExitCode.failed);
    expect(result.experiments[0]?.outcome).toBe('fail');
    expect(target.objects.size).toBe(0);
  });

  it('counts inconclusive as failing unless --inconclusive=pass', async () => {
    const few = () => new ScriptedDriver([200, 200]);
    const failing = await new Runner(options(new MemoryTarget()), fakeDeps(few())).run([makeExperiment()]);
    expect([failing.outcome, failing.exitCode]).toEqual(['inconclusive', ExitCode.failed]);
    const lenient = await new Runner(options(new MemoryTarget(), { inconclusiveAs: 'pass' }), fakeDeps(few())).run([makeExperiment()]);
    expect([lenient.outcome, lenient.exitCode]).toEqual(['pass', ExitCode.ok]);
  });

  it('restores what was applied when apply fails half-way (exit 3 for a target failure)', async () => {
    const target = new MemoryTarget({ failOn: { apply: new TargetError('API server went away') } });
    const result = await new Runner(options(target), fakeDeps(new ScriptedDriver([200]))).run([makeExperiment()]);
    expect(target.calls).toContain('restore');
    expect(target.objects.size).toBe(0);
    expect(result.exitCode).toBe(ExitCode.infrastructure);
    expect(result.experiments[0]?.error).toMatchObject({ phase: 'apply', message: 'API server went away' });
  });

  it('maps a refused resource field to the experiment file position (exit 2)', async () => {
    const experiment = makeExperiment();
    const target = new MemoryTarget({
      failOn: {
        apply: new ResourceError('field not supported by the local target', must(experiment.apply[1], 'experiment.apply[1]').object, 'spec.http[0].mirror'),
      },
    });
    const result = await new Runner(options(target), fakeDeps(new ScriptedDriver([200]))).run([experiment]);
    expect(result.exitCode).toBe(ExitCode.badInput);
    expect(result.experiments[0]?.error?.message).toContain('VirtualService ratings: spec.http[0].mirror: field not supported');
  });

  it("a target that cannot be prepared is the run's error (rejected after closing the target), running and announcing nothing (issue 14 D8)", async () => {
    const target = new MemoryTarget({ failOn: { prepare: new TargetError('no cluster') } });
    const started: unknown[] = [];
    const runner = new Runner(options(target, { listener: { onRunStart: (info) => started.push(info) } }), fakeDeps(new ScriptedDriver([200])));
    await expect(runner.run([makeExperiment()])).rejects.toThrow(TargetError);
    expect(target.calls).toEqual(['prepare', 'close']);
    expect(started).toEqual([]);
  });

  it('restores after an unexpected exception in the driver', async () => {
    const target = new MemoryTarget();
    const broken = {
      name: 'broken',
      run: async () => {
        throw new Error('driver crashed');
      },
    };
    const result = await new Runner(options(target), fakeDeps(broken)).run([makeExperiment()]);
    expect(target.calls.at(-2)).toBe('restore');
    expect(result.experiments[0]?.error).toMatchObject({ phase: 'load', message: 'driver crashed', exitCode: ExitCode.infrastructure });
  });

  it('restore problems after an earlier failure still show: the restore phase fails, exit 3, the run stops (issue 14 D6)', async () => {
    const target = new MemoryTarget({
      failOn: { converge: new TargetError('proxies did not converge') },
      restoreProblems: ['VirtualService/default/reviews: 409 conflict'],
    });
    const result = await new Runner(options(target), fakeDeps(new ScriptedDriver([200]))).run([makeExperiment(), makeExperiment({ name: 'second' })]);
    const [first, second] = result.experiments;
    expect(first!.error).toMatchObject({ phase: 'restore', exitCode: ExitCode.infrastructure });
    expect(first!.error!.message).toBe(
      'restore left problems: VirtualService/default/reviews: 409 conflict (after an earlier error in converge: proxies did not converge)',
    );
    expect(first!.phases.find((p) => p.phase === 'restore')).toMatchObject({ ok: false });
    expect(first!.restore?.errors).toEqual(['VirtualService/default/reviews: 409 conflict']);
    expect(second!.outcome).toBe('skipped');
    expect([result.outcome, result.exitCode]).toEqual(['error', ExitCode.infrastructure]);
    expect(result.error).toMatch(/^restore failed, stopping: restore left problems/);
  });

  it('a restore that reports problems after a bad-input error is exit 3, not 2 (the mesh is left changed)', async () => {
    const target = new MemoryTarget({
      failOn: { apply: new ResourceError('bad field', vs('reviews'), 'spec.http') },
      restoreProblems: ['VirtualService/default/reviews: not restored'],
    });
    const result = await new Runner(options(target), fakeDeps(new ScriptedDriver([200]))).run([makeExperiment()]);
    expect(result.experiments[0]!.error).toMatchObject({ phase: 'restore', exitCode: ExitCode.infrastructure });
    expect(result.exitCode).toBe(ExitCode.infrastructure);
  });

  it('a failure is labelled with the phase it happened in: the gateway address lookup belongs to converge (it was "load")', async () => {
    const target = new MemoryTarget();
    target.entrypoint = async () => {
      throw new TargetError('no ingress gateway address');
    };
    const result = await new Runner(options(target), fakeDeps(new ScriptedDriver([200]))).run([makeExperiment()]);
    expect(result.experiments[0]!.error).toMatchObject({ phase: 'converge', message: 'no ingress gateway address', exitCode: ExitCode.infrastructure });
    expect(result.experiments[0]!.phases.map((p) => [p.phase, p.ok])).toEqual([
      ['snapshot', true],
      ['apply', true],
      ['converge', false],
      ['restore', true],
    ]);
  });

  it('interrupt during load stops the load, restores, skips the remaining experiments, exit 130', async () => {
    const target = new MemoryTarget();
    let runner!: Runner;
    const driver = new ScriptedDriver(Array(1000).fill(200), { delayMs: 1, onSent: (n) => n === 20 && runner.interrupt('SIGINT') });
    const messages: string[] = [];
    runner = new Runner(options(target, { listener: { onMessage: (m) => messages.push(m) } }), fakeDeps(driver));
    const result = await runner.run([makeExperiment(), makeExperiment({ name: 'second' })]);
    expect(result.exitCode).toBe(ExitCode.interrupted);
    expect(result.interrupted).toBe(true);
    expect(result.outcome).toBe('interrupted');
    // The experiment not run is listed as skipped, never dropped.
    expect(result.experiments.map((e) => [e.name, e.outcome])).toEqual([
      ['test-experiment', 'interrupted'],
      ['second', 'skipped'],
    ]);
    expect(result.experiments[1]?.skipReason).toBe('not run: the run was interrupted by SIGINT');
    // What was observed before the interrupt is kept (no data loss), but nothing is judged on it.
    expect(result.experiments[0]?.loadSummary?.sent).toBe(20);
    expect(result.experiments[0]?.verdicts).toEqual([]);
    expect(result.experiments[0]?.error).toMatchObject({ phase: 'load', exitCode: ExitCode.interrupted });
    expect(target.calls.filter((c) => c === 'restore')).toHaveLength(1);
    expect(target.objects.size).toBe(0);
    expect(messages[0]).toMatch(/SIGINT received: stopping load, then restoring/);
  });

  it('interrupt while waiting for convergence does not wait it out', async () => {
    const target = new MemoryTarget({ convergeDelayMs: 5_000 });
    const runner = new Runner(options(target), fakeDeps(new ScriptedDriver([200])));
    const started = Date.now();
    setTimeout(() => runner.interrupt('SIGTERM'), 50);
    const result = await runner.run([makeExperiment()]);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(result.exitCode).toBe(ExitCode.interrupted);
    expect(target.calls).toContain('restore');
  });

  it('sequential mode stops the load once every expectation is conclusive', async () => {
    const target = new MemoryTarget();
    const experiment = makeExperiment();
    experiment.load = { ...experiment.load, totalRequests: undefined, sequential: { budget: 10_000, checkEvery: 10 } };
    const result = await new Runner(options(target), fakeDeps(new ScriptedDriver(Array(10_000).fill(200)))).run([experiment]);
    expect(result.experiments[0]?.loadSummary?.sent).toBe(10);
    expect(result.exitCode).toBe(ExitCode.ok);
  });

  it('the final judgement of a sequential run is the last look (final: true), a fixed run has no looks', async () => {
    const contexts: JudgeContext[] = [];
    const recordingDeps = (driver: ScriptedDriver) => {
      const deps = fakeDeps(driver);
      return { ...deps, judgeAll: (e: Expectation[], c: JudgeContext) => (contexts.push(c), deps.judgeAll(e, c)) };
    };
    const experiment = makeExperiment();
    experiment.load = { ...experiment.load, totalRequests: undefined, sequential: { budget: 30, checkEvery: 5 } };
    // the fake judge is inconclusive below 10 samples: look 1 (5 samples) goes on, look 2 (10) stops the load
    await new Runner(options(new MemoryTarget()), recordingDeps(new ScriptedDriver(Array(30).fill(200)))).run([experiment]);
    expect(contexts.map((c) => c.sequential)).toEqual([{ looks: 1 }, { looks: 2 }, { looks: 3, final: true }]);
    contexts.length = 0;
    await new Runner(options(new MemoryTarget()), recordingDeps(new ScriptedDriver(Array(30).fill(200)))).run([makeExperiment()]);
    expect(contexts.map((c) => c.sequential)).toEqual([undefined]);
  });

  it('sequential stop: client-side verdicts stand as judged at the stopping look; in-flight responses do not reopen them', async () => {
    // 10 × 200 make the fake judge conclusive (pass); 5 responses still in flight then are 500s, which would fail it.
    const inFlight: LoadDriver = {
      name: 'in-flight',
      async run(plan, onResponse, control) {
        let sent = 0;
        for (; sent < 10 && !control.signal.aborted; sent++) onResponse({ requestIndex: 0, sentAtMs: sent, latencyMs: 1, status: 200, headers: {}, body: '' });
        for (let i = 0; i < 5; i++, sent++) onResponse({ requestIndex: 0, sentAtMs: sent, latencyMs: 9, status: 500, headers: {}, body: '' });
        return { driver: 'in-flight', sent, answered: sent, errored: 0, durationMs: 1, notes: [] };
      },
    };
    const contexts: { kinds: string[]; sequential: JudgeContext['sequential'] }[] = [];
    const deps = fakeDeps(inFlight);
    const judgeAll = deps.judgeAll;
    deps.judgeAll = (e, c) => (contexts.push({ kinds: e.map((x) => x.kind), sequential: c.sequential }), judgeAll(e, c));
    const experiment = makeExperiment();
    const retries: Expectation = {
      kind: 'retries',
      title: 'retries',
      source: { file: 'exp.yaml', line: 12, col: 5 },
      confidence: 0.99,
      service: 'ratings',
      count: { max: 0 },
    };
    experiment.expect = [...experiment.expect, retries];
    experiment.load = { ...experiment.load, totalRequests: undefined, sequential: { budget: 1000, checkEvery: 10 } };
    const result = await new Runner(options(new MemoryTarget()), deps).run([experiment]);
    const [status, mesh] = must(result.experiments[0], 'result.experiments[0]').verdicts;
    expect(status).toMatchObject({ kind: 'status', outcome: 'pass', sampleSize: 10 });
    expect(mesh?.kind).toBe('retries');
    expect(result.experiments[0]?.loadSummary?.sent).toBe(15);
    // look 1 judged the client-side expectation; the final judgement covered only the mesh-side one, as the last look
    expect(contexts).toEqual([
      { kinds: ['status'], sequential: { looks: 1 } },
      { kinds: ['retries'], sequential: { looks: 2, final: true } },
    ]);
  });

  it("passes the experiment's classifiers to the load plan (k6 classifies out of process)", async () => {
    const driver = new ScriptedDriver([200]);
    const experiment = makeExperiment();
    experiment.load = { ...experiment.load, classifiers: ['status', 'bookinfo'] };
    await new Runner(options(new MemoryTarget()), fakeDeps(driver)).run([experiment]);
    expect(driver.plans[0]?.classifiers).toEqual(['status', 'bookinfo']);
  });
});
