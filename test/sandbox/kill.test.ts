// Kill tests against the sandbox's REAL kube-apiserver (issue 14 item 4): a child process running a kube-target
// lifecycle is SIGKILLed at seeded points — at its k-th API request (before the request reaches the API server, or
// after the server carried it out and before the child read the answer; the counting proxy in front of the server
// places the kill) and at seeded times — or sent SIGINT/SIGTERM at seeded times. Then `cleanup` must leave no labelled
// object and no journal, and every object that existed before must equal what it was: spec, labels, annotations, uid
// and field ownership (managedFields per manager), as the real server keeps them.
// The seven sidecars are played by xDS clients of the sandbox's istiod, so convergence is istiod's real sync status.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { build } from 'esbuild';
import * as prand from 'pure-rand';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CONTEXT, sandboxFiles, type SandboxState } from '../../src/sandbox/layout.ts';
import { sandboxSidecar, type SandboxSidecar } from '../../src/sandbox/sidecar.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { KubeApi } from '../../src/targets/kube/api.ts';
import { cleanup } from '../../src/targets/kube/index.ts';
import { comparableForm, journalLabel, runLabel } from '../../src/targets/kube/objects.ts';
import { CountingProxy } from './counting-proxy.ts';
import { runSandboxScript } from '../../src/sandbox/scripts.ts';
import { userObjects as userObjectsOf } from '../kube/helpers.ts';
import { tempDir } from '../support/temp-dir.ts';

const requestTrials = 50;
const timeTrials = 12;
const signalTrials = 8;
const trialsTimeoutMs = 300_000;

const stateDir = tempDir('meshproof-sandbox-kill-');
const env = { ...process.env, MESHPROOF_SANDBOX: stateDir, MESHPROOF_SANDBOX_PORT_BASE: '27000' };
const journalHome = join(stateDir, 'xdg-state');

let state: SandboxState;
let api: KubeApi;
let proxy: CountingProxy;
let proxyKubeconfig: string;
let childScript: string;
const sidecars: SandboxSidecar[] = [];

/** The user's own objects (test/kube/helpers.ts), applied server-side by their own field manager before any run. */
const userObjects: K8sObject[] = userObjectsOf();
const plural = (kind: string) => `${kind.toLowerCase()}s`;
const pathOf = (o: K8sObject) => `/apis/${o.apiVersion}/namespaces/${o.metadata.namespace}/${plural(o.kind)}/${o.metadata.name}`;

/** What must come back exactly: the comparable form, the uid, and who owns which fields. */
interface Baseline {
  form: K8sObject;
  uid: string;
  owners: string[];
}
let baseline: Baseline[] = [];

async function read(o: K8sObject): Promise<K8sObject | undefined> {
  const res = await api.raw('GET', pathOf(o));
  return res.code === 200 ? (JSON.parse(res.body) as K8sObject) : undefined;
}

function owners(o: K8sObject): string[] {
  return ((o.metadata.managedFields ?? []) as { manager: string; operation: string; fieldsV1: unknown }[])
    .map((f) => `${f.manager} ${f.operation} ${JSON.stringify(f.fieldsV1)}`)
    .sort();
}

beforeAll(async () => {
  const up = await runSandboxScript('sandbox-up.ts', env, ['--no-mesh']);
  if (up.code !== 0) throw new Error(`sandbox-up failed (exit ${up.code}):\n${up.output}`);
  state = JSON.parse(readFileSync(sandboxFiles(stateDir).state, 'utf8')) as SandboxState;
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  kc.setCurrentContext(SANDBOX_CONTEXT);
  api = new KubeApi(kc);
  for (const o of userObjects) {
    const res = await api.raw('PATCH', pathOf(o), {
      body: JSON.stringify(o),
      query: { fieldManager: 'books-team', force: 'true' },
      contentType: 'application/apply-patch+yaml',
    });
    if (res.code >= 300) throw new Error(`applying the user's ${o.kind}: ${res.code} ${res.body}`);
  }
  baseline = await Promise.all(
    userObjects.map(async (o) => {
      const live = (await read(o))!;
      return { form: comparableForm(live), uid: live.metadata.uid as string, owners: owners(live) };
    }),
  );
  objectsBefore = (await istioObjects()).names;
  // The seven proxies, as xDS clients of the sandbox's istiod: convergence reads istiod's own sync status.
  const core = kc.makeApiClient(CoreV1Api);
  const pods = [
    ...(await core.listNamespacedPod({ namespace: 'default' })).items,
    ...(await core.listNamespacedPod({ namespace: 'istio-system', labelSelector: 'istio=ingressgateway' })).items,
  ];
  for (const pod of pods) sidecars.push(sandboxSidecar(pod, `127.0.0.1:${state.ports.istiodGrpc}`));
  await Promise.all(sidecars.map((s) => s.synced()));
  proxy = await new CountingProxy(state.kubeconfig, SANDBOX_CONTEXT).start();
  proxyKubeconfig = join(stateDir, 'proxied-kubeconfig');
  await writeFile(proxyKubeconfig, proxy.kubeconfig(), { mode: 0o600 });
  process.env.XDG_STATE_HOME = journalHome;
  childScript = join(stateDir, 'lifecycle-child.mjs');
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
}, 180_000);

afterAll(async () => {
  for (const s of sidecars) s.close();
  await proxy?.stop();
  await runSandboxScript('sandbox-down.ts', env);
  rmSync(stateDir, { recursive: true, force: true });
});

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runChild(runId: string): { done: Promise<ChildRun>; ready: Promise<void>; kill: (signal?: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [childScript], {
    env: { ...process.env, MESHPROOF_TEST_KUBECONFIG: proxyKubeconfig, MESHPROOF_TEST_RUN_ID: runId, XDG_STATE_HOME: journalHome },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  let onReady = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.includes('ready\n')) onReady();
  });
  const kill = (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const done = new Promise<ChildRun>((r) => child.on('close', (code, signal) => r({ code, signal, stdout, stderr })));
  return { done, ready, kill };
}

/** Every Istio object of the kinds the experiment touches, as `Kind/name`, and those carrying a run label. */
async function istioObjects(): Promise<{ names: string[]; labelled: string[] }> {
  const names: string[] = [];
  const labelled: string[] = [];
  for (const [group, kind] of [
    ['networking.istio.io', 'virtualservices'],
    ['networking.istio.io', 'destinationrules'],
    ['security.istio.io', 'authorizationpolicies'],
  ]) {
    const list = JSON.parse((await api.raw('GET', `/apis/${group}/v1/${kind}`)).body) as { items: K8sObject[] };
    for (const o of list.items) {
      const name = `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
      names.push(name);
      if (o.metadata.labels?.[runLabel] !== undefined) labelled.push(name);
    }
  }
  return { names: names.sort(), labelled };
}
let objectsBefore: string[] = [];

/** `cleanup` as the user would run it: with the kubeconfig of the run (its local journal names that server). */
async function expectCleanState(): Promise<void> {
  const reports = await cleanup({ kubeconfig: proxyKubeconfig });
  for (const r of reports) expect(r.errors).toEqual([]);
  const now = await istioObjects();
  expect(now.labelled).toEqual([]);
  expect(now.names).toEqual(objectsBefore);
  const journals = JSON.parse((await api.raw('GET', '/api/v1/configmaps', { query: { labelSelector: journalLabel } })).body) as { items: unknown[] };
  expect(journals.items).toEqual([]);
  for (const [i, o] of userObjects.entries()) {
    const live = await read(o);
    expect(live, `${o.kind} ${o.metadata.name} exists`).toBeDefined();
    expect(comparableForm(live!)).toEqual(baseline[i]!.form);
    expect(live!.metadata.uid).toBe(baseline[i]!.uid);
    expect(owners(live!), `field ownership of ${o.kind} ${o.metadata.name}`).toEqual(baseline[i]!.owners);
  }
  const dir = join(journalHome, 'meshproof', 'journal');
  const left = existsSync(dir) ? readdirSync(dir) : [];
  expect(left, left.map((f) => `${f}: ${readFileSync(join(dir, f), 'utf8').slice(0, 1500)}`).join('\n')).toEqual([]);
  expect(await cleanup({ kubeconfig: proxyKubeconfig })).toEqual([]);
}

describe('kill tests against the real API server', () => {
  let requestsPerRun = 0;
  let msPerRun = 0;
  /** From the child's `ready` (its signal handlers set) to its exit: the window a SIGINT/SIGTERM can interrupt. */
  let msAfterReady = 0;

  it('an uninterrupted child run restores by itself, field ownership included (and measures the lifecycle)', async () => {
    const before = proxy.requests.length;
    const started = Date.now();
    const baseline = runChild('kill-baseline');
    let readyAt = started;
    void baseline.ready.then(() => (readyAt = Date.now()));
    const run = await baseline.done;
    msPerRun = Date.now() - started;
    msAfterReady = Date.now() - readyAt;
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.errors).toEqual([]);
    expect(report.restored).toEqual(['VirtualService/default/reviews']);
    requestsPerRun = proxy.requests.length - before;
    expect(requestsPerRun).toBeGreaterThan(20);
    await expectCleanState();
  });

  it(
    `SIGKILL at the k-th API request, before or after the server carried it out (${requestTrials} seeded trials)`,
    async () => {
      let rng = prand.xoroshiro128plus(20261205);
      const next = (max: number) => {
        const [v, r] = prand.uniformIntDistribution(0, max - 1, rng);
        rng = r;
        return v;
      };
      const outcomes: string[] = [];
      for (let trial = 0; trial < requestTrials; trial++) {
        const k = next(requestsPerRun);
        const stored = next(2) === 1;
        const first = proxy.requests.length;
        const child = runChild(`kill-r${trial}`);
        proxy.onRequest = (_req, index) => {
          if (index - first !== k) return undefined;
          if (!stored) {
            child.kill();
            return 'drop';
          }
          return 'after';
        };
        proxy.onProcessed = (_req, index) => {
          if (index - first === k) child.kill();
        };
        const run = await child.done;
        proxy.onRequest = undefined;
        proxy.onProcessed = undefined;
        outcomes.push(
          `${trial}:k=${k}${stored ? '+stored' : ''}:${run.signal ?? `exit ${run.code}`}:${proxy.requests[first + k]?.method} ${proxy.requests[first + k]?.path}`,
        );
        if (run.signal === null) expect(run.code, run.stderr).toBe(0);
        await expectCleanState();
      }
      expect(outcomes.filter((o) => o.includes(':SIGKILL:')).length).toBeGreaterThanOrEqual(requestTrials * 0.8);
    },
    trialsTimeoutMs,
  );

  it(
    `SIGKILL at a seeded time (${timeTrials} trials)`,
    async () => {
      let rng = prand.xoroshiro128plus(5);
      for (let trial = 0; trial < timeTrials; trial++) {
        const [ms, r] = prand.uniformIntDistribution(0, Math.max(1, msPerRun), rng);
        rng = r;
        const child = runChild(`kill-t${trial}`);
        const timer = setTimeout(() => child.kill(), ms);
        const run = await child.done;
        clearTimeout(timer);
        if (run.signal === null) expect(run.code, run.stderr).toBe(0);
        await expectCleanState();
      }
    },
    trialsTimeoutMs,
  );

  it(
    `SIGINT and SIGTERM at a seeded time restore before exiting 130 (${signalTrials} trials)`,
    async () => {
      let rng = prand.xoroshiro128plus(11);
      let interrupted = 0;
      for (let trial = 0; trial < signalTrials; trial++) {
        // Within the first 80 % of the interruptible window the baseline run had (timed from `ready`, not from the
        // process start, so a loaded machine does not push every signal past the end of the run).
        const [ms, r] = prand.uniformIntDistribution(0, Math.max(1, Math.floor(msAfterReady * 0.8)), rng);
        rng = r;
        const signal: NodeJS.Signals = trial % 2 === 0 ? 'SIGINT' : 'SIGTERM';
        const child = runChild(`kill-s${trial}`);
        // From when the child has its handlers (a signal before that ends Node by default, as for any program).
        await child.ready;
        const timer = setTimeout(() => child.kill(signal), ms);
        const run = await child.done;
        clearTimeout(timer);
        // Either the signal came in time (restore ran, exit 130) or the run had already finished (exit 0).
        expect([0, 130], run.stderr).toContain(run.code);
        if (run.code === 130) {
          interrupted++;
          const report = JSON.parse(run.stdout);
          expect(report.interrupted).toBe(signal);
          expect(report.errors).toEqual([]);
        }
        // Nothing left for cleanup: the interrupted run restored everything itself.
        expect(await cleanup({ kubeconfig: proxyKubeconfig })).toEqual([]);
        await expectCleanState();
      }
      expect(interrupted).toBeGreaterThan(0);
    },
    trialsTimeoutMs,
  );
});
