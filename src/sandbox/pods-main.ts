// The sandbox's pods, played by the local mesh (started detached by scripts/sandbox-up.ts as the process `pods`):
// - the API server's `cluster` egress (src/sandbox/egress.ts): port-forward to the node (kwok), pods/proxy and
//   services/proxy reach the local proxy that plays the pod, and nothing leaves loopback;
// - unless started with --no-mesh: the scenario's pods (--scenario=<bookinfo or a folder>) and the ingress gateway, each proxy an xDS client of the
//   sandbox's istiod with its pod's name and address (src/targets/local/ads-control-plane.ts), the mesh's store kept
//   equal to the API server's Istio objects (src/sandbox/istio-watch.ts), and kwok PortForward objects that lead the
//   pods' ports (8080 on the gateway, 15000 and 15090 on every proxy) to the local proxies; and the Deployments made
//   later in namespaces labelled for injection (e.g. by --deploy-echo), whose pods it writes and plays
//   (src/sandbox/deployment-player.ts);
// - 127.0.0.1:<ports.gateway>: the ingress gateway's HTTP port on this host, as kind-up's cluster maps its gateway
//   NodePort to one (the gateway Service's meshproof.dev/host-url names it): a TCP relay to the proxy that plays the
//   gateway pod, so the kube target's load reaches the gateway straight, not through port-forward tunnels;
// - 127.0.0.1:<ports.pods>: GET /ready (200 once all of that is up), GET /status (the played pods, JSON), POST /play.
// With --play-when-told the pods are played only after POST /play: sandbox-up starts this process early, so its
// modules load while the cluster comes up, and tells it once the Pods and their EndpointSlices are written.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubeApi } from '../targets/kube/api.ts';
import { LocalMesh } from '../targets/local/mesh.ts';
import { istiodControlPlaneVersion } from '../targets/local/istiod-control-plane.ts';
import { resourceId } from '../spec/resources.ts';
import type { K8sObject } from '../spec/types.ts';
import { isLoopback, startEgressProxy } from './egress.ts';
import { isWatchedKind, watchIstioConfig, type IstioWatch } from './istio-watch.ts';
import { portForward, type PortForwardRule } from './kwok.ts';
import { gatewayHostUrl, sandboxFiles, type SandboxState } from './layout.ts';
import { ServiceRelay } from '../targets/local/outside.ts';
import { FIELD_MANAGER } from './objects.ts';
import { playedPods } from './played-pods.ts';
import { DeploymentPlayer } from './deployment-player.ts';
import { loadScenario } from '../spec/scenario.ts';

const files = sandboxFiles();
const state = JSON.parse(readFileSync(files.state, 'utf8')) as SandboxState;
// The scenario sandbox-up installed (`bookinfo`, or a folder's absolute path): the local mesh runs its workloads.
const scenario = process.argv.find((a) => a.startsWith('--scenario='))?.slice('--scenario='.length) ?? 'bookinfo';
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

let mesh: LocalMesh | undefined;
let watch: IstioWatch | undefined;
let player: DeploymentPlayer | undefined;
let ready = false;
let failure: string | undefined;
let told = () => {};
const toldToPlay = new Promise<void>((resolve) => (told = resolve));
/** A cluster pod address → the loopback address of the local proxy that plays it. */
const played = new Map<string, string>();

const egress = await startEgressProxy(
  files.egressSocket,
  (host, port) => {
    if (isLoopback(host)) return { host, port };
    const local = played.get(host);
    return local ? { host: local, port } : undefined;
  },
  log,
);
log(`egress proxy for the API server on ${files.egressSocket}`);

// The mesh's ingress gateway; refused (reset) until it is played, as a node port with no ready endpoint behind it.
const gatewayPort = new ServiceRelay(() => {
  if (!mesh) return [];
  const { hostname, port } = new URL(mesh.gatewayUrl);
  return [{ host: hostname, port: Number(port) }];
});
const playsPods = !process.argv.includes('--no-mesh');
if (playsPods) {
  try {
    await gatewayPort.start(state.ports.gateway);
  } catch (error) {
    log(`cannot listen on ${gatewayHostUrl(state.ports)} for the ingress gateway: ${(error as Error).message} (--port-base moves the sandbox's ports)`);
    process.exit(1);
  }
  log(`the ingress gateway on this host at ${gatewayHostUrl(state.ports)}`);
}

const status = http.createServer((req, res) => {
  if (req.url === '/ready') {
    res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ready ? 'ready\n' : `${failure ?? 'starting'}\n`);
  } else if (req.url === '/play' && req.method === 'POST') {
    told();
    res.writeHead(202, { 'content-type': 'text/plain' }).end('playing\n');
  } else if (req.url === '/status') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ready, failure, mesh: mesh?.status(), deployments: player?.status(), egressRefused: egress.refused.slice(-20) }, null, 2));
  } else {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve, reject) => {
  status.once('error', reject);
  status.listen(state.ports.pods, '127.0.0.1', () => resolve());
});

async function playPods(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  kc.setCurrentContext(state.context);
  const core = kc.makeApiClient(CoreV1Api);
  const pods = playedPods((await core.listPodForAllNamespaces({ labelSelector: 'meshproof.dev/sandbox=true' })).items);
  mesh = await LocalMesh.start({
    scenario,
    cluster: { xdsAddress: `127.0.0.1:${state.ports.istiodGrpc}`, pods, istioVersion: istiodControlPlaneVersion },
  });
  const current = mesh;
  for (const proxy of current.status().proxies) if (proxy.clusterIp) played.set(proxy.clusterIp, proxy.ip);
  log(
    `playing ${played.size} pods: ${current
      .status()
      .proxies.map((p) => `${p.namespace}/${p.podName} ${p.clusterIp} at ${p.ip}`)
      .join(', ')}`,
  );

  // The store follows the API server: what the informers list replaces the scenario's own Istio objects.
  watch = await watchIstioConfig(kc, async (upserts, deletes) => void (await current.change(upserts, deletes)), log);
  const listed = new Set(watch.objects().map(resourceId));
  const gone = current
    .list()
    .filter((o) => isWatchedKind(o.kind) && !listed.has(resourceId(o)))
    .map(resourceId);
  if (gone.length > 0) await current.change([], gone);

  const api = new KubeApi(kc);
  for (const proxy of current.status().proxies) {
    const rules: PortForwardRule[] = [15000, 15090].map((port) => ({ port, targetPort: port, targetAddress: proxy.ip }));
    if (proxy.kind === 'gateway') rules.push({ port: 8080, targetPort: 8080, targetAddress: proxy.ip });
    const object = portForward(proxy.namespace, proxy.podName, rules);
    await api.apply(object as K8sObject, { force: true, fieldManager: FIELD_MANAGER });
  }

  // Deployments sandbox-up did not write: their pods are written and played as they come and go.
  const scenarioDeployments = new Set(
    loadScenario(scenario)
      .resources.filter((r) => r.object.kind === 'Deployment')
      .map((r) => `${r.object.metadata.namespace ?? 'default'}/${r.object.metadata.name}`),
  );
  player = new DeploymentPlayer({ api, mesh: current, clusterPods: pods, played, scenarioDeployments, log });
  player.start();
}

try {
  if (process.argv.includes('--play-when-told')) {
    log('waiting for POST /play (sandbox-up sends it once the Pods and their EndpointSlices are written)');
    await toldToPlay;
  }
  if (!playsPods) log('--no-mesh: the pods are not played (the egress proxy runs)');
  else await playPods();
  ready = true;
  log('ready');
} catch (error) {
  failure = (error as Error).message;
  log(`cannot play the pods: ${(error as Error).stack ?? failure}`);
}

async function stop(signal: string): Promise<void> {
  log(`${signal}: stopping`);
  await player?.stop().catch(() => {});
  await watch?.stop().catch(() => {});
  await gatewayPort.close();
  await mesh?.close().catch(() => {});
  await egress.close();
  status.close();
  process.exit(0);
}
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
