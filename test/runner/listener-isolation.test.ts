// A listener (reporter) that throws must never skip a phase, least of all restore (issue: architecture, item 1).
// Each hook throws at each phase in turn; the run goes on, the mesh is restored, the reports are written.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Runner } from '../../src/runner/run.ts';
import type { RunListener } from '../../src/runner/events.ts';
import type { PhaseName } from '../../src/runner/result.ts';
import { writeReports } from '../../src/report/index.ts';
import { ExitCode } from '../../src/errors.ts';
import { MemoryTarget } from '../support/memory-target.ts';
import { ScriptedDriver, fakeDeps } from '../support/fake-load.ts';
import { makeExperiment, vs } from '../support/experiments.ts';
import { tempDir } from '../support/temp-dir.ts';

const phases: PhaseName[] = ['snapshot', 'apply', 'converge', 'login', 'counters', 'load', 'judge', 'restore'];
type Hook = keyof RunListener;
const hooks: Hook[] = ['onRunStart', 'onExperimentStart', 'onPhase', 'onLoadProgress', 'onExperimentEnd', 'onRunEnd', 'onMessage'];

/** A listener whose `hook` throws; onPhase throws only at `phase` (start or end). */
function throwing(hook: Hook, phase?: PhaseName, status?: 'start' | 'end'): RunListener {
  const boom = () => {
    throw new Error(`listener broke in ${hook}${phase ? ` at ${phase} ${status}` : ''}`);
  };
  if (hook === 'onPhase') return { onPhase: (_e, p, s) => (p === phase && s === status ? boom() : undefined) };
  return { [hook]: boom };
}

const cases: [string, RunListener][] = [
  ...hooks.filter((h) => h !== 'onPhase').map((h): [string, RunListener] => [h, throwing(h)]),
  ...phases.flatMap((p) => (['start', 'end'] as const).map((s): [string, RunListener] => [`onPhase ${p} ${s}`, throwing('onPhase', p, s)])),
];

const pre = { ...vs('reviews'), spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] } };

describe('a throwing listener never skips restore', () => {
  it.each(cases)('%s throws: every phase runs, restore included, reports are written', async (_name, listener) => {
    const target = new MemoryTarget({ initial: [pre] });
    const before = structuredClone([...target.objects.entries()]);
    const errors: string[] = [];
    // onMessage is only called for interrupts and close failures: make one happen so that hook is exercised too.
    const runner = new Runner(
      {
        runId: 'mp-test-iso1',
        seed: 7,
        command: ['meshproof', 'run'],
        meshproofVersion: '0.0.0-test',
        target,
        listener,
        onListenerError: (_e, hook) => errors.push(hook),
      },
      fakeDeps(new ScriptedDriver(Array(50).fill(200))),
    );
    const result = await runner.run([makeExperiment(), makeExperiment({ name: 'second' })]);
    expect(target.calls.filter((c) => c === 'restore')).toHaveLength(2);
    expect([...target.objects.entries()]).toEqual(before);
    expect(result.experiments.map((e) => e.outcome)).toEqual(['pass', 'pass']);
    expect(result.exitCode).toBe(ExitCode.ok);
    if (Object.keys(listener).length && !('onMessage' in listener) && !('onLoadProgress' in listener)) expect(errors.length).toBeGreaterThan(0);
    const dir = tempDir('meshproof-iso-');
    const paths = await writeReports(result, { dir });
    expect(existsSync(paths.html) && existsSync(paths.json) && existsSync(paths.junit)).toBe(true);
  });

  it('onMessage throwing during an interrupt does not skip restore', async () => {
    const target = new MemoryTarget({ convergeDelayMs: 200 });
    const runner = new Runner(
      {
        runId: 'mp-test-iso2',
        seed: 7,
        command: ['meshproof', 'run'],
        meshproofVersion: '0.0.0-test',
        target,
        listener: {
          onMessage: () => {
            throw new Error('broken terminal');
          },
          onPhase: (_e, p, s) => p === 'converge' && s === 'start' && runner.interrupt('SIGINT'),
        },
        onListenerError: () => {},
      },
      fakeDeps(new ScriptedDriver(Array(50).fill(200))),
    );
    const result = await runner.run([makeExperiment()]);
    expect(target.calls).toContain('restore');
    expect(target.objects.size).toBe(0);
    expect([result.outcome, result.exitCode]).toEqual(['interrupted', ExitCode.interrupted]);
  });

  it('through the CLI: an extra listener that throws as restore starts, restore runs and the reports are written', async () => {
    const { execute } = await import('../../src/cli/execute.ts');
    const target = new MemoryTarget({ initial: [pre] });
    const dir = tempDir('meshproof-iso-cli-');
    const { result, reports } = await execute([makeExperiment()], {
      target: 'local',
      reportDir: dir,
      quiet: true,
      seed: 1,
      inject: { target, deps: fakeDeps(new ScriptedDriver(Array(50).fill(200))) },
      listener: throwing('onPhase', 'restore', 'start'),
    });
    expect(target.calls).toContain('restore');
    expect(target.objects.get('VirtualService/default/reviews')).toEqual(pre);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(existsSync(reports.html) && existsSync(reports.json)).toBe(true);
  });
});
