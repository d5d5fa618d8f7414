// The real istiod's translation of a resource set, read the way a proxy receives it: the sandbox's istiod (as
// shipped, reading the real API server) pushes to xDS clients that play the Bookinfo sidecars; a resource set is
// created or replaced through the API server, and once istiod has pushed, every proxy has acknowledged and the sync
// status has been still for a moment, each client's Envoy config (loaded into src/envoy's model, which keeps only the
// fields that decide behaviour) is istiod's answer.
import { CoreV1Api, KubeConfig, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { EnvoyConfig } from '../envoy/model/index.ts';
import { waitFor } from '../sandbox/processes.ts';
import { SANDBOX_CONTEXT, type SandboxState } from '../sandbox/layout.ts';
import { sandboxSidecar, type SandboxSidecar } from '../sandbox/sidecar.ts';
import { resourceId } from '../spec/resources.ts';
import type { K8sObject } from '../spec/types.ts';
import { KubeApi, type ObjectRef } from '../targets/kube/api.ts';
import { parseSyncz, unacked, type ProxySync } from '../targets/kube/sync-status.ts';
import type { ProxyDescriptor, ServiceInput, WorkloadInstanceInput } from '../istio/xds/input.ts';
import { must } from '../must.ts';

/** How long the sync status must stay unchanged, all acknowledged, before a push counts as complete. */
const QUIET_MS = 400;
/**
 * After writes, how long to wait for istiod's push to show in the sync status before taking its absence as "no proxy
 * depends on them". A write reaches the proxies after the watch event, istiod's 100 ms debounce (PILOT_DEBOUNCE_AFTER)
 * and the push context's rebuild: measured on the shared 2-core machine, the first push showed 0.12–0.5 s after the
 * writes, so QUIET_MS counted from the first read alone could end before the push began.
 */
const PUSH_WAIT_MS = 3_000;
/** How often the sync status is read while waiting. */
const POLL_MS = 20;

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

  /** What the current set wrote, by kind/namespace/name: where it is, and its former form (undefined: the set created it). */
  private readonly written = new Map<string, { ref: ObjectRef; former: K8sObject | undefined }>();

  /**
   * Make the cluster hold the baseline plus exactly `objects`: undo what the previous set wrote that this one does not
   * write again, then create or replace each object as written (a PUT, as the kube target writes: fields the set leaves
   * out are gone, not kept from the baseline), wait for istiod's pushes to be acknowledged, and return each proxy's
   * config. Going from one set straight to the next leaves istiod the state that removing the first and applying the
   * second would, with one push to wait for instead of two.
   */
  async translate(objects: K8sObject[]): Promise<Map<string, EnvoyConfig>> {
    const before = await this.syncState();
    const writes = (await this.undo(new Set(objects.map(keyOf)))) + objects.length;
    for (const o of objects) await this.putObject(o);
    await this.settled(writes > 0 ? before.sent : undefined);
    return new Map(this.proxies.map((p) => [p.descriptor.podName, p.sidecar.client.config()]));
  }

  /** Back to the baseline: delete what the current set created, put back what it replaced, and wait for istiod's pushes. */
  async remove(): Promise<void> {
    const before = await this.syncState();
    if ((await this.undo(new Set())) > 0) await this.settled(before.sent);
  }

  /**
   * Delete what the current set created and put back what it replaced, except the replaced objects the next set writes
   * again (`keep`), which keep their creation time as a replace from the baseline would. What the set created is deleted
   * even when the next set has it, so the next set creates all of its objects itself, in its order (istiod orders
   * VirtualServices, DestinationRules and EnvoyFilters by creation time). Returns the number of writes.
   */
  private async undo(keep: Set<string>): Promise<number> {
    let writes = 0;
    for (const [key, { ref, former }] of this.written) {
      if (former && keep.has(key)) continue;
      if (former) await this.putObject(former);
      else await this.api.delete(ref);
      this.written.delete(key);
      writes++;
    }
    return writes;
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
    if (!this.written.has(keyOf(o)))
      this.written.set(keyOf(o), {
        ref: refOf(o),
        former: live && {
          ...written,
          metadata: { ...written.metadata, labels: live.metadata.labels, annotations: live.metadata.annotations },
          spec: live.spec,
        },
      });
    if (live) await this.api.replace({ ...written, metadata: { ...written.metadata, resourceVersion: live.metadata.resourceVersion } });
    else await this.api.create(written);
  }

  /** istiod's sync status of the played proxies: whether each acknowledged all it was sent, the nonces as text, and the
   * nonces sent alone. */
  private async syncState(): Promise<{ acked: boolean; state: string; sent: string }> {
    const text = await (await fetch(`http://127.0.0.1:${this.state.ports.istiodMonitoring}/debug/syncz`)).text();
    const sync: ProxySync[] = parseSyncz(text, 'istiod');
    const ours = sync.filter((s) => this.proxies.some((p) => s.id === `${p.descriptor.podName}.${p.descriptor.namespace}`));
    const acked = ours.length === this.proxies.length && ours.every((s) => unacked(s).length === 0);
    // istiod lists the proxies in map order, which changes between reads: compare them sorted.
    const sorted = ours.sort((a, b) => (a.id < b.id ? -1 : 1));
    const state = JSON.stringify(sorted.map((s) => [s.id, s.xds]));
    const sent = JSON.stringify(sorted.map((s) => [s.id, Object.entries(s.xds).map(([type, x]) => [type, x.sent])]));
    return { acked, state, sent };
  }

  /**
   * Until every proxy acknowledged all istiod sent and the sync status stayed unchanged for QUIET_MS. After writes
   * (`sentBefore`: the nonces sent before them), also until istiod has sent something since, or PUSH_WAIT_MS have
   * passed without a push (writes no proxy depends on).
   */
  private async settled(sentBefore?: string): Promise<void> {
    const started = Date.now();
    let last = '';
    let since = started;
    await waitFor(
      "istiod's pushes to be acknowledged by every proxy",
      async () => {
        const { acked, state, sent } = await this.syncState();
        if (!acked || state !== last) {
          last = state;
          since = Date.now();
          return false;
        }
        const pushed = sentBefore === undefined || sent !== sentBefore || Date.now() - started >= PUSH_WAIT_MS;
        return pushed && Date.now() - since >= QUIET_MS;
      },
      30_000,
      undefined,
      POLL_MS,
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
