// `npm run bench:sandbox`: the sandbox cluster's numbers (issues 13, 14): start to ready once its binaries are built,
// the memory of its processes, how long a VirtualService applied through the real API server takes to reach a
// Bookinfo sidecar (meshproof's xDS client) and be ACKed, as istiod's sync status reports it, and the same apply on
// the local target with its built-in control plane (every proxy runs the new config), and the whole catalogue's wall
// time through the kube target on the sandbox (the local mesh playing its pods) against the local target's, in the same
// run. Writes bench/SANDBOX.md.
//   npm run bench:sandbox                 5 start-ups, 20 applies
//   npm run bench:sandbox -- --no-write   print only
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { sandboxSidecar } from '../src/sandbox/sidecar.ts';
import { SANDBOX_CONTEXT, sandboxFiles, type SandboxState } from '../src/sandbox/layout.ts';
import { recordedNames, rssMb, runningRecord } from '../src/sandbox/processes.ts';
import { describeMachine, loadAverage } from './machine.ts';
import { LocalTarget } from '../src/targets/local/index.ts';
import type { K8sObject } from '../src/spec/types.ts';
import { repoRoot } from './process.ts';
import { elementAt, must } from '../src/must.ts';

const STARTS = 5;
const APPLIES = 20;
const PORT_BASE = '26800';

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return elementAt(sorted, Math.min(sorted.length - 1, Math.floor(q * sorted.length)));
}

function script(name: string, env: NodeJS.ProcessEnv): string {
  return execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', name)], {
    env,
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 180_000,
  });
}

/** Polls every 5 ms (src/sandbox/processes.ts waitFor polls every 100 ms, too coarse for the apply row it times). */
async function until(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  const write = !process.argv.includes('--no-write');
  const starts: { readyS: number; rss: Record<string, number> }[] = [];
  const applies: number[] = [];
  const catalogue = { sandboxS: 0, localS: catalogueWallS([], process.env) };
  for (let i = 0; i < STARTS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'meshproof-bench-sandbox-'));
    const env = { ...process.env, MESHPROOF_SANDBOX: dir, MESHPROOF_SANDBOX_PORT_BASE: PORT_BASE };
    try {
      const output = script('sandbox-up.ts', env);
      const readyS = Number(/sandbox ready in (\d+(?:\.\d+)?) s/.exec(output)?.[1]);
      const files = sandboxFiles(dir);
      const rss = Object.fromEntries(
        recordedNames(files.pids).flatMap((name) => {
          const record = runningRecord(files.pids, name);
          const mb = record ? rssMb(record.pid) : undefined;
          return mb === undefined ? [] : [[name, mb]];
        }),
      );
      starts.push({ readyS, rss });
      console.error(`start ${i + 1}: ready in ${readyS} s, RSS ${JSON.stringify(rss)}`);
      if (i === 0) {
        // The catalogue first: the apply row leaves a VirtualService for reviews behind until sandbox-down.
        catalogue.sandboxS = catalogueWallS(['--target', 'kube', '--context', SANDBOX_CONTEXT], { ...env, KUBECONFIG: files.kubeconfig });
        applies.push(...(await applyToAck(JSON.parse(readFileSync(files.state, 'utf8')) as SandboxState)));
      }
    } finally {
      try {
        script('sandbox-down.ts', env);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const builtin = await localApplyToConverged('builtin');
  const localIstiod = await localApplyToConverged('istiod');
  const ready = starts.map((s) => s.readyS);
  const total = starts.map((s) => Object.values(s.rss).reduce((a, b) => a + b, 0));
  const names = Object.keys(must(starts[0], 'a sandbox start').rss).sort();
  const rssOf = (n: string) => starts.map((s) => must(s.rss[n], `the RSS of ${n}`));
  const rows = [
    [
      'sandbox start to ready (built binaries)',
      `${percentile(ready, 0.5).toFixed(1)} s`,
      `${Math.min(...ready).toFixed(1)}–${Math.max(...ready).toFixed(1)} s`,
      '< 15 s',
    ],
    ...names.map((n) => [`RSS ${n} after start`, `${percentile(rssOf(n), 0.5)} MB`, `${Math.min(...rssOf(n))}–${Math.max(...rssOf(n))} MB`, '']),
    ['RSS of all sandbox processes', `${percentile(total, 0.5)} MB`, `${Math.min(...total)}–${Math.max(...total)} MB`, '< 1,000 MB'],
    [
      'VirtualService applied → sidecar routes changed and ACKed (istiod)',
      `${percentile(applies, 0.5)} ms`,
      `p90 ${percentile(applies, 0.9)} ms, max ${Math.max(...applies)} ms (${applies.length} applies)`,
      'p50 < 1,000 ms',
    ],
    [
      'VirtualService applied → every local proxy runs it (built-in)',
      `${percentile(builtin, 0.5)} ms`,
      `p90 ${percentile(builtin, 0.9)} ms, max ${Math.max(...builtin)} ms (${builtin.length} applies)`,
      '',
    ],
    [
      'VirtualService applied → every local proxy runs it (--control-plane istiod: validation and generation by the pinned istiod)',
      `${percentile(localIstiod, 0.5)} ms`,
      `p90 ${percentile(localIstiod, 0.9)} ms, max ${Math.max(...localIstiod)} ms (${localIstiod.length} applies)`,
      'p50 < 1,000 ms',
    ],
    ['the catalogue (30 experiments), kube target on the sandbox: wall time', `${catalogue.sandboxS.toFixed(1)} s`, '', ''],
    [
      'the catalogue, local target (built-in control plane), same run: wall time',
      `${catalogue.localS.toFixed(1)} s`,
      `sandbox / local ${(catalogue.sandboxS / catalogue.localS).toFixed(1)}×`,
      '',
    ],
    ['istiod / built-in, apply to converged (median)', `${(percentile(applies, 0.5) / Math.max(1, percentile(builtin, 0.5))).toFixed(1)}×`, '', ''],
  ];
  const table = ['| row | median | spread | aim |', '|---|---:|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const doc = `# Sandbox benchmarks\n\nMeasured by \`npm run bench:sandbox\` (${STARTS} start-ups; ${APPLIES} VirtualService applies on the first) on ${new Date().toISOString().slice(0, 16)}Z: ${machineLine()}.\n\n${table}\n\nThe apply row times a create or update of a VirtualService (reviews → subset v1/v2, alternating) through the real\nkube-apiserver until the productpage sidecar, played by meshproof's xDS client, has the new route and istiod's\n\`/debug/syncz\` shows that route version ACKed; the built-in row applies the same VirtualService to the local target\nuntil every local proxy reports the new config version (its waitConverged); under \`--control-plane istiod\` that includes\nistiod's validating webhook and its config generation for every local proxy (tools/istio-translate).\n`;
  console.log(table);
  if (write) writeFileSync(join(repoRoot, 'bench', 'SANDBOX.md'), doc);
}

/** Seconds `meshproof run experiments/bookinfo <args>` takes end to end; it must pass. */
function catalogueWallS(args: string[], env: NodeJS.ProcessEnv): number {
  const reports = mkdtempSync(join(tmpdir(), 'meshproof-bench-catalogue-'));
  const started = Date.now();
  try {
    execFileSync(process.execPath, [join(repoRoot, 'bin', 'meshproof.js'), 'run', 'experiments/bookinfo', ...args, '--quiet', '--report-dir', reports], {
      env,
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 900_000,
    });
    return (Date.now() - started) / 1000;
  } finally {
    rmSync(reports, { recursive: true, force: true });
  }
}

/** Milliseconds from each local-target apply of the same VirtualService to every local proxy running it. */
async function localApplyToConverged(controlPlane: 'builtin' | 'istiod'): Promise<number[]> {
  const target = new LocalTarget({ scenario: 'bookinfo', seed: 1, controlPlane });
  await target.prepare();
  const dr: K8sObject = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'bench', namespace: 'default' },
    spec: { host: 'reviews', subsets: ['v1', 'v2'].map((v) => ({ name: v, labels: { version: v } })) },
  };
  const times: number[] = [];
  try {
    await target.apply([dr], 'bench');
    await target.waitConverged(30_000);
    for (let i = 0; i < APPLIES; i++) {
      const subset = i % 2 === 0 ? 'v2' : 'v1';
      const vs: K8sObject = {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'bench', namespace: 'default' },
        spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset } }] }] },
      };
      const started = Date.now();
      await target.apply([vs], 'bench');
      await target.waitConverged(30_000);
      times.push(Date.now() - started);
    }
  } finally {
    await target.restore();
    await target.close();
  }
  return times;
}

function machineLine(): string {
  const m = describeMachine();
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}, Node ${m.node}, load average ${loadAverage().toFixed(2)}`;
}

/** Milliseconds from each VirtualService write to the sidecar's ACK of the changed route. */
async function applyToAck(state: SandboxState): Promise<number[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  kc.setCurrentContext(SANDBOX_CONTEXT);
  const pod = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default', labelSelector: 'app=productpage' })).items[0];
  if (!pod) throw new Error('the sandbox has no productpage pod');
  const podName = must(pod.metadata?.name, "the productpage pod's name");
  const sidecar = sandboxSidecar(pod, `127.0.0.1:${state.ports.istiodGrpc}`);
  const client = sidecar.client;
  const api = kc.makeApiClient(CustomObjectsApi);
  const target = (plural: string) => ({ group: 'networking.istio.io', version: 'v1', namespace: 'default', plural });
  const syncz = async () =>
    ((await (await fetch(`http://127.0.0.1:${state.ports.istiodMonitoring}/debug/syncz`)).json()) as Record<string, string>[]).find(
      (s) => s.proxy === `${podName}.default`,
    );
  const times: number[] = [];
  try {
    await sidecar.synced();
    await api.createNamespacedCustomObject({
      ...target('destinationrules'),
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'bench' },
        spec: { host: 'reviews', subsets: ['v1', 'v2'].map((v) => ({ name: v, labels: { version: v } })) },
      },
    });
    for (let i = 0; i < APPLIES; i++) {
      const subset = i % 2 === 0 ? 'v2' : 'v1';
      const routes = () =>
        client
          .config()
          .routes.flatMap((r) => r.virtual_hosts ?? [])
          .filter((vh) => vh.domains.some((d) => d.startsWith('reviews.default.svc.cluster.local')))
          .some((vh) => (vh.routes ?? []).some((route) => route.route?.cluster === `outbound|9080|${subset}|reviews.default.svc.cluster.local`));
      const body = {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'bench' },
        spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset } }] }] },
      };
      const started = Date.now();
      if (i === 0) await api.createNamespacedCustomObject({ ...target('virtualservices'), body });
      else {
        const live = (await api.getNamespacedCustomObject({ ...target('virtualservices'), name: 'bench' })) as { metadata: { resourceVersion: string } };
        await api.replaceNamespacedCustomObject({
          ...target('virtualservices'),
          name: 'bench',
          body: { ...body, metadata: { name: 'bench', resourceVersion: live.metadata.resourceVersion } },
        });
      }
      await until(routes, 20_000, `routes to ${subset}`);
      await until(
        async () => {
          const s = await syncz();
          return s !== undefined && s.route_acked === s.route_sent;
        },
        20_000,
        'syncz ACK',
      );
      times.push(Date.now() - started);
      await new Promise((r) => setTimeout(r, 200)); // let istiod's debounce settle between applies
    }
  } finally {
    sidecar.close();
  }
  return times;
}

await main();
