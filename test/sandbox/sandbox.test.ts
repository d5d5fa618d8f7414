// sandbox-up / sandbox-down against the real binaries (built by scripts/ci.d/50-sandbox.sh): the API server is the
// real kube-apiserver v1.36.1, the CRDs are the pinned istio module's, istiod is pilot-discovery as shipped.
import { execFile, spawn } from 'node:child_process';
import { Agent, createServer, request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ApiextensionsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  VersionApi,
} from '@kubernetes/client-node';
import { KubeApi, unknownFieldError } from '../../src/targets/kube/api.ts';
import { cleanup, KubeTarget, type KubeTargetOptions } from '../../src/targets/kube/index.ts';
import { targetContract } from '../targets/contract.ts';
import { forwardPort, portForwardGet } from '../../src/targets/kube/port-forward.ts';
import { CountingProxy } from './counting-proxy.ts';
import { replayJournal } from '../../src/targets/kube/restore.ts';
import { comparableForm, runLabel, savedForm } from '../../src/targets/kube/objects.ts';
import { exitCodeOf } from '../../src/runner/run.ts';
import { ExitCode, SpecError } from '../../src/errors.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { sandboxSidecar } from '../../src/sandbox/sidecar.ts';
import { runSandboxScript } from '../../src/sandbox/scripts.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { istioCrdsPath, KUBERNETES_VERSION } from '../../src/sandbox/binaries.ts';
import {
  POD_CIDR_PREFIX,
  SANDBOX_CONTEXT,
  SANDBOX_NODE,
  SANDBOX_PORT_COUNT,
  gatewayHostUrl,
  sandboxFiles,
  type SandboxState,
} from '../../src/sandbox/layout.ts';
import { istioctlVersion, pinnedIstioctlPath } from '../../src/targets/kube/istioctl.ts';
import { experimentResources as experimentObjects } from '../kube/helpers.ts';
import { recordedNames, runningRecord, waitFor, type ProcessRecord } from '../../src/sandbox/processes.ts';
import { leavesLoopback, listeningOn, socketInodes, tcpSockets } from '../../src/sandbox/sockets.ts';
import { must } from '../../src/must.ts';
import { tempDir } from '../support/temp-dir.ts';
import { compiledEntry } from '../../bin/compiled.js';

const root = resolve(import.meta.dirname, '../..');
const stateDir = tempDir('meshproof-sandbox-test-');
// Not the default base (16400), so a sandbox someone runs by hand is not touched.
const env = { ...process.env, MESHPROOF_SANDBOX: stateDir, MESHPROOF_SANDBOX_PORT_BASE: '26400' };
const files = sandboxFiles(stateDir);

let up: { code: number; output: string };
let state: SandboxState;
let kc: KubeConfig;
let processes: ProcessRecord[] = [];
let down: { code: number; output: string } | undefined;

beforeAll(async () => {
  const busy = listeningOn(Array.from({ length: SANDBOX_PORT_COUNT }, (_, i) => 26400 + i));
  if (busy.length > 0) throw new Error(`ports ${busy.join(', ')} are already in use: the sandbox test needs 26400-${26400 + SANDBOX_PORT_COUNT - 1}`);
  up = await runSandboxScript('sandbox-up.ts', env);
  if (up.code !== 0) throw new Error(`sandbox-up failed (exit ${up.code}):\n${up.output}`);
  state = JSON.parse(readFileSync(files.state, 'utf8')) as SandboxState;
  kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  kc.setCurrentContext(SANDBOX_CONTEXT);
  processes = recordedNames(files.pids)
    .map((n) => runningRecord(files.pids, n))
    .filter((r): r is ProcessRecord => r !== undefined);
}, 120_000);

/** istiod's sync status of one proxy (/debug/syncz, as `istioctl proxy-status` reads it). */
async function syncz(pod: string): Promise<Record<string, string>> {
  const all = (await (await fetch(`http://127.0.0.1:${state.ports.istiodMonitoring}/debug/syncz`)).json()) as Record<string, string>[];
  const mine = all.find((s) => s.proxy === `${pod}.default`);
  if (!mine) throw new Error(`istiod lists no proxy ${pod}.default; it has ${all.map((s) => s.proxy).join(', ')}`);
  return mine;
}

/** Sets (or with null removes) the gateway Service's meshproof.dev/host-url, which sandbox-up sets as kind-up does. */
async function annotateGatewayHostUrl(value: string | null): Promise<void> {
  const { code } = await new KubeApi(kc).raw('PATCH', '/api/v1/namespaces/istio-system/services/istio-ingressgateway', {
    contentType: 'application/merge-patch+json',
    body: JSON.stringify({ metadata: { annotations: { 'meshproof.dev/host-url': value } } }),
  });
  expect(code).toBe(200);
}

/** `meshproof run <paths> --target kube --context meshproof-sandbox --report-dir <reports>` on this sandbox. */
function runOnSandbox(paths: string[], reports: string, timeoutMs: number): Promise<{ code: number; output: string }> {
  const args = ['run', ...paths, '--target', 'kube', '--context', SANDBOX_CONTEXT, '--report-dir', reports];
  return new Promise((done) =>
    execFile(
      process.execPath,
      [join(root, 'bin', 'meshproof.js'), ...args],
      { env: { ...env, KUBECONFIG: state.kubeconfig }, cwd: root, timeout: timeoutMs },
      (error, stdout, stderr) => done({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    ),
  );
}

/** The status of a GET through `agent` (its body read, so the connection goes back to the agent's pool). */
function getStatus(agent: Agent | false, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

/** An HTTP/1.1 answer with a Content-Length, all of it received. */
function completeAnswer(bytes: Buffer): boolean {
  const headEnd = bytes.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: (\d+)/i.exec(bytes.subarray(0, Math.max(0, headEnd)).toString('latin1'))?.[1];
  return headEnd >= 0 && length !== undefined && bytes.length >= headEnd + 4 + Number(length);
}

/** Send a GET on a new connection and destroy it `afterMs` later, whatever came back. */
function requestAndLeave(port: number, afterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('GET /productpage HTTP/1.1\r\nHost: bookinfo\r\n\r\n');
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, afterMs);
    });
    socket.on('error', reject);
  });
}

afterAll(async () => {
  if (!down) await runSandboxScript('sandbox-down.ts', env);
  rmSync(stateDir, { recursive: true, force: true });
});

// The shared Target contract, with its behavioural checks on: the real API server and istiod, the local mesh as the pods.
targetContract(
  'kube on the sandbox (real kube-apiserver and istiod; the local mesh plays the pods)',
  () => new KubeTarget({ scenario: 'bookinfo', context: SANDBOX_CONTEXT, kubeconfig: state.kubeconfig, pollIntervalMs: 100 }),
  { timeoutMs: 30_000 },
);

describe('sandbox cluster', () => {
  it('runs etcd, kube-apiserver, kube-controller-manager, istiod and kwok, and says how long it took to be ready', () => {
    expect(processes.map((p) => p.name).sort()).toEqual(['etcd', 'istiod', 'kube-apiserver', 'kube-controller-manager', 'kwok', 'pods']);
    expect(up.output).toMatch(/sandbox ready in \d+\.\d s/);
    // The pods process runs from the bundle of the sources (bin/compiled.js; made by the tests' global setup).
    expect(processes.find((p) => p.name === 'pods')?.args).toEqual([compiledEntry('src/sandbox/pods-main.ts'), '--scenario=bookinfo', '--play-when-told']);
  });

  it('is the real kube-apiserver at the pinned version (/version)', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(KUBERNETES_VERSION);
  });

  it("has every CRD of the pinned istio module and kwok's PortForward, established", async () => {
    const expected = parseAllDocuments(readFileSync(istioCrdsPath(), 'utf8'))
      .map((d) => d.toJS() as { kind?: string; metadata?: { name: string } } | null)
      .filter((o) => o?.kind === 'CustomResourceDefinition')
      .map((o) => o!.metadata!.name)
      .concat('portforwards.kwok.x-k8s.io')
      .sort();
    const crds = (await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition()).items;
    const established = crds.filter((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')).map((c) => c.metadata!.name!);
    expect(expected.length).toBeGreaterThan(10);
    expect(established.sort()).toEqual(expected);
  });

  it('has one Ready Bookinfo pod per Deployment replica, each with its own never-routed TEST-NET-1 address', async () => {
    const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' })).items;
    expect(pods.map((p) => p.metadata!.labels!.app + '-' + p.metadata!.labels!.version).sort()).toEqual([
      'details-v1',
      'productpage-v1',
      'ratings-v1',
      'reviews-v1',
      'reviews-v2',
      'reviews-v3',
    ]);
    for (const pod of pods) {
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(pod.status?.podIP?.startsWith(POD_CIDR_PREFIX)).toBe(true);
    }
    expect(new Set(pods.map((p) => p.status!.podIP)).size).toBe(pods.length);
  });

  it("has an EndpointSlice per Bookinfo Service naming its pods by IP, written by kube-controller-manager's EndpointSlice controller", async () => {
    const slices = (
      await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=reviews' })
    ).items;
    expect(slices).toHaveLength(1);
    expect(slices[0]?.metadata?.labels?.['endpointslice.kubernetes.io/managed-by']).toBe('endpointslice-controller.k8s.io');
    expect(slices[0]?.endpoints.map((e) => e.targetRef?.name).sort()).toEqual(['reviews-v1-sandbox-0', 'reviews-v2-sandbox-0', 'reviews-v3-sandbox-0']);
    expect(slices[0]?.ports?.map((p) => p.port)).toEqual([9080]);
  });

  it("kube-controller-manager follows changes: a new Service's EndpointSlice and Endpoints, a new namespace's default ServiceAccount and kube-root-ca.crt, and a deleted namespace emptied and removed", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'kcm-reviews-v2' },
        spec: { selector: { app: 'reviews', version: 'v2' }, ports: [{ name: 'http', port: 80, targetPort: 9080 }] },
      },
    });
    try {
      const v2 = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=reviews,version=v2' })).items.map((p) => p.status?.podIP);
      let addresses: string[] = [];
      await waitFor(
        'the EndpointSlice controller',
        async () => {
          const slices = (await discovery.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=kcm-reviews-v2' }))
            .items;
          addresses = slices.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses));
          return addresses.length > 0;
        },
        20_000,
      );
      expect(addresses).toEqual(v2);
      await waitFor(
        'the Endpoints controller',
        async () =>
          (await core.readNamespacedEndpoints({ namespace: 'default', name: 'kcm-reviews-v2' }).catch(() => undefined))?.subsets?.[0]?.ports?.[0]?.port ===
          9080,
        20_000,
      );
    } finally {
      await core.deleteNamespacedService({ namespace: 'default', name: 'kcm-reviews-v2' });
    }
    await waitFor(
      'the slice removed with its Service',
      async () =>
        (await discovery.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=kcm-reviews-v2' })).items.length === 0,
      20_000,
    );

    await core.createNamespace({ body: { metadata: { name: 'kcm-check' } } });
    await waitFor(
      'default ServiceAccount and kube-root-ca.crt in a new namespace',
      async () => {
        const accounts = (await core.listNamespacedServiceAccount({ namespace: 'kcm-check' })).items.map((a) => a.metadata?.name);
        const maps = (await core.listNamespacedConfigMap({ namespace: 'kcm-check' })).items.map((m) => m.metadata?.name);
        return accounts.includes('default') && maps.includes('kube-root-ca.crt');
      },
      20_000,
    );
    await core.createNamespacedConfigMap({ namespace: 'kcm-check', body: { metadata: { name: 'left-behind' }, data: { a: 'b' } } });
    await core.deleteNamespace({ name: 'kcm-check' });
    await waitFor('the namespace controller', async () => !(await core.listNamespace()).items.some((n) => n.metadata?.name === 'kcm-check'), 30_000);
  });

  it("istiod's registry has each Bookinfo endpoint at its pod IP, mTLS-capable (the injector's tlsMode label)", async () => {
    const endpointz = (await (await fetch(`http://127.0.0.1:${state.ports.istiodMonitoring}/debug/endpointz`)).json()) as Record<
      string,
      Record<string, { Shards: Record<string, { Addresses: string[]; TLSMode: string; WorkloadName: string }[]> }>
    >;
    const reviews = Object.values(endpointz['reviews.default.svc.cluster.local']?.default?.Shards ?? {}).flat();
    expect(reviews.map((e) => [e.WorkloadName, e.TLSMode]).sort()).toEqual([
      ['reviews-v1-sandbox-0', 'istio'],
      ['reviews-v2-sandbox-0', 'istio'],
      ['reviews-v3-sandbox-0', 'istio'],
    ]);
    expect(reviews.every((e) => e.Addresses.length === 1 && must(e.Addresses[0], 'e.Addresses[0]').startsWith(POD_CIDR_PREFIX))).toBe(true);
  });

  it('refuses a loopback EndpointSlice address, which is why pod IPs are not loopback (ValidateEndpointIP)', async () => {
    const attempt = kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
      namespace: 'default',
      body: { metadata: { name: 'loopback-probe' }, addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.2'] }], ports: [{ port: 9080 }] },
    });
    await expect(attempt).rejects.toMatchObject({ code: 422, body: expect.stringContaining('may not be in the loopback range') });
  });

  // istiod registers /ready on its HTTP port only and the debug handlers on the monitoring port (and the HTTP port):
  // pilot/pkg/bootstrap/server.go initIstiodAdminServer.
  it('istiod answers /ready on its HTTP port and /debug/syncz on its monitoring port', async () => {
    expect((await fetch(`http://127.0.0.1:${state.ports.istiodHttp}/ready`)).status).toBe(200);
    const syncz = await fetch(`http://127.0.0.1:${state.ports.istiodMonitoring}/debug/syncz`);
    expect(syncz.status).toBe(200);
    expect(Array.isArray(await syncz.json())).toBe(true);
  });

  it('the real server prunes an unknown field on PUT with a Warning, and refuses it with fieldValidation=Strict', async () => {
    const api = kc.makeApiClient(CustomObjectsApi);
    const target = { group: 'networking.istio.io', version: 'v1', namespace: 'default', plural: 'virtualservices' };
    await api.createNamespacedCustomObject({
      ...target,
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'ratings-probe' },
        spec: { hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' } }] }] },
      },
    });
    type Probe = { metadata: { resourceVersion?: string }; spec: { http: { retries?: unknown }[] } };
    const current = (await api.getNamespacedCustomObject({ ...target, name: 'ratings-probe' })) as Probe;
    must(current.spec.http[0], 'current.spec.http[0]').retries = { attemps: 3 };
    const lax = await api.replaceNamespacedCustomObjectWithHttpInfo({ ...target, name: 'ratings-probe', body: current });
    expect(lax.httpStatusCode).toBe(200);
    // RFC 7234 warning: code 299, agent "-", the text quoted with its own quotes escaped.
    expect(lax.headers.warning).toBe('299 - "unknown field \\"spec.http[0].retries.attemps\\""');
    expect((lax.data as Probe).spec.http[0]?.retries).toEqual({});

    current.metadata.resourceVersion = (lax.data as Probe).metadata.resourceVersion;
    const strict = api.replaceNamespacedCustomObject({ ...target, name: 'ratings-probe', body: current, fieldValidation: 'Strict' });
    await expect(strict).rejects.toMatchObject({ code: 400, body: expect.stringContaining('strict decoding error') });
    // Left in place, this older VirtualService for ratings would win over any later one for the host (istiod keeps
    // the oldest per host for sidecars), and the experiments below would route ratings by it.
    await api.deleteNamespacedCustomObject({ ...target, name: 'ratings-probe' });
  });

  // The meeting point of the two principal issues: a Bookinfo pod's sidecar played by meshproof's xDS client, fed by
  // the real istiod of the real API server, loading every resource into the Envoy model (nothing refused, so ACKed),
  // and convergence read from istiod's own sync status, as on a cluster.
  it('a Bookinfo pod as an xDS client of istiod: CDS, EDS, LDS and RDS loaded into the Envoy model and ACKed; syncz says so', async () => {
    const ratings = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default', labelSelector: 'app=ratings' })).items[0]!;
    const proxy = sandboxSidecar(ratings, `127.0.0.1:${state.ports.istiodGrpc}`);
    try {
      await proxy.synced();
      expect(proxy.rejected).toEqual([]);
      const config = proxy.client.config();
      expect(config.listeners.length).toBeGreaterThan(5);
      expect(config.clusters.map((c) => c.name)).toContain('outbound|9080||reviews.default.svc.cluster.local');
      expect(config.clusters.map((c) => c.name)).toContain('inbound|9080||');
      const status = await syncz(ratings.metadata!.name!);
      for (const type of ['cluster', 'listener', 'route', 'endpoint'] as const) expect(status[`${type}_acked`], type).toBe(status[`${type}_sent`]);
    } finally {
      proxy.close();
    }
  });

  it("a VirtualService applied through the API server reaches the caller's routes; istiod's sync status shows it ACKed", async () => {
    const productpage = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default', labelSelector: 'app=productpage' })).items[0]!;
    const proxy = sandboxSidecar(productpage, `127.0.0.1:${state.ports.istiodGrpc}`);
    const api = kc.makeApiClient(CustomObjectsApi);
    const networking = (plural: string) => ({ group: 'networking.istio.io', version: 'v1', namespace: 'default', plural });
    try {
      await proxy.synced();
      const before = (await syncz(productpage.metadata!.name!)).route_acked;
      await api.createNamespacedCustomObject({
        ...networking('destinationrules'),
        body: {
          apiVersion: 'networking.istio.io/v1',
          kind: 'DestinationRule',
          metadata: { name: 'reviews-xds' },
          spec: { host: 'reviews', subsets: [{ name: 'v2', labels: { version: 'v2' } }] },
        },
      });
      const applied = Date.now();
      await api.createNamespacedCustomObject({
        ...networking('virtualservices'),
        body: {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'reviews-xds' },
          spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }] },
        },
      });
      const toV2 = () =>
        proxy.client
          .config()
          .routes.flatMap((r) => r.virtual_hosts ?? [])
          .filter((vh) => vh.domains.some((d) => d.startsWith('reviews.default.svc.cluster.local')))
          .some((vh) => (vh.routes ?? []).some((route) => route.route?.cluster === 'outbound|9080|v2|reviews.default.svc.cluster.local'));
      await waitFor("productpage's route to reviews v2", async () => toV2(), 20_000);
      const took = Date.now() - applied;
      expect(proxy.rejected).toEqual([]);
      // Two objects, two pushes (debounced or not): wait until the newest route version sent is the one ACKed, not
      // only for a change (the first push's ACK can come while the second is on its way).
      let status: Record<string, string> = {};
      await waitFor(
        'the newest route version ACKed in syncz',
        async () => {
          status = await syncz(productpage.metadata!.name!);
          return status.route_acked !== before && status.route_acked === status.route_sent;
        },
        10_000,
      );
      expect(status.route_acked).toBe(status.route_sent);
      expect(status.route_acked).not.toBe(before);
      console.log(`VirtualService applied -> productpage's routes changed and ACKed in ${took} ms`);
    } finally {
      proxy.close();
      await api.deleteNamespacedCustomObject({ ...networking('virtualservices'), name: 'reviews-xds' }).catch(() => {});
      await api.deleteNamespacedCustomObject({ ...networking('destinationrules'), name: 'reviews-xds' }).catch(() => {});
    }
  });

  it("the kube target's API client against the real server: unknown fields are bad input at their path (issue 14 D2, D3), warnings are told", async () => {
    const warnings: string[] = [];
    const api = new KubeApi(kc, (text) => warnings.push(text));
    const typo = (name: string): K8sObject => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name, namespace: 'default' },
      spec: { hosts: ['ratings'], http: [{ retries: { attemps: 3 }, route: [{ destination: { host: 'ratings' } }] }] },
    });
    // D3: server-side apply of a new object with a typo: 500 "field not declared in schema", now a ResourceError (exit 2).
    const applied = await api.apply(typo('typo-apply')).catch((e: unknown) => e);
    expect(unknownFieldError(typo('typo-apply'), applied)).toMatchObject({ fieldPath: 'spec.http[0].retries.attemps' });
    expect(exitCodeOf(unknownFieldError(typo('typo-apply'), applied))).toBe(ExitCode.badInput);
    // A value of the wrong type: server-side apply's typed conversion answers 500; bad input at its path, exit 2.
    const mistyped: K8sObject = {
      ...typo('typo-type'),
      spec: { hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' }, weight: 'heavy' }] }] },
    };
    const typed = await api.apply(mistyped).catch((e: unknown) => e);
    expect(typed).toMatchObject({ code: 500 });
    expect(unknownFieldError(mistyped, typed)).toMatchObject({
      fieldPath: 'spec.http[0].route[0].weight',
      message: expect.stringContaining('expected numeric (int or float), got string'),
    });
    expect(exitCodeOf(unknownFieldError(mistyped, typed))).toBe(ExitCode.badInput);
    // D2: create and replace go with fieldValidation=Strict: a 400 naming the field instead of a silent prune.
    const created = await api.create(typo('typo-create')).catch((e: unknown) => e);
    expect(created).toMatchObject({ code: 400 });
    expect(unknownFieldError(typo('typo-create'), created)).toMatchObject({ fieldPath: 'spec.http[0].retries.attemps' });
    const good = await api.create({ ...typo('typo-replace'), spec: { hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' } }] }] } });
    const replaced = await api
      .replace({ ...typo('typo-replace'), metadata: { ...typo('typo-replace').metadata, resourceVersion: good.metadata.resourceVersion } })
      .catch((e: unknown) => e);
    expect(replaced).toMatchObject({ code: 400 });
    expect(unknownFieldError(typo('typo-replace'), replaced)).toMatchObject({ fieldPath: 'spec.http[0].retries.attemps' });
    // Without Strict the real server prunes and only warns: the client tells each Warning header.
    await api.raw('PUT', '/apis/networking.istio.io/v1/namespaces/default/virtualservices/typo-replace', {
      body: JSON.stringify({ ...typo('typo-replace'), metadata: { ...typo('typo-replace').metadata, resourceVersion: good.metadata.resourceVersion } }),
    });
    expect(warnings).toContain('unknown field "spec.http[0].retries.attemps"');
    await api.delete({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'default', name: 'typo-replace' });
  });

  it('a port-forward that leads nowhere (no forward for that pod port on the node) is an error for the request that used it, not a crash (issue 14 D4)', async () => {
    const ratings = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default', labelSelector: 'app=ratings' })).items[0]!;
    const got = await portForwardGet(kc, 'default', ratings.metadata!.name!, 15999, '/stats/prometheus', 10_000).catch((e: unknown) => e);
    expect(got).toBeInstanceOf(Error);
    expect((got as Error).message).toMatch(/port-forward to default\/ratings-v1-sandbox-0:15999/);
  });

  it("pods/portforward works through the real API server and the node kwok plays: istiod's :15014 answers, as the kube target reads it", async () => {
    const node = await kc.makeApiClient(CoreV1Api).readNode({ name: SANDBOX_NODE });
    expect(node.status?.addresses).toEqual([{ type: 'InternalIP', address: '127.0.0.1' }]);
    expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(state.ports.kwok);
    const pod = await kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: 'istio-system', name: 'istiod-sandbox-0' });
    expect(pod.spec?.nodeName).toBe(SANDBOX_NODE);
    expect(await portForwardGet(kc, 'istio-system', 'istiod-sandbox-0', 15014, '/version', 10_000)).toMatch(/^1\.31/);
    const syncz = JSON.parse(await portForwardGet(kc, 'istio-system', 'istiod-sandbox-0', 15014, '/debug/syncz', 10_000)) as unknown[];
    expect(Array.isArray(syncz)).toBe(true);
  });

  describe("the gateway's port-forward with tunnels opened ahead (through a proxy that counts the API server's upgrades)", () => {
    let proxy: CountingProxy;
    const proxied = new KubeConfig();
    const upgrades = () => proxy.requests.filter((r) => r.path.includes('/portforward')).length;
    const gateway = (options: { waitingMaxMs?: number } = {}) => forwardPort(proxied, 'istio-system', 'istio-ingressgateway-sandbox-0', 8080, options);
    beforeAll(async () => {
      proxy = await new CountingProxy(state.kubeconfig, SANDBOX_CONTEXT).start();
      proxied.loadFromString(proxy.kubeconfig());
    });
    afterAll(() => proxy.stop());

    it('carry the next connections: none is set up through the API server as they connect, one beyond them is; those nobody takes close', async () => {
      const forward = await gateway({ waitingMaxMs: 1_000 });
      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      const first = upgrades();
      try {
        expect(await forward.prewarm(3)).toEqual({ waiting: 0, opened: 3, failed: 0 });
        expect(upgrades() - first).toBe(3);
        expect(await forward.prewarm(2)).toEqual({ waiting: 3, opened: 0, failed: 0 });
        expect(upgrades() - first).toBe(3);
        // Four connections at once: three take the waiting tunnels, the fourth opens its own.
        const statuses = await Promise.all([1, 2, 3, 4].map(() => getStatus(agent, `${forward.url}/productpage`)));
        expect(statuses).toEqual([200, 200, 200, 200]);
        expect(upgrades() - first).toBe(4);
        agent.destroy();
        await waitFor('the four tunnels to close with their connections', async () => proxy.openUpgrades === 0, 10_000);
        // Five nobody takes: their WebSockets close after waitingMaxMs, and a new connection opens a tunnel of its own.
        expect(await forward.prewarm(5)).toEqual({ waiting: 0, opened: 5, failed: 0 });
        expect(proxy.openUpgrades).toBe(5);
        await waitFor('the waiting tunnels to close', async () => proxy.openUpgrades === 0, 10_000);
        expect(await getStatus(false, `${forward.url}/productpage`)).toBe(200);
        expect(upgrades() - first).toBe(10);
      } finally {
        agent.destroy();
        await forward.close();
      }
    });

    it("a connection that goes away before its answer costs nothing else: the pod's late frames are dropped, the process does not crash, every tunnel closes", async () => {
      const forward = await gateway();
      try {
        await forward.prewarm(20);
        // Each sends a request and leaves 0–9 ms later, while the answer is on its way through the API server.
        for (let i = 0; i < 40; i++) await requestAndLeave(forward.port, i % 10);
        await waitFor('every tunnel and connection to close', async () => proxy.openUpgrades === 0 && forward.connectionCount() === 0, 10_000);
        expect(await getStatus(false, `${forward.url}/productpage`)).toBe(200);
      } finally {
        await forward.close();
      }
    });

    it('closing the forward stops a prewarm under way: no batch after the first, and every tunnel it opened closes', async () => {
      const forward = await gateway();
      const first = upgrades();
      const prewarming = forward.prewarm(120); // batches of 50
      await forward.close();
      expect(await prewarming).toEqual({ waiting: 0, opened: 0, failed: 50 });
      await waitFor('every tunnel to close', async () => proxy.openUpgrades === 0, 10_000);
      expect(upgrades() - first).toBeLessThanOrEqual(50);
    });

    it('a connection whose tunnel the API server cut while the client was still sending is closed when the client closes', async () => {
      const forward = await gateway();
      try {
        await forward.prewarm(1);
        const client = connect({ port: forward.port, host: '127.0.0.1', allowHalfOpen: true });
        const answer: Buffer[] = [];
        // Once the whole answer is in, the API server's side goes away: the tunnel closes and the client is told (FIN).
        client.on('data', (chunk: Buffer) => {
          answer.push(chunk);
          if (completeAnswer(Buffer.concat(answer))) proxy.cutUpgrades();
        });
        // The client sends its next request as it sees that, then closes.
        client.on('end', () => client.end('GET /productpage HTTP/1.1\r\nHost: bookinfo\r\n\r\n'));
        client.write('GET /productpage HTTP/1.1\r\nHost: bookinfo\r\n\r\n');
        await new Promise((resolve) => client.on('close', resolve));
        expect(Buffer.concat(answer).toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
        await waitFor('the local connection to close', async () => forward.connectionCount() === 0, 10_000);
      } finally {
        await forward.close();
      }
    });
  });

  it('the pinned istioctl talks to the sandbox as to any cluster: version and proxy-status through port-forward to istiod', async () => {
    const ratings = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default', labelSelector: 'app=ratings' })).items[0]!;
    const proxy = sandboxSidecar(ratings, `127.0.0.1:${state.ports.istiodGrpc}`);
    try {
      await proxy.synced();
      const istioctl = (args: string[]) =>
        new Promise<string>((done, fail) =>
          execFile(
            pinnedIstioctlPath(),
            [...args, '--kubeconfig', state.kubeconfig, '--context', SANDBOX_CONTEXT],
            { timeout: 60_000 },
            (error, stdout, stderr) => (error ? fail(new Error(`istioctl ${args.join(' ')}: ${stderr || error.message}`)) : done(stdout)),
          ),
        );
      expect(await istioctl(['version'])).toMatch(/control plane version: 1\.31/);
      // Its default path: a port-forward to istiod's 15012 and an xDS request authenticated by a service-account token.
      const status = await istioctl(['proxy-status']);
      expect(status).toMatch(/ratings-v1-sandbox-0\.default\s+Kubernetes\s+istiod-sandbox-0/);
      // Every pod the local mesh plays is an xDS client of this istiod, the gateway included.
      for (const pod of ['productpage-v1', 'details-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3'])
        expect(status).toMatch(new RegExp(`${pod}-sandbox-0\\.default\\s+Kubernetes\\s+istiod-sandbox-0\\s+1\\.31\\.0\\s+4 \\(CDS,LDS,EDS,RDS\\)`));
      expect(status).toMatch(/istio-ingressgateway-sandbox-0\.istio-system\s+Kubernetes/);
    } finally {
      proxy.close();
    }
  });

  it("a played pod's ports lead to the local proxy that plays it: port-forward (kwok PortForward), pods/proxy and services/proxy (the API server's egress)", async () => {
    const status = (await (await fetch(`http://127.0.0.1:${state.ports.pods}/status`)).json()) as {
      ready: boolean;
      mesh: { proxies: { podName: string; clusterIp: string; ip: string }[] };
    };
    expect(status.ready).toBe(true);
    const details = status.mesh.proxies.find((p) => p.podName === 'details-v1-sandbox-0')!;
    expect(details.clusterIp).toMatch(new RegExp(`^${POD_CIDR_PREFIX.replace(/\./g, '\\.')}`));
    expect(details.ip).toMatch(/^127\./);
    // Port-forward: API server → kwok (over the egress) → the PortForward's target, the local proxy's :15090.
    const forwarded = await portForwardGet(kc, 'default', 'details-v1-sandbox-0', 15090, '/stats/prometheus', 10_000);
    expect(forwarded).toContain('envoy_cluster_membership_healthy{cluster_name="outbound|9080||ratings.default.svc.cluster.local"}');
    // pods/proxy dials the pod IP; the egress leads it to the local proxy, nothing leaves loopback.
    const api = new KubeApi(kc);
    const proxied = await api.raw('GET', '/api/v1/namespaces/default/pods/details-v1-sandbox-0:15090/proxy/stats/prometheus', { accept: 'text/plain' });
    expect(proxied.code).toBe(200);
    expect(proxied.body).toContain('envoy_cluster_membership_healthy');
    // services/proxy reads the Endpoints sandbox-up wrote and reaches ratings' sidecar inbound, as a client outside the mesh.
    const rating = await api.raw('GET', '/api/v1/namespaces/default/services/ratings:9080/proxy/ratings/0');
    expect(rating.code).toBe(200);
    expect(JSON.parse(rating.body)).toEqual({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
  });

  it("a Telemetry applied through the API server reaches the played gateway's istio_requests_total: istiod writes it into the listeners' istio.stats filter, the local proxy executes it (issue 19)", async () => {
    const api = kc.makeApiClient(CustomObjectsApi);
    const telemetries = { group: 'telemetry.istio.io', version: 'v1', namespace: 'istio-system', plural: 'telemetries' };
    const gatewayStats = () => portForwardGet(kc, 'istio-system', 'istio-ingressgateway-sandbox-0', 15090, '/stats/prometheus', 10_000);
    const overridden = (text: string) =>
      text.split('\n').filter((l) => l.startsWith('istio_requests_total{') && l.includes('request_method="GET"') && !l.includes('request_protocol='));
    try {
      expect(overridden(await gatewayStats())).toEqual([]);
      await api.createNamespacedCustomObject({
        ...telemetries,
        body: {
          apiVersion: 'telemetry.istio.io/v1',
          kind: 'Telemetry',
          metadata: { name: 'mesh-default' },
          spec: {
            metrics: [
              {
                providers: [{ name: 'prometheus' }],
                overrides: [
                  {
                    match: { metric: 'REQUEST_COUNT', mode: 'CLIENT' },
                    tagOverrides: { request_method: { value: 'request.method' }, request_protocol: { operation: 'REMOVE' } },
                  },
                ],
              },
            ],
          },
        },
      });
      await waitFor(
        "the gateway's istio_requests_total with request_method added and request_protocol removed",
        async () => {
          await portForwardGet(kc, 'istio-system', 'istio-ingressgateway-sandbox-0', 8080, '/productpage', 10_000);
          return overridden(await gatewayStats()).length > 0;
        },
        30_000,
      );
      const series = overridden(await gatewayStats());
      expect(series.some((l) => l.includes('destination_service_name="productpage"'))).toBe(true);
    } finally {
      await api.deleteNamespacedCustomObject({ ...telemetries, name: 'mesh-default' }).catch(() => {});
    }
  });

  it("the API server's egress refuses an address no played pod has (istiod's pod runs no proxy): nothing is dialled outside loopback", async () => {
    const istiod = await kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: 'istio-system', name: 'istiod-sandbox-0' });
    const got = await new KubeApi(kc).raw('GET', '/api/v1/namespaces/istio-system/pods/istiod-sandbox-0:15014/proxy/version');
    expect(got.code).toBe(503);
    expect(got.body).toContain(`while dialing ${istiod.status!.podIP}:15014, code 403`);
    const status = (await (await fetch(`http://127.0.0.1:${state.ports.pods}/status`)).json()) as { egressRefused: string[] };
    expect(status.egressRefused).toContain(`CONNECT ${istiod.status!.podIP}:15014: no sandbox pod or node has this address; nothing leaves loopback`);
  });

  it("the kube target runs experiments end to end on the sandbox: apply through the API server, istiod pushes to the played pods, convergence by syncz, load through the gateway's port-forward (the Service's host-url taken away, as on a cluster without one), counters, exact restore", async () => {
    const experiments = [
      '01-route-all-v1.yaml',
      '05-mtls-strict.yaml',
      '06-deny-ratings.yaml',
      '09-ratelimit-ratings.yaml',
      '21-ratings-abort-jason.yaml',
      '26-outlier-ejection.yaml',
    ];
    const before = await new KubeApi(kc).list('networking.istio.io/v1', 'VirtualService', { namespace: 'default' });
    const reports = tempDir('meshproof-sandbox-e2e-');
    await annotateGatewayHostUrl(null);
    try {
      const run = await runOnSandbox(
        experiments.map((e) => join(root, 'experiments', 'bookinfo', e)),
        reports,
        300_000,
      );
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/PASS 6 passed/);
      expect(run.output).toMatch(/port-forwarding http:\/\/127\.0\.0\.1:\d+ to istio-ingressgateway-sandbox-0:8080/);
      expect(run.output).toMatch(/port-forward: tunnels for the load's \d+ connection\(s\) ahead of it: \d+ opened/);
      const result = JSON.parse(readFileSync(join(reports, 'result.json'), 'utf8')) as {
        target: { kind: string; controlPlane?: string };
        experiments: { name: string; convergence?: { probeSkipped?: string } }[];
      };
      expect(result.target.kind).toBe('kube');
      expect(result.experiments.find((e) => e.name === 'outlier-ejection')?.convergence?.probeSkipped).toMatch(/outlier detection/);
    } finally {
      rmSync(reports, { recursive: true, force: true });
      await annotateGatewayHostUrl(gatewayHostUrl(state.ports));
    }
    const after = await new KubeApi(kc).list('networking.istio.io/v1', 'VirtualService', { namespace: 'default' });
    expect(after.map((o) => o.metadata.name).sort()).toEqual(before.map((o) => o.metadata.name).sort());
  }, 360_000);

  it("the ingress gateway on this host, as on kind-up's cluster: the Service's host-url names the sandbox's twelfth port, the gateway answers there, and the kube target's load goes there with no port-forward", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const service = await core.readNamespacedService({ namespace: 'istio-system', name: 'istio-ingressgateway' });
    expect(service.metadata?.annotations?.['meshproof.dev/host-url']).toBe('http://127.0.0.1:26411');
    expect(gatewayHostUrl(state.ports)).toBe('http://127.0.0.1:26411');
    const page = await fetch('http://127.0.0.1:26411/productpage');
    expect(page.status).toBe(200);
    expect(page.headers.get('server')).toBe('istio-envoy'); // the gateway's answer, Envoy's server header
    expect(await page.text()).toContain('Book Details');

    const reports = tempDir('meshproof-sandbox-host-url-');
    try {
      const run = await runOnSandbox([join(root, 'experiments', 'bookinfo', '01-route-all-v1.yaml')], reports, 120_000);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/PASS 1 passed/);
      expect(run.output).not.toContain('port-forwarding');
      expect(run.output).not.toContain('tunnels for the load');
    } finally {
      rmSync(reports, { recursive: true, force: true });
    }
  }, 180_000);

  it("refuses an experiment whose VirtualService an older one of the namespace would shadow for the sidecars (IST0109; found when a left-over VirtualService silently voided a fault), exit 2 at the file's line, nothing applied", async () => {
    const api = new KubeApi(kc);
    await api.create({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'ratings-old', namespace: 'default' },
      spec: { hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' } }] }] },
    });
    try {
      const run = await runOnSandbox(['experiments/bookinfo/21-ratings-abort-jason.yaml'], join(stateDir, 'shadowed'), 120_000);
      expect(run.code, run.output).toBe(2);
      expect(run.output.replace(/\s+/g, ' ')).toMatch(
        /experiments\/bookinfo\/21-ratings-abort-jason\.yaml:\d+:\d+: VirtualService ratings: spec\.hosts\[0\]: host ratings\.default\.svc\.cluster\.local is already routed for the mesh by VirtualService default\/ratings-old/,
      );
      expect(await api.get({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'default', name: 'ratings' })).toBeUndefined();
    } finally {
      await api.delete({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'default', name: 'ratings-old' });
    }
  });

  it('the shipped ClusterRole grants exactly what the kube target does, as the real RBAC authorizer answers (issue 14 D5)', async () => {
    const role = parseAllDocuments(readFileSync(join(root, 'deploy', 'rbac', 'meshproof-clusterrole.yaml'), 'utf8'))[0]!.toJS();
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    await rbac.createClusterRole({ body: role });
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'meshproof-rbac' } } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'meshproof-rbac' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'meshproof' },
        subjects: [{ kind: 'ServiceAccount', name: 'meshproof-rbac', namespace: 'default' }],
      },
    });
    const token = (
      await core.createNamespacedServiceAccountToken({
        namespace: 'default',
        name: 'meshproof-rbac',
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      })
    ).status!.token;
    const as = new KubeConfig();
    as.loadFromOptions({
      clusters: [
        {
          name: 'sandbox',
          server: state.server,
          caData: kc.getCurrentCluster()!.caData,
          ...(kc.getCurrentCluster()!.caFile ? { caFile: kc.getCurrentCluster()!.caFile } : {}),
        },
      ],
      users: [{ name: 'meshproof-rbac', token }],
      contexts: [{ name: 'meshproof-rbac', cluster: 'sandbox', user: 'meshproof-rbac' }],
      currentContext: 'meshproof-rbac',
    });
    const review = as.makeApiClient(AuthorizationV1Api);
    const can = async (verb: string, resource: string, group = '', subresource?: string, namespace = 'default') =>
      (
        await review.createSelfSubjectAccessReview({
          body: { spec: { resourceAttributes: { verb, resource, group, namespace, ...(subresource ? { subresource } : {}) } } },
        })
      ).status!.allowed;
    // What the kube target does (src/targets/kube): apply/replace/delete Istio kinds, journal ConfigMaps, read pods and
    // services, port-forward to istiod and the sidecars, the service proxy for outside requests.
    const needed: [string, string, string, string?, string?][] = [
      ...['get', 'list', 'create', 'update', 'patch', 'delete'].flatMap((verb): [string, string, string][] => [
        [verb, 'virtualservices', 'networking.istio.io'],
        [verb, 'envoyfilters', 'networking.istio.io'],
        [verb, 'authorizationpolicies', 'security.istio.io'],
        [verb, 'configmaps', ''],
      ]),
      ['get', 'configmaps', '', undefined, 'istio-system'],
      ['list', 'pods', '', undefined, 'istio-system'],
      ['get', 'services', ''],
      ['get', 'pods', '', 'portforward'],
      ['create', 'pods', '', 'portforward'],
      ['get', 'services', '', 'proxy'],
    ];
    for (const [verb, resource, group, subresource, namespace] of needed) {
      expect(await can(verb, resource, group, subresource, namespace), `${verb} ${group}/${resource}${subresource ? `/${subresource}` : ''}`).toBe(true);
    }
    // And no more than that: no secrets, no writes to pods or services, nothing cluster-scoped like nodes.
    expect(await can('get', 'secrets')).toBe(false);
    expect(await can('delete', 'pods')).toBe(false);
    expect(await can('create', 'services')).toBe(false);
    expect(await can('exec', 'pods', '', 'exec')).toBe(false);
    // The real thing, with that token: the port-forward to istiod's monitoring port goes through.
    expect(await portForwardGet(as, 'istio-system', 'istiod-sandbox-0', 15014, '/version', 10_000)).toMatch(/^1\.31/);

    // And a whole run with nothing but that role: apply, convergence, counters, a client outside the mesh, restore.
    const kubeconfigAs = (user: string, userToken: string) => {
      const file = join(stateDir, `kubeconfig-${user}`);
      writeFileSync(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          'current-context': SANDBOX_CONTEXT,
          clusters: [
            {
              name: 'sandbox',
              cluster: { server: state.server, 'certificate-authority-data': Buffer.from(readFileSync(join(stateDir, 'pki', 'ca.crt'))).toString('base64') },
            },
          ],
          users: [{ name: user, user: { token: userToken } }],
          contexts: [{ name: SANDBOX_CONTEXT, context: { cluster: 'sandbox', user } }],
        }),
      );
      return file;
    };
    const runAs = (file: string, experiment: string) =>
      new Promise<{ code: number; output: string }>((done) =>
        execFile(
          process.execPath,
          [
            join(root, 'bin', 'meshproof.js'),
            'run',
            `experiments/bookinfo/${experiment}`,
            '--target',
            'kube',
            '--context',
            SANDBOX_CONTEXT,
            '--kubeconfig',
            file,
            '--report-dir',
            join(stateDir, `rbac-${experiment}`),
          ],
          { env, cwd: root, timeout: 120_000 },
          (error, stdout, stderr) => done({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) : 0, output: `${stdout}${stderr}` }),
        ),
      );
    const full = await runAs(kubeconfigAs('meshproof-rbac', token), '05-mtls-strict.yaml');
    expect(full.code, full.output).toBe(0);

    // The same role without services/proxy: the API server itself refuses the client outside the mesh (403), a target
    // failure (exit 3), not the mesh's answer; the cluster is left as found.
    await rbac.createClusterRole({
      body: {
        ...role,
        metadata: { name: 'meshproof-no-proxy' },
        rules: role.rules.filter((r: { resources: string[] }) => !r.resources.includes('services/proxy')),
      },
    });
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'meshproof-no-proxy' } } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'meshproof-no-proxy' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'meshproof-no-proxy' },
        subjects: [{ kind: 'ServiceAccount', name: 'meshproof-no-proxy', namespace: 'default' }],
      },
    });
    const narrow = (
      await core.createNamespacedServiceAccountToken({
        namespace: 'default',
        name: 'meshproof-no-proxy',
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      })
    ).status!.token!;
    const refused = await runAs(kubeconfigAs('meshproof-no-proxy', narrow), '05-mtls-strict.yaml');
    expect(refused.code, refused.output).toBe(3);
    expect(refused.output.replace(/\s+/g, ' ')).toContain('the API server itself answered the client outside the mesh for ratings:9080');
    expect(
      await new KubeApi(kc).get({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', namespace: 'default', name: 'default' }),
    ).toBeUndefined();
  }, 300_000);

  it("restore puts field ownership back exactly: the owner's next server-side apply does not conflict (issue 14 D1)", async () => {
    const api = new KubeApi(kc);
    const ref = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'default', name: 'owned-reviews' };
    const path = '/apis/networking.istio.io/v1/namespaces/default/virtualservices/owned-reviews';
    const ownerApply = (subset: string) =>
      api.raw('PATCH', path, {
        query: { fieldManager: 'owner' },
        contentType: 'application/apply-patch+yaml',
        body: JSON.stringify({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, namespace: 'default' },
          spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset } }] }] },
        }),
      });
    const managers = (o: K8sObject) => ((o.metadata.managedFields as { manager: string }[] | undefined) ?? []).map((m) => m.manager).sort();
    for (const lose of ['changed', 'deleted'] as const) {
      expect([200, 201]).toContain((await ownerApply('v1')).code);
      const prior = savedForm((await api.get(ref))!);
      expect(managers(prior)).toEqual(['owner']);
      // The run: meshproof replaces the object (or it disappears), then restores it from the journal.
      if (lose === 'changed') {
        const live = (await api.get(ref))!;
        await api.replace({
          ...savedForm(live),
          metadata: { ...savedForm(live).metadata, resourceVersion: live.metadata.resourceVersion },
          spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v3' } }] }] },
        });
        expect(managers((await api.get(ref))!)).toContain('meshproof');
      } else {
        await api.delete(ref);
      }
      const report = await replayJournal(api, {
        format: 1,
        runId: 'mp-d1',
        context: SANDBOX_CONTEXT,
        server: state.server,
        namespace: 'default',
        pid: process.pid,
        host: 'test',
        createdAt: new Date().toISOString(),
        entries: [{ ref, existed: true, prior }],
      });
      expect(report.errors, lose).toEqual([]);
      const restored = (await api.get(ref))!;
      expect(comparableForm(restored), lose).toEqual(comparableForm(prior));
      expect(managers(restored), lose).toEqual(['owner']);
      // The owner goes on as before: a server-side apply of a new route is not a conflict with meshproof.
      const next = await ownerApply('v2');
      expect(next.code, `${lose}: ${next.body}`).toBe(200);
      if (lose === 'changed') await api.delete(ref);
    }
    await api.delete(ref);
  });

  // The kube target's lifecycle on the real API server and istiod (these ran on the hand-written stand-in before).
  describe("the kube target's journal, replace, restore and cleanup on the real API server", () => {
    const journalState = tempDir('meshproof-sandbox-journal-');
    const savedXdg = process.env.XDG_STATE_HOME;
    beforeAll(() => {
      process.env.XDG_STATE_HOME = journalState; // the local journal copies of these runs, apart from the user's
    });
    afterAll(() => {
      if (savedXdg === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = savedXdg;
      rmSync(journalState, { recursive: true, force: true });
    });
    const kubeTarget = (extra: Partial<KubeTargetOptions> = {}) =>
      new KubeTarget({ scenario: 'bookinfo', context: SANDBOX_CONTEXT, kubeconfig: state.kubeconfig, pollIntervalMs: 100, ...extra });
    const ref = (kind: string, name: string) => ({
      apiVersion: kind === 'AuthorizationPolicy' ? 'security.istio.io/v1' : 'networking.istio.io/v1',
      kind,
      namespace: 'default',
      name,
    });
    const userRule = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'user-details', namespace: 'default', labels: { team: 'payments' } },
      spec: {
        host: 'details.default.svc.cluster.local',
        trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1, interval: '1s', baseEjectionTime: '3m' } },
      },
    } as K8sObject;
    const runObjects = (): K8sObject[] => [
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'user-details' },
        spec: { host: 'details.default.svc.cluster.local', trafficPolicy: { connectionPool: { http: { http1MaxPendingRequests: 7 } } } },
      },
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'lifecycle-allow' },
        spec: { selector: { matchLabels: { app: 'details' } }, action: 'ALLOW', rules: [{}] },
      },
    ];

    it("replaces a user's object whole during the run (a field the experiment leaves out is gone) and restores it exactly", async () => {
      const api = new KubeApi(kc);
      // The user's own tool writes it (server-side apply, field manager `payments-ci`): meshproof does not manage it.
      const created = await api.raw('PATCH', '/apis/networking.istio.io/v1/namespaces/default/destinationrules/user-details', {
        query: { fieldManager: 'payments-ci' },
        contentType: 'application/apply-patch+yaml',
        body: JSON.stringify(userRule),
      });
      expect(created.code, created.body).toBe(201);
      const prior = (await api.get(ref('DestinationRule', 'user-details')))!;
      const t = kubeTarget();
      await t.prepare();
      await t.apply(runObjects(), 'mp-lifecycle-a');
      const during = (await api.get(ref('DestinationRule', 'user-details')))!;
      expect(during.spec).toEqual(runObjects()[0]!.spec);
      await t.waitConverged(30_000);
      const report = await t.restore();
      expect(report.errors).toEqual([]);
      expect(report.restored).toEqual(['DestinationRule/default/user-details']);
      expect(report.deleted).toEqual(['AuthorizationPolicy/default/lifecycle-allow']);
      expect(comparableForm((await api.get(ref('DestinationRule', 'user-details')))!)).toEqual(comparableForm(prior));
      expect(await api.get(ref('AuthorizationPolicy', 'lifecycle-allow'))).toBeUndefined();
      expect(await t.restore()).toEqual({ deleted: [], restored: [], errors: [] }); // idempotent
    }, 90_000);

    it('leaves an object someone else created meanwhile under the same name in place, and says so', async () => {
      const api = new KubeApi(kc);
      const t = kubeTarget();
      await t.prepare();
      await t.apply(runObjects(), 'mp-lifecycle-b');
      // Someone deletes the run's policy and creates their own of that name.
      await api.delete(ref('AuthorizationPolicy', 'lifecycle-allow'));
      await api.create({
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'lifecycle-allow', namespace: 'default' },
        spec: { selector: { matchLabels: { app: 'details' } }, action: 'ALLOW', rules: [{}] },
      } as K8sObject);
      const report = await t.restore();
      expect(report.errors).toEqual([
        expect.stringMatching(/AuthorizationPolicy\/default\/lifecycle-allow was created after this run started by someone else/),
      ]);
      expect(await api.get(ref('AuthorizationPolicy', 'lifecycle-allow'))).toBeDefined();
      await api.delete(ref('AuthorizationPolicy', 'lifecycle-allow'));
      // The journal stays while a restore reported a problem; cleanup finishes it once the other object is gone.
      const reports = await cleanup({ kubeconfig: state.kubeconfig, context: SANDBOX_CONTEXT });
      expect(reports.map((r) => r.errors)).toEqual([[]]);
      expect(await cleanup({ kubeconfig: state.kubeconfig, context: SANDBOX_CONTEXT })).toEqual([]);
    }, 90_000);

    // Moved from the hand-written stand-in (test/kube/kube-target.test.ts): what the real API server and istiod answer.
    it("prepare: the sandbox context, the pinned Istio version from istiod's image, every proxy found", async () => {
      const t = kubeTarget();
      const info = await t.prepare();
      expect(info).toMatchObject({ kind: 'kube', context: SANDBOX_CONTEXT, istioVersion: istioctlVersion });
      expect(info.description).toContain('7 proxies');
      await t.close();
    });

    it("apply: server-side apply for new objects and a whole replace of the user's, labelled with the run id, the journal first; waitConverged: every proxy the DestinationRule reaches has ACKed a push after it; restore deletes what the run made and puts the rest back exactly", async () => {
      const api = new KubeApi(kc);
      const userRoute = {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'reviews', namespace: 'default', labels: { team: 'books' }, annotations: { owner: 'books-team' } },
        spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] },
      };
      const created = await api.raw('PATCH', '/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews', {
        query: { fieldManager: 'books-ci' },
        contentType: 'application/apply-patch+yaml',
        body: JSON.stringify(userRoute),
      });
      expect(created.code, created.body).toBe(201);
      const prior = (await api.get(ref('VirtualService', 'reviews')))!;
      const t = kubeTarget();
      await t.prepare();
      await t.apply(experimentObjects(), 'mp-apply-1');
      const journal = (await api.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'meshproof-journal-mp-apply-1' }))!;
      const saved = JSON.parse((journal.data as Record<string, string>)['journal.json']!) as {
        entries: { ref: { kind: string; name: string }; existed: boolean; prior: { spec: unknown } }[];
      };
      expect(saved.entries.map((e) => [e.ref.kind, e.ref.name, e.existed])).toEqual([
        ['VirtualService', 'reviews', true],
        ['VirtualService', 'ratings', false],
        ['DestinationRule', 'ratings', false],
        ['AuthorizationPolicy', 'ratings-viewer', false],
      ]);
      expect(saved.entries[0]!.prior.spec).toEqual(userRoute.spec);
      expect(existsSync(join(journalState, 'meshproof', 'journal', 'mp-apply-1.json'))).toBe(true);
      const objects = await Promise.all(experimentObjects().map((o) => api.get(ref(o.kind, o.metadata.name))));
      // etcd's revisions order the writes: the journal went in before any Istio object changed.
      for (const o of objects) expect(Number(o!.metadata.resourceVersion)).toBeGreaterThan(Number(journal.metadata.resourceVersion));
      for (const o of objects) expect(o!.metadata.labels?.[runLabel], o!.metadata.name).toBe('mp-apply-1');
      const operations = (o: K8sObject) =>
        ((o.metadata.managedFields as { manager: string; operation: string }[] | undefined) ?? [])
          .filter((m) => m.manager === 'meshproof')
          .map((m) => m.operation);
      expect(operations(objects[0]!)).toEqual(['Update']); // the user's object: replaced whole (PUT)
      for (const o of objects.slice(1)) expect(operations(o!), o!.metadata.name).toEqual(['Apply']); // new: server-side apply
      expect(objects[0]!.metadata.labels).toEqual({ team: 'books', [runLabel]: 'mp-apply-1' });
      expect(objects[0]!.metadata.annotations).toEqual(prior.metadata.annotations);

      const converged = await t.waitConverged(30_000);
      expect(converged.proxies).toHaveLength(7); // the DestinationRule reaches every proxy, the gateway too
      expect(converged.proxies.every((p) => p.synced)).toBe(true);
      expect(converged.version).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\/\d+$/);

      const report = await t.restore();
      expect(report.errors).toEqual([]);
      expect(report.restored).toEqual(['VirtualService/default/reviews']);
      expect(report.deleted.sort()).toEqual([
        'AuthorizationPolicy/default/ratings-viewer',
        'DestinationRule/default/ratings',
        'VirtualService/default/ratings',
      ]);
      expect(comparableForm((await api.get(ref('VirtualService', 'reviews')))!)).toEqual(comparableForm(prior));
      for (const o of experimentObjects().slice(1)) expect(await api.get(ref(o.kind, o.metadata.name))).toBeUndefined();
      expect(await api.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'meshproof-journal-mp-apply-1' })).toBeUndefined();
      expect(existsSync(join(journalState, 'meshproof', 'journal', 'mp-apply-1.json'))).toBe(false);
      expect(await t.restore()).toEqual({ deleted: [], restored: [], errors: [] }); // idempotent

      // An object equal to the cluster's is not pushed by istiod (needsPush): nothing to wait for, and none expected.
      const same = await kubeTarget();
      await same.prepare();
      await same.apply(
        [{ apiVersion: userRoute.apiVersion, kind: userRoute.kind, metadata: { name: 'reviews' }, spec: structuredClone(userRoute.spec) }],
        'mp-apply-2',
      );
      expect((await same.waitConverged(5_000)).proxies).toEqual([]);
      expect(await same.restore()).toEqual({ deleted: [], restored: ['VirtualService/default/reviews'], errors: [] });
      expect(comparableForm((await api.get(ref('VirtualService', 'reviews')))!)).toEqual(comparableForm(prior));
      await api.delete(ref('VirtualService', 'reviews'));
    }, 120_000);

    it("the API server's refusals are bad input before anything changes: an invalid label value (the real message, at its field), a kind the cluster does not serve", async () => {
      const api = new KubeApi(kc);
      const t = kubeTarget();
      await t.prepare();
      const bad = {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'bad', labels: { 'not valid!': 'x' } },
        spec: { hosts: ['reviews'] },
      } as K8sObject;
      const error = await t.apply([bad], 'mp-bad-1').catch((e: Error) => e);
      expect(error).toBeInstanceOf(SpecError);
      expect((error as SpecError).format()).toMatch(
        /^VirtualService bad: metadata.labels: the API server rejected it: .*metadata.labels: Invalid value: "not valid!"/s,
      );
      expect((await t.restore()).errors).toEqual([]);
      expect(await api.get(ref('VirtualService', 'bad'))).toBeUndefined();
      const unserved = { apiVersion: 'networking.istio.io/v1', kind: 'Telemetry', metadata: { name: 'x' }, spec: {} } as K8sObject;
      await expect(t.snapshot([unserved])).rejects.toThrow(SpecError);
      const journals = (await api.list('v1', 'ConfigMap', { namespace: 'default' })).filter((o) => o.metadata.name.startsWith('meshproof-journal'));
      expect(journals).toEqual([]);
      await t.close();
    });

    it('a PeerAuthentication selecting one workload is waited for on every proxy, as istiod pushes it to callers too', async () => {
      const t = kubeTarget();
      await t.prepare();
      await t.apply(
        [
          {
            apiVersion: 'security.istio.io/v1',
            kind: 'PeerAuthentication',
            metadata: { name: 'ratings-strict' },
            spec: { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'STRICT' } },
          } as K8sObject,
        ],
        'mp-pa-1',
      );
      const report = await t.waitConverged(30_000);
      expect(report.proxies).toHaveLength(7);
      expect(report.proxies.map((p) => p.name)).toContain('istio-ingressgateway-sandbox-0.istio-system');
      expect((await t.restore()).errors).toEqual([]);
    }, 60_000);

    it("counters: every sidecar's and the gateway's :15090/stats/prometheus through port-forward, one series set per workload", async () => {
      const t = kubeTarget();
      await t.prepare();
      const samples = await t.counters();
      expect(new Set(samples.map((s) => s.proxy))).toEqual(
        new Set(['details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'productpage-v1', 'istio-ingressgateway']),
      );
      expect(samples.some((s) => s.name === 'envoy_cluster_membership_healthy' && s.proxy === 'productpage-v1')).toBe(true);
      await t.close();
    });

    it('entrypoint: the URL the user gives, else the gateway Service annotation (kind-up and sandbox-up set it), else a port-forward to the gateway pod', async () => {
      const given = kubeTarget({ url: 'http://127.0.0.1:9999/' });
      await given.prepare();
      expect(await given.entrypoint()).toBe('http://127.0.0.1:9999');
      await given.close();

      const annotated = kubeTarget();
      await annotated.prepare();
      expect(await annotated.entrypoint()).toBe(gatewayHostUrl(state.ports));
      await annotated.close();

      await annotateGatewayHostUrl(null);
      try {
        const forwarded = kubeTarget();
        await forwarded.prepare();
        const url = await forwarded.entrypoint();
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(url).not.toBe(gatewayHostUrl(state.ports));
        const page = await fetch(`${url}/productpage`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('Book Details');
        await forwarded.close();
      } finally {
        await annotateGatewayHostUrl(gatewayHostUrl(state.ports));
      }
      const core = kc.makeApiClient(CoreV1Api);
      expect(
        (await core.readNamespacedService({ namespace: 'istio-system', name: 'istio-ingressgateway' })).metadata?.annotations?.['meshproof.dev/host-url'],
      ).toBe(gatewayHostUrl(state.ports));
    }, 60_000);

    it('cleanup replays the journal of a run that never restored, from the cluster copy alone', async () => {
      const api = new KubeApi(kc);
      const prior = (await api.get(ref('DestinationRule', 'user-details')))!;
      const t = kubeTarget();
      await t.prepare();
      await t.apply(runObjects(), 'mp-lifecycle-c');
      rmSync(join(journalState, 'meshproof'), { recursive: true, force: true }); // the run's machine is gone
      const reports = await cleanup({ kubeconfig: state.kubeconfig, context: SANDBOX_CONTEXT });
      expect(reports.map((r) => r.errors)).toEqual([[]]);
      expect(comparableForm((await api.get(ref('DestinationRule', 'user-details')))!)).toEqual(comparableForm(prior));
      expect(await api.get(ref('AuthorizationPolicy', 'lifecycle-allow'))).toBeUndefined();
      expect(await cleanup({ kubeconfig: state.kubeconfig, context: SANDBOX_CONTEXT })).toEqual([]);
    }, 90_000);

    it("cleanup without any journal deletes what only meshproof manages, and reports the user's changed object instead of guessing", async () => {
      const api = new KubeApi(kc);
      const prior = (await api.get(ref('DestinationRule', 'user-details')))!;
      const t = kubeTarget();
      await t.prepare();
      await t.apply(runObjects(), 'mp-lifecycle-d');
      rmSync(join(journalState, 'meshproof'), { recursive: true, force: true });
      const journals = await api.list('v1', 'ConfigMap', { namespace: 'default' });
      for (const j of journals.filter((o) => o.metadata.name.startsWith('meshproof-journal')))
        await api.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: j.metadata.name });
      const reports = await cleanup({ kubeconfig: state.kubeconfig, context: SANDBOX_CONTEXT });
      const orphans = reports.at(-1)!;
      expect(orphans.deleted).toEqual(['AuthorizationPolicy/default/lifecycle-allow']);
      expect(orphans.errors.join('\n')).toMatch(/DestinationRule\/default\/user-details is labelled meshproof.dev\/run=mp-lifecycle-d but no journal/);
      // Put the user's object back by hand, as the report asks, and leave the cluster as found.
      const live = (await api.get(ref('DestinationRule', 'user-details')))!;
      await api.replace({ ...savedForm(prior), metadata: { ...savedForm(prior).metadata, resourceVersion: live.metadata.resourceVersion } });
      await api.delete(ref('DestinationRule', 'user-details'));
    }, 90_000);
  });

  // A client outside the mesh through the real API server's service proxy (moved from the stand-in,
  // test/kube/outside-entrypoint.test.ts): the played sidecars enforce the mTLS istiod pushes them.
  describe('KubeTarget.outsideEntrypoint on the sandbox (services/proxy, a client without a sidecar)', () => {
    /** A plain HTTP GET; resolves with the status or rejects with the socket error (e.g. ECONNRESET). */
    const get = (url: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(url, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    const peerAuthentication = (name: string, namespace: string, spec: Record<string, unknown>) =>
      ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name, namespace }, spec }) as K8sObject;
    // The previous tests delete objects without waiting for istiod's push: the kube target's push baseline waits for
    // the sync status to stand still (convergence.ts recordBaseline), or STRICT "converged" on that push here.
    const prepared = async () => {
      const t = new KubeTarget({ scenario: 'bookinfo', context: SANDBOX_CONTEXT, kubeconfig: state.kubeconfig, pollIntervalMs: 100 });
      await t.prepare();
      return t;
    };

    it('is reset under STRICT mTLS (namespace policy) and answered again after restore', async () => {
      const t = await prepared();
      try {
        const base = await t.outsideEntrypoint('ratings', 9080);
        expect(await get(`${base}/ratings/0`)).toBe(200);
        await t.apply([peerAuthentication('default', 'default', { mtls: { mode: 'STRICT' } })], 'mp-outside-1');
        await t.waitConverged(30_000);
        await expect(get(`${base}/ratings/0`)).rejects.toMatchObject({ code: 'ECONNRESET' });
        expect((await t.restore()).errors).toEqual([]);
        expect(await get(`${base}/ratings/0`)).toBe(200);
      } finally {
        await t.restore(); // idempotent; puts the mesh back when an expectation above failed
        await t.close();
      }
    }, 60_000);

    it('follows PeerAuthentication precedence: a workload policy over the mesh one, port-level over workload-level, UNSET inherits', async () => {
      const t = await prepared();
      try {
        const ratings = await t.outsideEntrypoint('ratings', 9080);
        const details = await t.outsideEntrypoint('details', 9080);
        await t.apply(
          [
            peerAuthentication('mesh', 'istio-system', { mtls: { mode: 'STRICT' } }),
            peerAuthentication('ratings-permissive', 'default', { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'PERMISSIVE' } }),
            peerAuthentication('details-unset', 'default', { selector: { matchLabels: { app: 'details' } }, mtls: { mode: 'UNSET' } }),
          ],
          'mp-outside-2',
        );
        await t.waitConverged(30_000);
        expect(await get(`${ratings}/ratings/0`)).toBe(200);
        await expect(get(`${details}/details/0`)).rejects.toMatchObject({ code: 'ECONNRESET' });
        await t.apply(
          [
            peerAuthentication('ratings-permissive', 'default', {
              selector: { matchLabels: { app: 'ratings' } },
              mtls: { mode: 'PERMISSIVE' },
              portLevelMtls: { 9080: { mode: 'STRICT' } },
            }),
          ],
          'mp-outside-2',
        );
        await t.waitConverged(30_000);
        await expect(get(`${ratings}/ratings/0`)).rejects.toMatchObject({ code: 'ECONNRESET' });
        expect((await t.restore()).errors).toEqual([]);
      } finally {
        await t.restore(); // idempotent; puts the mesh back when an expectation above failed
        await t.close();
      }
    }, 90_000);

    it("resets the client when the Service has no ready endpoint (the controller's empty EndpointSlice), as a connection to it would fail", async () => {
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'nobody' }, spec: { selector: { app: 'nobody' }, ports: [{ name: 'http', port: 9080 }] } },
      });
      const t = await prepared();
      try {
        await expect(get(`${await t.outsideEntrypoint('nobody', 9080)}/`)).rejects.toMatchObject({ code: 'ECONNRESET' });
      } finally {
        await t.close();
        await core.deleteNamespacedService({ namespace: 'default', name: 'nobody' });
      }
    });

    it('names a Service or port that does not exist, and stops its relays on close()', async () => {
      const t = await prepared();
      await expect(t.outsideEntrypoint('nope', 9080)).rejects.toThrow(`no Service nope in namespace default of context ${SANDBOX_CONTEXT}`);
      await expect(t.outsideEntrypoint('ratings', 8080)).rejects.toThrow('Service default/ratings has no port 8080 (it has 9080)');
      const base = await t.outsideEntrypoint('ratings', 9080);
      expect(await get(`${base}/ratings/0`)).toBe(200);
      await t.close();
      await expect(get(`${base}/ratings/0`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });
  });

  // The CLI against the real API server (moved from the stand-in: test/kube/cli-run.test.ts, tutorial-cli.test.ts).
  describe('meshproof run and tutorial on the sandbox: refusals and interrupts leave the cluster as found', () => {
    const kinds = [
      ['networking.istio.io/v1', 'VirtualService'],
      ['networking.istio.io/v1', 'DestinationRule'],
      ['networking.istio.io/v1', 'Gateway'],
      ['security.istio.io/v1', 'AuthorizationPolicy'],
      ['security.istio.io/v1', 'PeerAuthentication'],
      ['networking.istio.io/v1alpha3', 'EnvoyFilter'],
    ] as const;
    /** Every Istio object of the sandbox in its comparable form, and every journal ConfigMap. */
    const clusterState = async () => {
      const api = new KubeApi(kc);
      const objects: unknown[] = [];
      for (const namespace of ['default', 'istio-system']) {
        for (const [apiVersion, kind] of kinds) objects.push(...(await api.list(apiVersion, kind, { namespace })).map((o) => comparableForm(o)));
        objects.push(
          ...(await api.list('v1', 'ConfigMap', { namespace })).filter((o) => o.metadata.name.startsWith('meshproof-journal')).map((o) => o.metadata.name),
        );
      }
      return objects;
    };
    const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
      new Promise<{ code: number; stderr: string }>((done) =>
        execFile(
          process.execPath,
          [join(root, 'bin', 'meshproof.js'), ...args],
          { env: { ...env, NO_COLOR: '1', KUBECONFIG: state.kubeconfig, ...extraEnv }, cwd: root, timeout: 120_000 },
          (error, _stdout, stderr) => done({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) : 0, stderr }),
        ),
      );

    it('refuses a context that is not kind-* or the sandbox without --allow-context (exit 3): no report, no run line, nothing changed (issue 14 D8)', async () => {
      const before = await clusterState();
      const kubeconfig = join(stateDir, 'staging.kubeconfig');
      writeFileSync(kubeconfig, readFileSync(state.kubeconfig, 'utf8').replaceAll(SANDBOX_CONTEXT, 'staging'));
      const reportDir = tempDir('meshproof-kube-run-');
      const { code, stderr } = await cli([
        'run',
        'experiments/bookinfo/05-mtls-strict.yaml',
        '--target',
        'kube',
        '--context',
        'staging',
        '--kubeconfig',
        kubeconfig,
        '--report-dir',
        reportDir,
      ]);
      expect(stderr).toContain('--context staging --allow-context');
      expect(code, stderr).toBe(3);
      expect(existsSync(join(reportDir, 'index.html'))).toBe(false);
      expect(stderr).not.toMatch(/Istio unknown|meshproof run mp-/);
      expect(await clusterState()).toEqual(before);
    });

    it('tutorial --converge-timeout reaches the kube target: a 1 ms wait fails the first step (exit 3) and the cluster is left as found', async () => {
      const before = await clusterState();
      const reportDir = tempDir('meshproof-tutorial-');
      const { code, stderr } = await cli([
        'tutorial',
        '--yes',
        '--target',
        'kube',
        '--context',
        SANDBOX_CONTEXT,
        '--converge-timeout',
        '1ms',
        '--report-dir',
        reportDir,
      ]);
      expect(stderr).toMatch(/meshproof tutorial: bookinfo — \d+ steps on the kube target/);
      expect(stderr).toMatch(/Step 1\/\d+: route-all-v1/);
      expect(stderr).toContain('configuration did not converge in 1 ms');
      expect(code, stderr).toBe(3);
      expect(await clusterState()).toEqual(before);
    }, 60_000);

    it('tutorial --url is where the load goes; Ctrl-C during the first step restores the cluster (exit 130)', async () => {
      const before = await clusterState();
      const reportDir = tempDir('meshproof-tutorial-');
      let child: ReturnType<typeof spawn> | undefined;
      const seen: string[] = [];
      const ingress = createServer((req, res) => {
        seen.push(req.url ?? '');
        res.end('ok');
        if (seen.length === 1) child?.kill('SIGINT');
      });
      await new Promise<void>((listening) => ingress.listen(0, '127.0.0.1', listening));
      const url = `http://127.0.0.1:${(ingress.address() as AddressInfo).port}`;
      try {
        child = spawn(
          process.execPath,
          [
            join(root, 'bin', 'meshproof.js'),
            'tutorial',
            '--yes',
            '--target',
            'kube',
            '--context',
            SANDBOX_CONTEXT,
            '--url',
            url,
            '--converge-timeout',
            '20s',
            '--report-dir',
            reportDir,
          ],
          { cwd: root, env: { ...env, NO_COLOR: '1', KUBECONFIG: state.kubeconfig } },
        );
        let stderr = '';
        child.stderr?.on('data', (d) => (stderr += d));
        const code = await new Promise<number | null>((exited) => child!.on('exit', (c) => exited(c)));
        expect(seen[0]).toBe('/productpage');
        expect(stderr).toContain('Interrupted.');
        expect(code, stderr).toBe(130);
        expect(await clusterState()).toEqual(before);
      } finally {
        ingress.closeAllConnections();
        await new Promise<void>((closed) => ingress.close(() => closed()));
      }
    }, 60_000);
  });

  it('every TCP socket of the sandbox processes stays on loopback: listeners on 127.0.0.1, connections between loopback ends', () => {
    const inodes = new Set(processes.flatMap((p) => [...socketInodes(p.pid)]));
    const ours = tcpSockets().filter((s) => inodes.has(s.inode));
    expect(ours.filter((s) => s.listening).length).toBeGreaterThanOrEqual(8);
    expect(ours.filter(leavesLoopback)).toEqual([]);
  });

  it('sandbox-down stops every process and leaves no listener on the sandbox ports; a second call is harmless', async () => {
    const ports = Object.values(state.ports);
    expect(listeningOn(ports).length).toBeGreaterThan(0);
    down = await runSandboxScript('sandbox-down.ts', env);
    expect(down.code).toBe(0);
    for (const p of processes) expect(existsProcess(p.pid), `${p.name} (pid ${p.pid})`).toBe(false);
    expect(listeningOn(ports)).toEqual([]);
    const again = await runSandboxScript('sandbox-down.ts', env);
    expect(again.code).toBe(0);
    expect(again.output).toContain('sandbox is down');
  });
});

function existsProcess(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}
