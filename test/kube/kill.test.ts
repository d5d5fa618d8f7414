// Kill tests: a child process running a whole lifecycle (prepare, snapshot, apply, waitConverged, counters, restore)
// against the fake API server (a test double) is SIGKILLed at seeded random points; `cleanup` must then leave no
// labelled object and every object that existed before restored exactly.
// Kill points are chosen two ways: at the k-th API request the child makes (the request either never reaches the
// store, or is stored and the child dies before reading the answer), and at a random time since the child started.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import * as prand from 'pure-rand';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { K8sObject } from '../../src/spec/types.ts';
import { cleanup } from '../../src/targets/kube/index.ts';
import { comparableForm, journalLabel, runLabel } from '../../src/targets/kube/objects.ts';
import { preexisting, startFixture, type KubeFixture } from './helpers.ts';

const requestTrials = 50;
const timeTrials = 12;
/** Each trial runs a child process; on a loaded 2-core machine 50 of them can take over a minute. */
const trialsTimeoutMs = 300_000;

let fx: KubeFixture;
let childScript: string;

beforeAll(async () => {
  fx = await startFixture({ pushDelayMs: 5, ackDelayMs: 5 });
  // One bundle for all trials: a child then starts in well under a second, instead of compiling TypeScript each time.
  childScript = join(fx.stateDir, '..', 'lifecycle-child.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./lifecycle-child.ts', import.meta.url))],
    outfile: childScript,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
});

afterAll(async () => {
  await fx?.server.stop();
});

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runChild(runId: string, killAfterMs?: number): { done: Promise<ChildRun>; kill: () => void } {
  const child = spawn(process.execPath, [childScript], {
    env: { ...process.env, MESHPROOF_TEST_KUBECONFIG: fx.kubeconfig, MESHPROOF_TEST_RUN_ID: runId },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timer = killAfterMs === undefined ? undefined : setTimeout(kill, killAfterMs);
  // 'close' comes after the process is reaped, so cleanup's liveness check never sees a zombie as a live run.
  const done = new Promise<ChildRun>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { done, kill };
}

async function expectCleanState(): Promise<void> {
  const reports = await cleanup({ kubeconfig: fx.kubeconfig });
  for (const r of reports) expect(r.errors).toEqual([]);
  const leftovers = fx.server.objects().filter((o) => o.metadata.labels?.[runLabel] !== undefined || o.metadata.labels?.[journalLabel] !== undefined);
  expect(leftovers.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([]);
  const before = preexisting();
  expect(fx.server.objects().length).toBe(before.length);
  for (const object of before) {
    const now = fx.server.find(object.kind, object.metadata.namespace, object.metadata.name);
    expect(now, `${object.kind} ${object.metadata.name} exists`).toBeDefined();
    expect(comparableForm(now as K8sObject)).toEqual(comparableForm(object));
  }
  const dir = join(fx.stateDir, 'meshproof', 'journal');
  expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  expect(await cleanup({ kubeconfig: fx.kubeconfig })).toEqual([]);
}

describe('kill tests: SIGKILL at seeded points, then cleanup', () => {
  let requestsPerRun = 0;
  let msPerRun = 0;

  it('an uninterrupted child run restores by itself (and measures the lifecycle)', async () => {
    fx.server.reset(preexisting());
    fx.server.onRequest = undefined;
    const started = Date.now();
    const run = await runChild('kill-baseline').done;
    msPerRun = Date.now() - started;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.errors).toEqual([]);
    expect(report.restored).toEqual(['VirtualService/default/reviews']);
    requestsPerRun = fx.server.requests.length;
    expect(requestsPerRun).toBeGreaterThan(20);
    await expectCleanState();
  });

  it(`killed at the k-th API request (${requestTrials} seeded trials)`, async () => {
    let rng = prand.xoroshiro128plus(20261123);
    const next = (max: number) => {
      const [v, r] = prand.uniformIntDistribution(0, max - 1, rng);
      rng = r;
      return v;
    };
    const killed: string[] = [];
    for (let trial = 0; trial < requestTrials; trial++) {
      fx.server.reset(preexisting());
      const k = next(requestsPerRun);
      const stored = next(2) === 1;
      const child = runChild(`kill-r${trial}`);
      fx.server.onRequest = (_req, index) => {
        if (index !== k) return;
        if (!stored) {
          child.kill();
          return 'drop';
        }
        return 'after';
      };
      fx.server.onProcessed = (_req, index) => {
        if (index === k) child.kill();
      };
      const run = await child.done;
      fx.server.onRequest = undefined;
      fx.server.onProcessed = undefined;
      killed.push(`${trial}:k=${k}${stored ? '+stored' : ''}:${run.signal ?? `exit ${run.code}`}`);
      if (run.signal === null) expect(run.code, run.stderr).toBe(0);
      await expectCleanState();
    }
    // most trials really killed the child mid-lifecycle
    expect(killed.filter((k) => k.endsWith('SIGKILL')).length).toBeGreaterThanOrEqual(requestTrials * 0.8);
  }, trialsTimeoutMs);

  it(`killed at a random time (${timeTrials} seeded trials)`, async () => {
    let rng = prand.xoroshiro128plus(7);
    for (let trial = 0; trial < timeTrials; trial++) {
      fx.server.reset(preexisting());
      const [ms, r] = prand.uniformIntDistribution(0, Math.max(1, msPerRun), rng);
      rng = r;
      const run = await runChild(`kill-t${trial}`, ms).done;
      if (run.signal === null) expect(run.code, run.stderr).toBe(0);
      await expectCleanState();
    }
  }, trialsTimeoutMs);
});
