// --deploy-echo against the real sandbox (issue #19: "or deploys echo workloads into a test namespace when asked"):
// sandbox-up with Bookinfo, then two of examples/two-services' experiments through `meshproof run --target kube
// --deploy-echo`. meshproof makes the test namespace, the real API server takes the folder's objects moved into it,
// the sandbox's pods process writes and plays the new Deployments' pods (src/sandbox/deployment-player.ts: no
// Deployment controller, scheduler or injector runs), the experiments run there, and the namespace is deleted —
// emptied by the real kube-controller-manager. The answers must come from the echo pods of the test namespace: the
// echo's pod name in its body, its namespace in its x-echo-namespace header.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApi } from '../../src/targets/kube/api.ts';
import { runSandboxScript } from '../../src/sandbox/scripts.ts';
import { SANDBOX_CONTEXT, SANDBOX_PORT_COUNT, sandboxFiles } from '../../src/sandbox/layout.ts';
import { listeningOn } from '../../src/sandbox/sockets.ts';
import { runCli } from '../catalogue/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = resolve(import.meta.dirname, '../..');
const stateDir = tempDir('meshproof-sandbox-deploy-echo-');
// Its own port base: neither a hand-run sandbox (16400) nor the other sandbox tests (26400, 27000, 27800, 28400).
const portBase = 29000;
const env = { ...process.env, MESHPROOF_SANDBOX: stateDir, MESHPROOF_SANDBOX_PORT_BASE: String(portBase) };
const files = sandboxFiles(stateDir);
const reportDir = join(stateDir, 'reports');
const experimentsDir = join(stateDir, 'experiments');
const scenario = join(root, 'examples/two-services/scenario');

interface Group {
  labels: Record<string, string>;
  count: number;
}
interface ResultJson {
  exitCode: number;
  target: { description: string };
  experiments: { name: string; outcome: string; observation: { groups: Group[] } }[];
}

let run: { code: number; output: string };
let result: ResultJson;
let namespace: string;
let api: KubeApi;

/** The example's experiment, its scenario named by absolute path; the split also reads the echo's namespace header. */
function copyExperiment(file: string, classifiers?: string): void {
  let text = readFileSync(join(root, 'examples/two-services/experiments', file), 'utf8').replace('scenario: ../scenario', `scenario: ${scenario}`);
  if (classifiers) text = text.replace('  load:\n', `  load:\n    classifiers: ${classifiers}\n`);
  writeFileSync(join(experimentsDir, file), text);
}

beforeAll(async () => {
  const busy = listeningOn(Array.from({ length: SANDBOX_PORT_COUNT }, (_, i) => portBase + i));
  if (busy.length > 0) throw new Error(`ports ${busy.join(', ')} are already in use: this test needs ${portBase}-${portBase + SANDBOX_PORT_COUNT - 1}`);
  const up = await runSandboxScript('sandbox-up.ts', env);
  if (up.code !== 0) throw new Error(`sandbox-up failed (exit ${up.code}):\n${up.output}`);
  mkdirSync(experimentsDir, { recursive: true });
  copyExperiment('01-backend-split-80-20.yaml', '[status, envoy, echo, "header:x-echo-namespace=namespace"]');
  copyExperiment('04-deny-backend.yaml');
  const cli = await runCli(['run', experimentsDir, '--target', 'kube', '--context', SANDBOX_CONTEXT, '--deploy-echo', '--report-dir', reportDir], {
    env: { ...env, KUBECONFIG: files.kubeconfig },
    timeoutMs: 300_000,
  });
  run = { code: cli.code ?? 1, output: `${cli.stdout}${cli.stderr}` };
  if (!existsSync(join(reportDir, 'result.json'))) throw new Error(`the run wrote no result.json (exit ${run.code}):\n${run.output}`);
  result = JSON.parse(readFileSync(join(reportDir, 'result.json'), 'utf8')) as ResultJson;
  namespace = /test namespace (meshproof-echo-[a-z0-9]{4}) created/.exec(run.output)?.[1] ?? '';
  const kc = new KubeConfig();
  kc.loadFromFile(files.kubeconfig);
  kc.setCurrentContext(SANDBOX_CONTEXT);
  api = new KubeApi(kc);
}, 480_000);

/** A run of the split alone into `namespace`, stopped by `signal` as soon as it says it created its test namespace. */
function runStoppedAt(signal: NodeJS.Signals, namespace: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [
        join(root, 'bin', 'meshproof.js'),
        'run',
        join(experimentsDir, '01-backend-split-80-20.yaml'),
        '--target',
        'kube',
        '--context',
        SANDBOX_CONTEXT,
        '--deploy-echo',
        '--echo-namespace',
        namespace,
        '--report-dir',
        join(stateDir, `reports-${namespace}`),
      ],
      { env: { ...env, KUBECONFIG: files.kubeconfig, NO_COLOR: '1' }, cwd: root },
    );
    let output = '';
    let sent = false;
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (!sent && output.includes(`test namespace ${namespace} created`)) {
        sent = true;
        child.kill(signal);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => done({ code, output }));
  });
}

async function gone(namespace: string): Promise<boolean> {
  for (let i = 0; i < 120; i++) {
    if (!(await api.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace }))) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

afterAll(async () => {
  await runSandboxScript('sandbox-down.ts', env);
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('sandbox-up (Bookinfo), then examples/two-services through --target kube --deploy-echo', () => {
  it('both experiments pass, exit 0, and the progress named the test namespace and its workloads', () => {
    expect(run.code, run.output).toBe(0);
    expect(result.experiments.map((e) => [e.name, e.outcome])).toEqual([
      ['backend-split-80-20', 'pass'],
      ['deny-backend', 'pass'],
    ]);
    expect(namespace, run.output).not.toBe('');
    expect(run.output).toContain(`echo workloads in ${namespace}: frontend-v1 1/1, backend-v1 1/1, backend-v2 1/1`);
    expect(result.target.description).toContain(`echo workloads in the test namespace ${namespace}`);
  });

  it("the answers came from the echo pods of the test namespace: frontend's pod, both backend versions", () => {
    const groups = result.experiments.find((e) => e.name === 'backend-split-80-20')?.observation.groups ?? [];
    expect(new Set(groups.map((g) => g.labels.namespace))).toEqual(new Set([namespace]));
    expect(new Set(groups.map((g) => g.labels.pod))).toEqual(new Set(['frontend-v1-sandbox-0']));
    expect(new Set(groups.map((g) => g.labels['backend.version']))).toEqual(new Set(['v1', 'v2']));
    const denied = result.experiments.find((e) => e.name === 'deny-backend')?.observation.groups ?? [];
    expect(new Set(denied.map((g) => g.labels['backend.status']))).toEqual(new Set(['403']));
  });

  it('the test namespace is gone afterwards, and the sandbox plays none of its pods any more', async () => {
    expect(await api.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace })).toBeUndefined();
    const status = (await (await fetch(`http://127.0.0.1:${portBase + 9}/status`)).json()) as {
      deployments: Record<string, string[]>;
      mesh: { proxies: { namespace: string }[] };
    };
    expect(status.deployments).toEqual({});
    expect(status.mesh.proxies.filter((p) => p.namespace === namespace)).toEqual([]);
  });
});

describe('--deploy-echo interrupted: the test namespace never outlives the run', () => {
  it('Ctrl-C (SIGINT) while it deploys: the run deletes the namespace itself and exits 130', async () => {
    const stopped = await runStoppedAt('SIGINT', 'meshproof-echo-int');
    expect(stopped.code, stopped.output).toBe(130);
    expect(stopped.output).toContain('test namespace meshproof-echo-int deleted');
    expect(await api.get({ apiVersion: 'v1', kind: 'Namespace', name: 'meshproof-echo-int' })).toBeUndefined();
  }, 180_000);

  it('killed outright (SIGKILL): the namespace stays, and `meshproof cleanup` deletes it', async () => {
    const killed = await runStoppedAt('SIGKILL', 'meshproof-echo-kill');
    expect(killed.code, killed.output).toBeNull();
    const left = await api.get({ apiVersion: 'v1', kind: 'Namespace', name: 'meshproof-echo-kill' });
    expect(left?.metadata.labels?.['meshproof.dev/echo-run']).toMatch(/^mp-/);
    const cli = await runCli(['cleanup', '--context', SANDBOX_CONTEXT], { env: { ...env, KUBECONFIG: files.kubeconfig }, timeoutMs: 120_000 });
    const cleanup = { code: cli.code, output: `${cli.stdout}${cli.stderr}` };
    expect(cleanup.code, cleanup.output).toBe(0);
    expect(cleanup.output).toMatch(/deleted +Namespace.*meshproof-echo-kill \(the test namespace of run mp-/);
    // The namespace controller empties it (the pods process deletes the pods it played) and removes it.
    expect(await gone('meshproof-echo-kill')).toBe(true);
  }, 180_000);
});
