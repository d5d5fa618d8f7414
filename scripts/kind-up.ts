#!/usr/bin/env -S npx tsx
// A kind cluster with Istio and Bookinfo, ready for `meshproof run --target kube --context kind-meshproof`.
// Idempotent: on an existing cluster it starts a stopped node, re-applies Istio and Bookinfo, restarts workloads that
// lack a sidecar, and waits again.
//   npx tsx scripts/kind-up.ts               create or repair, then print the URL
//   npx tsx scripts/kind-up.ts --dry-run     print the kind config, the IstioOperator and every command, run nothing
// Options: --name meshproof  --port 8080 (loopback port of the gateway)  --istioctl <path>  --istio-tag 1.28.3
//          --force (use an istioctl of another minor version than the Istio it installs)
import { execFile } from 'node:child_process';
import { $, argv, echo, fs, os, path, which } from 'zx';
import { pinnedIstioctlPath } from '../src/targets/kube/istioctl.ts';
import {
  checkIstioctl,
  contextOf,
  istioctlCandidates,
  pickIstioctl,
  defaultKindSetup,
  hostUrl,
  istioOperator,
  kindConfig,
  parseIstioctlVersion,
  toolHints,
  type KindSetup,
} from '../src/targets/kube/kind.ts';
import { hasSidecar, type Pod } from '../src/targets/kube/pods.ts';
import { scenarioWorkloads } from '../src/targets/kube/scenario.ts';

const root = path.resolve(import.meta.dirname, '..');
const dryRun = Boolean(argv['dry-run']);
const setup: KindSetup = {
  ...defaultKindSetup,
  name: String(argv.name ?? defaultKindSetup.name),
  hostPort: Number(argv.port ?? defaultKindSetup.hostPort),
  istioTag: String(argv['istio-tag'] ?? defaultKindSetup.istioTag),
  scenarioDir: path.relative(process.cwd(), path.join(root, 'scenarios', 'bookinfo')) || '.',
};
if (!Number.isInteger(setup.hostPort) || setup.hostPort < 1 || setup.hostPort > 65535) {
  echo(`--port must be a TCP port (1-65535), got ${argv.port}`);
  process.exit(2);
}
const context = contextOf(setup);
const node = `${setup.name}-control-plane`;
const workDir = path.join(os.tmpdir(), `meshproof-kind-up-${setup.name}`);
const kindConfigFile = path.join(workDir, 'kind-config.yaml');
const operatorFile = path.join(workDir, 'istio-operator.yaml');
const deployments = scenarioWorkloads('bookinfo').map((w) => w.name);
const kubectl = ['kubectl', '--context', context];

/**
 * --istioctl or MESHPROOF_ISTIOCTL as given; else the first istioctl of the Istio minor kind-up installs among PATH,
 * downloadIstio's istio-<version>/bin folders (here and in the home directory) and the pinned source build; else the
 * first one found, which the version check then refuses, saying how to get the right one.
 */
async function findIstioctl(): Promise<string | undefined> {
  const given = (argv.istioctl as string | undefined) ?? process.env.MESHPROOF_ISTIOCTL;
  if (given) return given;
  const onPath = (await which('istioctl', { nothrow: true })) ?? undefined;
  const candidates = istioctlCandidates({
    ...(onPath ? { onPath } : {}),
    cwd: process.cwd(),
    home: os.homedir(),
    ...(fs.existsSync(pinnedIstioctlPath()) ? { pinned: pinnedIstioctlPath() } : {}),
    dirs: (folder) => (fs.existsSync(folder) ? fs.readdirSync(folder) : []),
  }).filter((c) => fs.existsSync(c));
  const versions = new Map<string, string | undefined>();
  for (const c of candidates) versions.set(c, (await istioctlVersionOf(c)).version);
  return pickIstioctl(candidates, versions, setup.istioTag);
}

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
const show = (args: string[]) => `$ ${args.map(quote).join(' ')}`;

async function step(args: string[]): Promise<void> {
  echo(show(args));
  if (!dryRun) await $({ stdio: 'inherit' })`${args}`;
}

async function output(args: string[]): Promise<string> {
  return (await $({ quiet: true, nothrow: true })`${args}`).stdout.trim();
}

/** istioctl's own version (`version --remote=false`: no cluster needed), or why it cannot be told. */
function istioctlVersionOf(binary: string): Promise<{ version?: string; problem?: string }> {
  return new Promise((resolve) =>
    execFile(binary, ['version', '--remote=false', '-o', 'json'], { timeout: 30_000 }, (error, stdout, stderr) => {
      const version = parseIstioctlVersion(String(stdout));
      if (version) return resolve({ version });
      resolve({
        problem: error
          ? (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'not found'
            : String(stderr).trim().split('\n')[0] || error.message
          : 'no version in its output',
      });
    }),
  );
}

const istioctl = (await findIstioctl()) ?? 'istioctl';
const istioctlArgs = [istioctl, 'install', '--context', context, '-y', '-f', operatorFile];
const force = Boolean(argv.force);

if (dryRun) {
  const { version, problem } = await istioctlVersionOf(istioctl);
  const check = checkIstioctl(istioctl, version, setup.istioTag, problem);
  echo(`# kind-up plan (dry run: nothing is run). Cluster "${setup.name}", context ${context}, Istio ${setup.istioTag}.`);
  echo(`# ${check.note}${check.ok ? '' : force ? ' (--force given: a real run would go on)' : ''}`);
  echo(`# 1. kind cluster: unless \`kind get clusters\` lists ${setup.name} (then its node is started if stopped), with ${kindConfigFile}:`);
  echo(kindConfig(setup).trimEnd());
  echo(show(['kind', 'create', 'cluster', '--name', setup.name, '--config', kindConfigFile, '--wait', '120s']));
  echo(show([...kubectl, 'wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=120s']));
  echo(`# 2. Istio, with ${operatorFile}:`);
  echo(istioOperator(setup).trimEnd());
  echo(show(istioctlArgs));
  echo(`# 3. Bookinfo with sidecars:`);
  echo(show([...kubectl, 'label', 'namespace', setup.namespace, 'istio-injection=enabled', '--overwrite']));
  echo(show([...kubectl, '-n', setup.namespace, 'apply', '-k', setup.scenarioDir]));
  echo(`# only for Deployments whose pods have no istio-proxy sidecar (created before injection was on):`);
  echo(show([...kubectl, '-n', setup.namespace, 'rollout', 'restart', 'deployment/<name>']));
  for (const d of deployments) echo(show([...kubectl, '-n', setup.namespace, 'rollout', 'status', `deployment/${d}`, '--timeout=300s']));
  echo(`# 4. wait until ${hostUrl(setup)}/productpage answers 200, then print the URL`);
  process.exit(0);
}

// ---- tools ------------------------------------------------------------------------------------------------------
const missing: string[] = [];
for (const tool of ['docker', 'kind', 'kubectl']) if (!(await which(tool, { nothrow: true }))) missing.push(tool);
if (istioctl === 'istioctl') missing.push('istioctl');
if (missing.length > 0) {
  echo(`kind-up needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed:`);
  for (const tool of missing) echo(`  - ${tool}: ${toolHints[tool]}`);
  process.exit(1);
}
{
  const { version, problem } = await istioctlVersionOf(istioctl);
  const check = checkIstioctl(istioctl, version, setup.istioTag, problem);
  if (!check.ok && !force) {
    echo(check.note);
    process.exit(1);
  }
  echo(check.ok ? check.note : `warning (--force): ${check.note}`);
}
const dockerInfo = await $({ quiet: true, nothrow: true })`docker info --format {{.ServerVersion}}`;
if (dockerInfo.exitCode !== 0) {
  echo(
    `docker is installed but its daemon does not answer (\`docker info\`: ${dockerInfo.stderr.trim().split('\n')[0]}). Start it (e.g. \`sudo systemctl start docker\`) and re-run.`,
  );
  process.exit(1);
}

// ---- 1. cluster -------------------------------------------------------------------------------------------------
const clusters = (await output(['kind', 'get', 'clusters'])).split('\n');
if (clusters.includes(setup.name)) {
  echo(`kind cluster ${setup.name} exists: repairing and continuing`);
  if ((await output(['docker', 'inspect', '-f', '{{.State.Running}}', node])) !== 'true') await step(['docker', 'start', node]);
  const mapped = /:(\d+)\s*$/.exec((await output(['docker', 'port', node, `${setup.nodePort}/tcp`])).split('\n')[0] ?? '')?.[1];
  if (!mapped) {
    echo(
      `cluster ${setup.name} was not created by kind-up (no host port for NodePort ${setup.nodePort}); delete it with \`npx tsx scripts/kind-down.ts --name ${setup.name}\` and re-run.`,
    );
    process.exit(1);
  }
  if (Number(mapped) !== setup.hostPort) {
    echo(`note: cluster ${setup.name} maps the gateway to port ${mapped} (not ${setup.hostPort}); using ${mapped}`);
    setup.hostPort = Number(mapped);
  }
}
await fs.mkdirp(workDir);
await fs.writeFile(kindConfigFile, kindConfig(setup));
await fs.writeFile(operatorFile, istioOperator(setup));
if (!clusters.includes(setup.name)) await step(['kind', 'create', 'cluster', '--name', setup.name, '--config', kindConfigFile, '--wait', '120s']);
await step([...kubectl, 'wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=120s']);

// ---- 2. Istio ---------------------------------------------------------------------------------------------------
await step(istioctlArgs);

// ---- 3. Bookinfo ------------------------------------------------------------------------------------------------
await step([...kubectl, 'label', 'namespace', setup.namespace, 'istio-injection=enabled', '--overwrite']);
await step([...kubectl, '-n', setup.namespace, 'apply', '-k', setup.scenarioDir]);
type OwnedPod = Pod & { metadata: { ownerReferences?: { kind: string; name: string }[] } };
/** Scenario Deployments with a pod that has no sidecar (a ReplicaSet is named <deployment>-<hash>). */
async function deploymentsWithoutSidecar(): Promise<string[]> {
  const pods = JSON.parse(await output([...kubectl, '-n', setup.namespace, 'get', 'pods', '-o', 'json'])) as { items: OwnedPod[] };
  const found = new Set<string>();
  for (const pod of pods.items) {
    const owner = pod.metadata.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.name.replace(/-[^-]+$/, '');
    if (owner && deployments.includes(owner) && !hasSidecar(pod)) found.add(owner);
  }
  return [...found];
}
for (const d of await deploymentsWithoutSidecar()) await step([...kubectl, '-n', setup.namespace, 'rollout', 'restart', `deployment/${d}`]);
for (const d of deployments) await step([...kubectl, '-n', setup.namespace, 'rollout', 'status', `deployment/${d}`, '--timeout=300s']);
const bare = await deploymentsWithoutSidecar();
if (bare.length > 0) {
  echo(
    `still without an istio-proxy sidecar after the rollout: ${bare.join(', ')}. Is the injector running (\`kubectl --context ${context} -n istio-system get pods\`)?`,
  );
  process.exit(1);
}

// ---- 4. URL -----------------------------------------------------------------------------------------------------
const url = hostUrl(setup);
echo(`waiting for ${url}/productpage`);
const deadline = Date.now() + 180_000;
let last = '';
for (;;) {
  try {
    const res = await fetch(`${url}/productpage`, { signal: AbortSignal.timeout(5000) });
    if (res.status === 200) break;
    last = `HTTP ${res.status}`;
  } catch (error) {
    last = (error as Error).message;
  }
  if (Date.now() > deadline) {
    echo(`${url}/productpage did not answer 200 within 180 s (last: ${last})`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 2000));
}
echo(`Bookinfo is up: ${url}/productpage (Istio ${setup.istioTag}, context ${context})`);
echo(`run: node bin/meshproof.js run experiments/bookinfo --target kube --context ${context}`);
echo(url);
