#!/usr/bin/env -S npx tsx
// A Kubernetes cluster without containers, on loopback: etcd, kube-apiserver, kube-controller-manager (EndpointSlices,
// Endpoints, ServiceAccounts, kube-root-ca.crt, namespace deletion) and istiod (pilot-discovery) as shipped, a node
// played by kwok (its kubelet port-forward code, so pods/portforward works), the Istio CRDs and Bookinfo applied, Pods
// bound to the node as a scheduler would and their status written in place of a kubelet; the local mesh plays the pods (src/sandbox/pods-main.ts: each proxy an xDS client of
// istiod) and carries the API server's egress (port-forward, pods/proxy, services/proxy) to them on loopback.
// Idempotent: processes that already run are kept, objects are re-applied, pods' status rewritten.
//   npx tsx scripts/sandbox-up.ts             start or repair, then print the kubeconfig and the context
//   npx tsx scripts/sandbox-up.ts --scenario examples/two-services/scenario
//                                             a scenario folder instead of Bookinfo (docs/scenarios.md): its objects
//                                             applied as `kubectl apply -k` (or `-f`) would, its Deployments' pods
//                                             played as the local target runs them (echo workloads, Bookinfo's apps)
//   npx tsx scripts/sandbox-up.ts --dry-run   print the processes and the steps, run nothing
// Options: --port-base 16400 (twelve loopback ports from it; or MESHPROOF_SANDBOX_PORT_BASE); --no-mesh: the pods are not
// played (for tests that play the proxies' xDS clients themselves; the egress still runs).
// State (certificates, etcd data, logs, pids, kubeconfig): ${MESHPROOF_SANDBOX:-~/.cache/meshproof/sandbox}.
import { $, argv, echo, fs, path } from 'zx';
import { compiledEntry, ensureCompiled } from '../bin/compiled.js';
import {
  etcdPath,
  istioCrdsPath,
  kubeApiserverPath,
  kubeControllerManagerPath,
  kubectlPath,
  kwokPath,
  kwokPortForwardCrdPath,
  pinnedIstiodPath,
  sandboxBinaries,
  KUBERNETES_VERSION,
} from '../src/sandbox/binaries.ts';
import { binding, kwokArgs, kwokConfig, portForward, sandboxNode } from '../src/sandbox/kwok.ts';
import { apiGet, httpStatus } from '../src/sandbox/https.ts';
import {
  DEFAULT_PORT_BASE,
  SANDBOX_CONTEXT,
  SANDBOX_NODE,
  SANDBOX_PORT_COUNT,
  SERVICE_CIDR,
  gatewayHostUrl,
  portsFrom,
  sandboxFiles,
  type SandboxState,
} from '../src/sandbox/layout.ts';
import {
  asInjected,
  deploymentWorkloads,
  endpointSlices,
  FIELD_MANAGER,
  istioConfigMap,
  istioSystemObjects,
  scenarioMeshConfig,
  istioWorkloads,
  plannedPods,
  readyStatus,
  type KubeObject,
} from '../src/sandbox/objects.ts';
import { ensurePki, kubeconfigYaml, pkiPaths } from '../src/sandbox/pki.ts';
import { CONTROLLER_MANAGER_CONTEXT, controllerManagerArgs, endpointSlicesPending } from '../src/sandbox/controller-manager.ts';
import { egressSelectorConfig } from '../src/sandbox/egress.ts';
import { listeningOn } from '../src/sandbox/sockets.ts';
import { runningRecord, rssMb, startDetached, waitFor, type ProcessRecord } from '../src/sandbox/processes.ts';
import { sandboxScenario } from '../src/sandbox/scenario.ts';
import { KubeApi } from '../src/targets/kube/api.ts';
import type { K8sObject } from '../src/spec/types.ts';

const started = Date.now();
const root = path.resolve(import.meta.dirname, '..');
let scenario;
try {
  scenario = sandboxScenario(argv.scenario === undefined ? undefined : String(argv.scenario));
} catch (error) {
  echo(`--scenario: ${(error as Error).message}`);
  process.exit(2);
}
const scenarioDir = scenario.dir;
const scenarioMesh = scenarioMeshConfig(scenario.objects);
const dryRun = Boolean(argv['dry-run']);
// The API client takes about a second to load (more through tsx): a dry run does without it, and a real run loads it
// while etcd and kube-apiserver start.
const clientNode = dryRun ? undefined : import('@kubernetes/client-node');
const noMesh = argv.mesh === false;
const portBase = Number(argv['port-base'] ?? process.env.MESHPROOF_SANDBOX_PORT_BASE ?? DEFAULT_PORT_BASE);
let ports;
try {
  ports = portsFrom(portBase);
} catch (error) {
  echo(`--port-base: ${(error as Error).message}`);
  process.exit(2);
}
const files = sandboxFiles();
const server = `https://127.0.0.1:${ports.apiserver}`;
// The first address of the service range goes to the `kubernetes` Service; the serving certificate names it.
const kubernetesServiceIp = SERVICE_CIDR.replace(/\.0\/\d+$/, '.1');
const p = pkiPaths(files.pki);

const etcdArgs = [
  '--name=sandbox',
  `--data-dir=${files.etcdData}`,
  `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
  `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
  `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
  `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
  `--initial-cluster=sandbox=http://127.0.0.1:${ports.etcdPeer}`,
  // A throw-away test cluster: no fsync (etcd's own flag; data may be lost on a machine crash, never on a kill).
  '--unsafe-no-fsync',
];
const apiserverArgs = [
  `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
  '--bind-address=127.0.0.1',
  '--advertise-address=127.0.0.1',
  `--secure-port=${ports.apiserver}`,
  `--tls-cert-file=${p.servingCert}`,
  `--tls-private-key-file=${p.servingKey}`,
  `--client-ca-file=${p.caCert}`,
  `--token-auth-file=${p.tokenFile}`,
  `--service-account-key-file=${p.serviceAccountPub}`,
  `--service-account-signing-key-file=${p.serviceAccountKey}`,
  '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
  '--authorization-mode=Node,RBAC',
  // No kubelet, so no node publishes the API server's address: the `kubernetes` Endpoints are not reconciled.
  '--endpoint-reconciler-type=none',
  `--service-cluster-ip-range=${SERVICE_CIDR}`,
  '--allow-privileged=true',
  '--profiling=false',
  // The `cluster` egress (kubelet, pods/proxy, services/proxy) goes to the pods process on a unix socket (egress.ts).
  `--egress-selector-config-file=${files.egressConfig}`,
];
const kcmArgs = controllerManagerArgs({
  kubeconfig: files.controllerManagerKubeconfig,
  port: ports.controllerManager,
  cert: p.controllerManagerCert,
  key: p.controllerManagerKey,
  rootCa: p.caCert,
});
const istiodArgs = [
  'discovery',
  `--kubeconfig=${files.kubeconfig}`,
  '--clusterID=Kubernetes',
  `--grpcAddr=127.0.0.1:${ports.istiodGrpc}`,
  `--secureGRPCAddr=127.0.0.1:${ports.istiodSecureGrpc}`,
  `--httpAddr=127.0.0.1:${ports.istiodHttp}`,
  `--monitoringAddr=127.0.0.1:${ports.istiodMonitoring}`,
  '--httpsAddr=',
  '--ctrlz_address=127.0.0.1',
  `--ctrlz_port=${ports.istiodCtrlz}`,
  // A path that does not exist: istiod then reads the mesh config from the `istio` ConfigMap.
  `--meshConfig=${files.meshConfigMissing}`,
];
const kwokProcessArgs = kwokArgs(files.kubeconfig, files.kwokConfig, ports);
// The pods process: from the bundle of the sources (bin/compiled.js: it loads in a third of tsx's CPU), else tsx by
// its resolved URL, so it starts from any working directory. A dry run makes no bundle.
const podsFlags = [`--scenario=${scenario.ref}`, ...(noMesh ? ['--no-mesh'] : []), '--play-when-told'];
const podsSource = 'src/sandbox/pods-main.ts';
const podsCompiled = dryRun ? compiledEntry(podsSource) : await ensureCompiled(podsSource);
const podsArgs = [...(podsCompiled ? [podsCompiled] : ['--import', import.meta.resolve('tsx'), path.join(root, podsSource)]), ...podsFlags];
const kwokCrd = kwokPortForwardCrdPath();
// istiod's pod ports lead to the istiod process on loopback (its Service and container ports, istio-system objects).
const istiodForwards = portForward('istio-system', 'istiod-sandbox-0', [
  { port: 15010, targetPort: ports.istiodGrpc },
  { port: 15012, targetPort: ports.istiodSecureGrpc },
  { port: 15014, targetPort: ports.istiodMonitoring },
  { port: 8080, targetPort: ports.istiodHttp },
  { port: 9876, targetPort: ports.istiodCtrlz },
]);
const istiodEnv = { ...process.env, POD_NAMESPACE: 'istio-system', POD_NAME: 'istiod-sandbox-0', KUBECONFIG: files.kubeconfig };
// Its discovery cache stays in the state folder, not in ~/.kube/cache.
const kubectl = [kubectlPath(), '--kubeconfig', files.kubeconfig, '--context', SANDBOX_CONTEXT, `--cache-dir=${path.join(files.dir, 'kubectl-cache')}`];
const crds = istioCrdsPath();

// `kubectl apply -k` for a kustomization, else `-f` on the folder; objects that name no namespace go to the context's
// (`default`: the sandbox's kubeconfig names none).
const applyScenario = (dir: string) => [...kubectl, 'apply', scenario.kustomization ? '-k' : '-f', dir];

const quote = (arg: string) => (/^[\w@%+=:,./-]*$/.test(arg) && arg !== '' ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
const show = (args: string[]) => `$ ${args.map(quote).join(' ')}`;
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

if (dryRun) {
  echo(`# sandbox-up plan (dry run: nothing is run). State ${files.dir}, context ${SANDBOX_CONTEXT}, server ${server}.`);
  for (const b of sandboxBinaries()) echo(`# ${b.name}: ${fs.existsSync(b.path) ? b.path : `missing (${b.build})`}`);
  echo(`# Istio CRDs: ${fs.existsSync(crds) ? crds : `missing (${crds}; npx tsx scripts/istioctl-build.ts downloads the module)`}`);
  echo(`# 1. certificates, service-account keys and a static admin token in ${files.pki} (openssl), unless present`);
  echo(`# 2. processes (detached, logs in ${files.logs}, pids in ${files.pids}), unless already running:`);
  echo(show([etcdPath(), ...etcdArgs]));
  echo(show([kubeApiserverPath(), ...apiserverArgs]));
  echo(show([kubeControllerManagerPath(), ...kcmArgs]));
  echo(`# 3. kubeconfig ${files.kubeconfig} (context ${SANDBOX_CONTEXT}, TLS verified against the sandbox CA)`);
  echo(show([...kubectl, 'apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', crds]));
  echo(show([...kubectl, 'wait', '--for=condition=Established', '--timeout=60s', '-f', crds]));
  echo(
    `# istio-system and the node, server-side applied by field manager ${FIELD_MANAGER} (PATCH application/apply-patch+yaml, as kubectl apply --server-side --force-conflicts sends): ${istioSystemObjects()
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .join(', ')}, Node/${SANDBOX_NODE}`,
  );
  if (!scenario.kustomization && scenario.namespaces.length > 0) echo(`# the scenario's Namespace objects first (server-side applied), then:`);
  echo(show(applyScenario(path.relative(process.cwd(), scenarioDir) || '.')));
  echo(show([...kubectl, 'label', 'namespace', ...scenario.injected, 'istio-injection=enabled', '--overwrite']));
  echo(show([pinnedIstiodPath(), ...istiodArgs]));
  echo(show([...kubectl, 'apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', kwokCrd]));
  echo(`# node ${SANDBOX_NODE}, kwok's configuration in ${files.kwokConfig}, then:`);
  echo(show([kwokPath(), ...kwokProcessArgs]));
  const pods = plannedPods([...istioWorkloads(), ...deploymentWorkloads(scenario.objects).map(asInjected)]);
  echo(
    `# 4. Pods as the sidecar injector leaves them, bound to ${SANDBOX_NODE} (pods/binding), status Ready through the status subresource; then wait until kube-controller-manager has written each Service's EndpointSlice:`,
  );
  for (const pod of pods) echo(`#   ${pod.object.metadata.namespace}/${pod.object.metadata.name} ${pod.ip}`);
  echo(`# 5. wait until istiod answers /ready on 127.0.0.1:${ports.istiodHttp}`);
  echo(
    `# 6. the pods process (${noMesh ? "the API server's egress only" : "the local mesh plays the pods as xDS clients of istiod, and the API server's egress"}), started before etcd so its modules load meanwhile:`,
  );
  echo(show([process.execPath, ...podsArgs]));
  if (!podsCompiled && process.env.MESHPROOF_COMPILE !== '0')
    echo('#    (the bundle of the sources is not current: the run makes it first and starts the pods from it, or through tsx as above if it cannot)');
  echo(`#    told to play with POST 127.0.0.1:${ports.pods}/play; ready when 127.0.0.1:${ports.pods}/ready answers 200`);
  echo(
    `#    the ingress gateway on this host at ${gatewayHostUrl(ports)} (the gateway Service's meshproof.dev/host-url, as kind-up's mapped NodePort), unless --no-mesh`,
  );
  process.exit(0);
}

// ---- binaries ---------------------------------------------------------------------------------------------------
const missing = sandboxBinaries().filter((b) => !fs.existsSync(b.path));
if (missing.length > 0 || !fs.existsSync(crds) || !fs.existsSync(kwokCrd)) {
  echo('sandbox-up needs binaries that are not built yet:');
  for (const b of missing) echo(`  - ${b.name} (${b.path}): ${b.build}`);
  if (!fs.existsSync(crds)) echo(`  - the Istio CRDs (${crds}): npx tsx scripts/istioctl-build.ts downloads the istio module`);
  if (!fs.existsSync(kwokCrd)) echo(`  - kwok's PortForward CRD (${kwokCrd}): npx tsx scripts/k8s-build.ts downloads the kwok module`);
  process.exit(1);
}

// A sandbox that already runs with other flags (another --port-base) is not touched, nor its kubeconfig rewritten.
const sandboxProcesses = [
  ['etcd', etcdArgs],
  ['kube-apiserver', apiserverArgs],
  ['kube-controller-manager', kcmArgs],
  ['istiod', istiodArgs],
  ['kwok', kwokProcessArgs],
  ['pods', podsArgs],
] as const;
for (const [name, args] of sandboxProcesses) {
  const record = runningRecord(files.pids, name);
  // The pods process by its flags alone: whether it was started from the bundle or through tsx does not matter.
  const recorded = name === 'pods' ? record?.args.slice(-podsFlags.length) : record?.args;
  const wanted = name === 'pods' ? podsFlags : args;
  if (record && JSON.stringify(recorded) !== JSON.stringify(wanted)) {
    echo(`${name} already runs with other flags (pid ${record.pid}, log ${record.log}); stop the sandbox first: npx tsx scripts/sandbox-down.ts`);
    process.exit(1);
  }
}
// A fresh start takes all its ports: one that another process holds is said now, before anything is written or started.
if (sandboxProcesses.every(([name]) => runningRecord(files.pids, name) === undefined)) {
  const busy = listeningOn(Object.values(ports));
  if (busy.length > 0) {
    echo(
      `port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} of the sandbox's ${SANDBOX_PORT_COUNT} (${portBase}-${portBase + SANDBOX_PORT_COUNT - 1}) in use by another process; --port-base N (or MESHPROOF_SANDBOX_PORT_BASE) moves them`,
    );
    process.exit(1);
  }
}

// ---- 1. certificates ----------------------------------------------------------------------------------------------
const { token, controllerManagerToken } = ensurePki(files.pki, kubernetesServiceIp);
const ca = fs.readFileSync(p.caCert);
await fs.mkdirp(files.dir);
await fs.writeFile(files.kubeconfig, kubeconfigYaml(server, p.caCert, token, SANDBOX_CONTEXT), { mode: 0o600 });
await fs.writeFile(files.controllerManagerKubeconfig, kubeconfigYaml(server, p.caCert, controllerManagerToken, CONTROLLER_MANAGER_CONTEXT), { mode: 0o600 });
const state: SandboxState = { ports, kubeconfig: files.kubeconfig, context: SANDBOX_CONTEXT, server };
await fs.writeFile(files.state, JSON.stringify(state, null, 2));
await fs.writeFile(files.egressConfig, egressSelectorConfig(files.egressSocket));

// ---- 2. etcd, kube-apiserver and kube-controller-manager -----------------------------------------------------------------------------------
const dirs = { logs: files.logs, pids: files.pids };
function startProcess(name: string, binary: string, args: string[], env?: NodeJS.ProcessEnv): ProcessRecord {
  let record = runningRecord(files.pids, name);
  if (record) echo(`${name} already running (pid ${record.pid})`);
  else {
    record = startDetached(name, binary, args, dirs, env);
    echo(`${name} started (pid ${record.pid}, log ${record.log})`);
  }
  return record;
}
async function ensureProcess(
  name: string,
  binary: string,
  args: string[],
  ready: () => Promise<boolean>,
  env?: NodeJS.ProcessEnv,
  record = startProcess(name, binary, args, env),
): Promise<ProcessRecord> {
  const pid = record.pid;
  try {
    await waitFor(name, ready, 60_000, () => runningRecord(files.pids, name)?.pid === pid);
  } catch (error) {
    echo(`${(error as Error).message}; last lines of ${record.log}:`);
    echo(fs.readFileSync(record.log, 'utf8').trimEnd().split('\n').slice(-15).join('\n'));
    process.exit(1);
  }
  echo(`${name} ready (${elapsed()})`);
  return record;
}

// The pods process loads the local mesh (seconds of modules) while the cluster comes up; it plays the pods when told.
const podsStarted = startProcess('pods', process.execPath, podsArgs);
const etcd = await ensureProcess('etcd', etcdPath(), etcdArgs, async () =>
  (await httpStatus(`http://127.0.0.1:${ports.etcdClient}/health`)).body.includes('"true"'),
);
// GOGC=50: the CRD install (OpenAPI and CEL compilation) leaves a large heap behind; resident afterwards measured
// 470-490 MB instead of 540-610 MB with Go's default. GOMEMLIMIT=300MiB (a soft limit: past it Go collects more
// often, never fails an allocation) returns the rest to the system: 357-378 MB, about 0.3-1.3 s later to ready
// (docs/sandbox.md).
const apiserver = await ensureProcess(
  'kube-apiserver',
  kubeApiserverPath(),
  apiserverArgs,
  async () => (await apiGet(server, '/readyz', ca, token)).status === 200,
  { ...process.env, GOGC: '50', GOMEMLIMIT: '300MiB' },
);
// It starts while the CRDs are applied; its /healthz needs no credentials (--authorization-always-allow-paths).
const controllerManager = ensureProcess(
  'kube-controller-manager',
  kubeControllerManagerPath(),
  kcmArgs,
  async () => (await apiGet(`https://127.0.0.1:${ports.controllerManager}`, '/healthz', ca, '')).status === 200,
);

// ---- 3. Istio CRDs, istio-system, Bookinfo ------------------------------------------------------------------------
async function run(args: string[]): Promise<void> {
  const result = await $({ quiet: true, nothrow: true })`${args}`;
  if (result.exitCode !== 0) {
    echo(`${show(args)} failed (exit ${result.exitCode}):\n${result.stderr.trim() || result.stdout.trim()}`);
    process.exit(1);
  }
}
// The sandbox's own objects go to the API server as server-side apply PATCHes. kubectl would first fetch the API
// server's OpenAPI v2 document, which the server rebuilds after every CRD change: about 2.5 s (more under load) on the
// first apply after the Istio CRDs, measured on 2026-12-06.
const { CoreV1Api, DiscoveryV1Api, KubeConfig } = await (clientNode ?? import('@kubernetes/client-node'));
const kc = new KubeConfig();
kc.loadFromFile(files.kubeconfig);
kc.setCurrentContext(SANDBOX_CONTEXT);
const api = new KubeApi(kc);
async function apply(objects: KubeObject[]): Promise<void> {
  // Namespaces first: the objects in them cannot be created before them.
  const namespaces = objects.filter((o) => o.kind === 'Namespace');
  const rest = objects.filter((o) => o.kind !== 'Namespace');
  for (const batch of [namespaces, rest]) {
    await Promise.all(
      batch.map((o) =>
        api.apply(o as K8sObject, { force: true, fieldManager: FIELD_MANAGER }).catch((error: unknown) => {
          echo(
            `server-side apply of ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name} failed: ${(error as Error).message}`,
          );
          process.exit(1);
        }),
      ),
    );
  }
}

await Promise.all([
  run([...kubectl, 'apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', crds]),
  run([...kubectl, 'apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', kwokCrd]),
  apply([...istioSystemObjects(scenarioMesh, noMesh ? undefined : gatewayHostUrl(ports)), sandboxNode()]),
]);
await run([...kubectl, 'wait', '--for=condition=Established', '--timeout=60s', '-f', crds, '-f', kwokCrd]);
echo(`Istio and kwok CRDs, istio-system and the node applied (${elapsed()})`);

// ---- the node: kwok plays its kubelet -----------------------------------------------------------------------------
await fs.writeFile(files.kwokConfig, kwokConfig());
const kwok = ensureProcess('kwok', kwokPath(), kwokProcessArgs, async () => (await httpStatus(`http://127.0.0.1:${ports.kwok}/healthz`)).status === 200);

// istiod is awaited only before the pods are played: an async function's returned promise would be awaited with it.
const { istiod } = await (async () => {
  const pending = ensureProcess(
    'istiod',
    pinnedIstiodPath(),
    istiodArgs,
    async () => (await httpStatus(`http://127.0.0.1:${ports.istiodHttp}/ready`)).status === 200,
    istiodEnv,
  );
  // The scenario is applied while istiod starts: it picks the objects up through its informers either way. Without a
  // kustomization its Namespaces go first (`kubectl apply -f <folder>` takes the files in name order, kustomize sorts
  // them); its workloads' namespaces are labelled for injection, as a user's are.
  if (!scenario.kustomization && scenario.namespaces.length > 0) await apply(scenario.namespaces);
  await run(applyScenario(scenarioDir));
  // A scenario's own `istio` ConfigMap replaced the sandbox's mesh config: both go back, merged.
  if (Object.keys(scenarioMesh).length > 0) await apply([istioConfigMap(scenarioMesh)]);
  await run([...kubectl, 'label', 'namespace', ...scenario.injected, 'istio-injection=enabled', '--overwrite']);
  echo(`${scenario.ref} applied (${elapsed()})`);
  return { istiod: pending };
})();

// ---- 4. Pods and EndpointSlices -----------------------------------------------------------------------------------
const scenarioObjects = scenario.objects;
const pods = plannedPods([...istioWorkloads(), ...deploymentWorkloads(scenarioObjects).map(asInjected)]);
const services = [...istioSystemObjects(), ...scenarioObjects].filter((o) => o.kind === 'Service');
await apply(pods.map((pod) => pod.object));
const core = kc.makeApiClient(CoreV1Api);
const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
await Promise.all(
  pods.map(async ({ object, ip }) => {
    const name = object.metadata.name;
    const namespace = object.metadata.namespace ?? 'default';
    const current = await core.readNamespacedPod({ name, namespace });
    if (current.status?.podIP === ip && current.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
    current.status = readyStatus(object, ip, now) as typeof current.status;
    await core.replaceNamespacedPodStatus({ name, namespace, body: current, fieldManager: FIELD_MANAGER });
  }),
);
echo(`${pods.length} Pods Ready (${elapsed()})`);

// Pods on the node, as the scheduler would put them (a pod's node cannot change once set), and where istiod's ports lead.
await Promise.all(
  pods.map(async ({ object }) => {
    const name = object.metadata.name;
    const namespace = object.metadata.namespace ?? 'default';
    const current = await core.readNamespacedPod({ name, namespace });
    if (current.spec?.nodeName) return;
    await core.createNamespacedBinding({ namespace, body: binding(namespace, name) as never });
  }),
);
await apply([istiodForwards]);
await kwok;
await waitFor(
  `node ${SANDBOX_NODE} Ready`,
  async () => (await core.readNode({ name: SANDBOX_NODE })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  30_000,
);
echo(`node ${SANDBOX_NODE} Ready (kwok), pods bound, istiod's ports forwarded (${elapsed()})`);

// The EndpointSlices (and Endpoints) are kube-controller-manager's: wait until each Service's lists its ready pods.
await controllerManager;
// Sandboxes made before the controller manager ran had hand-written slices; the controller ignores slices it does
// not manage, so they would stay beside its own.
await run([
  ...kubectl,
  'delete',
  'endpointslices',
  '--all-namespaces',
  '--ignore-not-found',
  '-l',
  'endpointslice.kubernetes.io/managed-by=sandbox.meshproof.dev',
]);
const discovery = kc.makeApiClient(DiscoveryV1Api);
const expectedSlices = endpointSlices(services, pods);
let pending: string[] = [];
try {
  await waitFor(
    `kube-controller-manager's EndpointSlices for ${expectedSlices.length} Services`,
    async () => {
      pending = endpointSlicesPending(expectedSlices, (await discovery.listEndpointSliceForAllNamespaces()).items);
      return pending.length === 0;
    },
    60_000,
  );
} catch (error) {
  echo(`${(error as Error).message}; still missing:\n  ${pending.join('\n  ')}`);
  process.exit(1);
}
await waitFor(
  'the default ServiceAccounts',
  async () =>
    (
      await Promise.all(
        ['istio-system', ...scenario.injected].map((namespace) => core.listNamespacedServiceAccount({ namespace, fieldSelector: 'metadata.name=default' })),
      )
    ).every((l) => l.items.length === 1),
  30_000,
);
echo(`EndpointSlices and ServiceAccounts written by kube-controller-manager (${elapsed()})`);

await istiod;
// The pods: the local mesh, its proxies xDS clients of istiod, and the API server's egress.
const podsProcess = await ensureProcess(
  'pods',
  process.execPath,
  podsArgs,
  async () => {
    const res = await fetch(`http://127.0.0.1:${ports.pods}/play`, { method: 'POST', signal: AbortSignal.timeout(2000) });
    await res.text();
    return (await httpStatus(`http://127.0.0.1:${ports.pods}/ready`)).status === 200;
  },
  undefined,
  podsStarted,
);
echo(
  noMesh
    ? `pods not played (--no-mesh); the API server's egress runs (${elapsed()})`
    : `the local mesh plays the pods; every proxy has istiod's configuration (${elapsed()})`,
);
const memory = [etcd, apiserver, await controllerManager, await istiod, await kwok, podsProcess].map((r) => `${r.name} ${rssMb(r.pid) ?? '?'} MB`).join(', ');
echo(`sandbox ready in ${elapsed()}: Kubernetes ${KUBERNETES_VERSION} at ${server}; RSS ${memory}`);
echo(
  `istiod: xDS 127.0.0.1:${ports.istiodGrpc} (plain), 127.0.0.1:${ports.istiodSecureGrpc} (TLS); debug http://127.0.0.1:${ports.istiodMonitoring}/debug/syncz`,
);
if (!noMesh) echo(`ingress gateway: ${gatewayHostUrl(ports)} (the gateway Service's meshproof.dev/host-url: the kube target's load goes there)`);
echo(`export KUBECONFIG=${files.kubeconfig}   # context ${SANDBOX_CONTEXT}; stop with: npx tsx scripts/sandbox-down.ts`);
