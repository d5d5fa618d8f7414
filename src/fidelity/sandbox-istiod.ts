// The real istiod's translation of a resource set, read the way a proxy receives it: the sandbox's istiod (as
// shipped, reading the real API server) pushes to xDS clients that play the Bookinfo sidecars; a resource set is
// applied server-side through the API server, and once every proxy has acknowledged istiod's pushes and the sync
// status has been still for a moment, each client's Envoy config (loaded into src/envoy's model, which keeps only the
// fields that decide behaviour) is istiod's answer.
import { CoreV1Api, KubeConfig, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { EnvoyConfig } from '../envoy/model/index.ts';
import { waitFor } from '../sandbox/processes.ts';
import { SANDBOX_CONTEXT, type SandboxState } from '../sandbox/layout.ts';
import { sandboxSidecar, type SandboxSidecar } from '../sandbox/sidecar.ts';
import { resourceId } from '../spec/resources.ts';
import type { K8sObject } from '../spec/types.ts';
import { KubeApi } from '../targets/kube/api.ts';
import { parseSyncz, unacked, type ProxySync } from '../targets/kube/sync-status.ts';
import type { ProxyDescriptor, ServiceInput, WorkloadInstanceInput } from '../istio/xds/input.ts';
import { must } from '../must.ts';

/** How long the sync status must stay unchanged, all acknowledged, before a push counts as complete. */
const QUIET_MS = 400;

const refOf = (o: K8sObject) => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace ?? 'default', name: o.metadata.name });
const keyOf = resourceId;

export interface SandboxProxy {
  descriptor: ProxyDescriptor;
  sidecar: SandboxSidecar;
}

export class SandboxIstiod {
  readonly proxies: SandboxProxy[] = [];
  private readonly api: KubeApi;
  private readonly core: CoreV1Api;

  private constructor(private readonly state: SandboxState) {
    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfig);
    kc.setCurrentContext(SANDBOX_CONTEXT);
    this.api = new KubeApi(kc);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Connects one xDS client per sidecar pod of `namespace` and one for the ingress gateway, and waits until each has its first config. */
  static async connect(state: SandboxState, namespace = 'default'): Promise<SandboxIstiod> {
    const istiod = new SandboxIstiod(state);
    const pods = (await istiod.core.listNamespacedPod({ namespace })).items;
    for (const pod of pods) {
      istiod.proxies.push({ descriptor: descriptorOf(pod), sidecar: sandboxSidecar(pod, `127.0.0.1:${state.ports.istiodGrpc}`) });
    }
    for (const pod of (await istiod.core.listNamespacedPod({ namespace: 'istio-system', labelSelector: 'istio=ingressgateway' })).items) {
      istiod.proxies.push({
        descriptor: { ...descriptorOf(pod), type: 'router' },
        sidecar: sandboxSidecar(pod, `127.0.0.1:${state.ports.istiodGrpc}`, '1.31.0', 'router'),
      });
    }
    await Promise.all(istiod.proxies.map((p) => p.sidecar.synced()));
    return istiod;
  }

  /** The registry as istiod's Kubernetes controller sees it: Services with their ports and cluster IPs, Ready pods. */
  async registry(): Promise<{ services: ServiceInput[]; instances: WorkloadInstanceInput[] }> {
    const services: ServiceInput[] = [];
    for (const ns of ['default', 'istio-system']) {
      for (const s of (await this.core.listNamespacedService({ namespace: ns })).items) services.push(serviceInput(s));
    }
    // Every pod is an endpoint of the Services selecting it, sidecar or not (istiod, the gateway): their service
    // accounts are the SANs outbound clusters accept.
    const instances: WorkloadInstanceInput[] = [];
    for (const ns of ['default', 'istio-system']) {
      for (const p of (await this.core.listNamespacedPod({ namespace: ns })).items) instances.push({ ...descriptorOf(p), ready: true });
    }
    return { services, instances };
  }

  /** What `translate` replaced, by kind/namespace/name: the object's former form, or undefined when it did not exist. */
  private replaced = new Map<string, K8sObject | undefined>();

  /**
   * Create or replace each object as written (a PUT, as the kube target writes: fields the set leaves out are gone,
   * not kept from the baseline), wait for istiod's pushes to be acknowledged, and return each proxy's config.
   */
  async translate(objects: K8sObject[]): Promise<Map<string, EnvoyConfig>> {
    for (const o of objects) await this.putObject(o);
    await this.settled();
    return new Map(this.proxies.map((p) => [p.descriptor.podName, p.sidecar.client.config()]));
  }

  /** Undo `translate`: delete what it created, put back what it replaced, and wait for istiod's pushes again. */
  async remove(objects: K8sObject[]): Promise<void> {
    for (const o of objects) {
      const former = this.replaced.get(keyOf(o));
      if (former) await this.putObject(former);
      else await this.api.delete(refOf(o));
    }
    this.replaced.clear();
    await this.settled();
  }

  close(): void {
    for (const p of this.proxies) p.sidecar.close();
  }

  /** Replace (PUT) or create the object as written, through the kube target's API client (discovery, strict fields). */
  private async putObject(o: K8sObject): Promise<void> {
    const { metadata } = o;
    const written = {
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: {
        name: metadata.name,
        namespace: metadata.namespace ?? 'default',
        ...(metadata.labels ? { labels: metadata.labels } : {}),
        ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
      },
      spec: o.spec,
    } as K8sObject;
    const live = await this.api.get(refOf(o));
    if (!this.replaced.has(keyOf(o)))
      this.replaced.set(
        keyOf(o),
        live && { ...written, metadata: { ...written.metadata, labels: live.metadata.labels, annotations: live.metadata.annotations }, spec: live.spec },
      );
    if (live) await this.api.replace({ ...written, metadata: { ...written.metadata, resourceVersion: live.metadata.resourceVersion } });
    else await this.api.create(written);
  }

  /** Until every proxy acknowledged all istiod sent and the sync status stayed unchanged for QUIET_MS. */
  private async settled(): Promise<void> {
    let last = '';
    let since = Date.now();
    await waitFor(
      "istiod's pushes to be acknowledged by every proxy",
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${this.state.ports.istiodMonitoring}/debug/syncz`)).text();
        const sync: ProxySync[] = parseSyncz(text, 'istiod');
        const ours = sync.filter((s) => this.proxies.some((p) => s.id === `${p.descriptor.podName}.${p.descriptor.namespace}`));
        const acked = ours.length === this.proxies.length && ours.every((s) => unacked(s).length === 0);
        // istiod lists the proxies in map order, which changes between reads: compare them sorted.
        const state = JSON.stringify(ours.map((s) => [s.id, s.xds] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
        if (!acked || state !== last) {
          last = state;
          since = Date.now();
          return false;
        }
        return Date.now() - since >= QUIET_MS;
      },
      30_000,
    );
  }
}

function descriptorOf(pod: V1Pod): ProxyDescriptor {
  return {
    type: 'sidecar',
    podName: must(pod.metadata?.name, "a pod's name"),
    namespace: pod.metadata?.namespace ?? 'default',
    ip: must(pod.status?.podIP, `the address of pod ${pod.metadata?.name}`),
    labels: pod.metadata?.labels ?? {},
    serviceAccount: pod.spec?.serviceAccountName ?? 'default',
  };
}

function serviceInput(s: V1Service): ServiceInput {
  const name = must(s.metadata?.name, "a service's name");
  const namespace = s.metadata?.namespace ?? 'default';
  const clusterIp = s.spec?.clusterIP && s.spec.clusterIP !== 'None' ? s.spec.clusterIP : undefined;
  return {
    name,
    namespace,
    fqdn: `${name}.${namespace}.svc.cluster.local`,
    ports: (s.spec?.ports ?? []).map((p) => ({
      port: p.port,
      name: p.name ?? '',
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      targetPort: typeof p.targetPort === 'number' ? p.targetPort : p.port,
    })),
    selector: s.spec?.selector ?? {},
    ...(clusterIp ? { clusterIp } : {}),
  };
}
