// Deployments made after sandbox-up (e.g. by `meshproof run --target kube --deploy-echo`): the sandbox runs no
// Deployment or ReplicaSet controller, scheduler, injector or kubelet (controller-manager.ts), so the pods process
// does their part for them. Every second it reads the Deployments of namespaces labelled istio-injection=enabled that
// sandbox-up did not write, and for each new one writes its Pods as sandbox-up writes a scenario's (objects.ts: as
// Istio's injector leaves them, `<deployment>-sandbox-<n>`, bound to the node, Ready, an address of the pod range no
// pod has), has the local mesh play them (the mesh takes the Deployment and its namespace's Services, and each pod's
// proxy becomes an xDS client of istiod), writes their kwok PortForwards and the Deployment's status. A Deployment
// that is deleted — or whose namespace is — has its pods removed from the mesh and deleted at once, as a kubelet
// confirms a deletion; a changed pod template replaces its pods.
import { isDeepStrictEqual } from 'node:util';
import type { ClusterPod } from '../targets/local/ads-control-plane.ts';
import { playedPodKey } from '../targets/local/ads-control-plane.ts';
import type { LocalMesh } from '../targets/local/mesh.ts';
import type { KubeApi } from '../targets/kube/api.ts';
import { resourceId } from '../spec/resources.ts';
import type { K8sObject } from '../spec/types.ts';
import { binding, portForward, type PortForwardRule } from './kwok.ts';
import { POD_CIDR_PREFIX } from './layout.ts';
import { asInjected, deploymentWorkloads, FIELD_MANAGER, plannedPods, readyStatus, type KubeObject } from './objects.ts';

interface DeploymentView extends KubeObject {
  metadata: KubeObject['metadata'] & { generation?: number; deletionTimestamp?: string };
  spec: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: {
        serviceAccountName?: string;
        serviceAccount?: string;
        containers?: { name: string; image?: string; ports?: { name?: string; containerPort: number }[] }[];
      };
    };
  };
}

interface PodView extends KubeObject {
  status?: { podIP?: string };
}

/** A Deployment the player plays: its pods and the template they were made from. */
interface Played {
  namespace: string;
  name: string;
  template: unknown;
  replicas: number;
  pods: { name: string; ip: string; key: string }[];
}

/**
 * What the local mesh takes from a Deployment: the fields it reads, not the defaults and bookkeeping the API server
 * adds (status, managed fields, `terminationMessagePath`...) nor the echo image's env, none of which the local echo runs.
 */
export function meshDeployment(d: DeploymentView): K8sObject {
  const template = d.spec.template ?? {};
  const podSpec = template.spec ?? {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: d.metadata.name, namespace: d.metadata.namespace ?? 'default' },
    spec: {
      replicas: d.spec.replicas ?? 1,
      ...(d.spec.selector?.matchLabels ? { selector: { matchLabels: d.spec.selector.matchLabels } } : {}),
      template: {
        metadata: { labels: template.metadata?.labels ?? {}, ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}) },
        spec: {
          serviceAccountName: podSpec.serviceAccountName ?? podSpec.serviceAccount ?? 'default',
          containers: (podSpec.containers ?? []).map((c) => ({
            name: c.name,
            image: c.image ?? '',
            ...(c.ports ? { ports: c.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort })) } : {}),
          })),
        },
      },
    },
  };
}

/** A Service as the local mesh reads it: selector and ports. */
export function meshService(s: KubeObject): K8sObject {
  const spec = (s.spec ?? {}) as { selector?: Record<string, string>; ports?: Record<string, unknown>[] };
  const keep = ['name', 'port', 'targetPort', 'protocol', 'appProtocol'];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.metadata.name, namespace: s.metadata.namespace ?? 'default' },
    spec: {
      ...(spec.selector ? { selector: spec.selector } : {}),
      ports: (spec.ports ?? []).map((p) => Object.fromEntries(Object.entries(p).filter(([k]) => keep.includes(k)))),
    },
  };
}

const isInjected = (ns: KubeObject) => ns.metadata.labels?.['istio-injection'] === 'enabled';
const deleting = (o: KubeObject) => Boolean((o.metadata as { deletionTimestamp?: string }).deletionTimestamp);

export interface DeploymentPlayerOptions {
  api: KubeApi;
  mesh: LocalMesh;
  /** The mesh's played pods (PlayedCluster.pods): a pod is added before the mesh is told of its Deployment. */
  clusterPods: Map<string, ClusterPod>;
  /** A pod address → the loopback address of the local proxy that plays it (the API server's egress). */
  played: Map<string, string>;
  /** `<namespace>/<name>` of the Deployments sandbox-up wrote pods for (the scenario's). */
  scenarioDeployments: ReadonlySet<string>;
  log: (line: string) => void;
}

export class DeploymentPlayer {
  private readonly playing = new Map<string, Played>();
  /** Deployments the mesh refused (by template): told once, tried again when the template changes. */
  private readonly refused = new Map<string, unknown>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly o: DeploymentPlayerOptions) {}

  /** Reconcile now and then every `intervalMs`. */
  start(intervalMs = 1000): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.reconcile()
        .catch((error: unknown) => this.o.log(`deployments: ${(error as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** The Deployments it plays now, as `<namespace>/<name>` → pod names. */
  status(): Record<string, string[]> {
    return Object.fromEntries([...this.playing].map(([key, p]) => [key, p.pods.map((pod) => pod.name)]));
  }

  async reconcile(): Promise<void> {
    const { api } = this.o;
    const namespaces = new Map((await api.list<KubeObject>('v1', 'Namespace')).map((n) => [n.metadata.name, n]));
    const wanted = new Map<string, DeploymentView>();
    for (const d of await api.list<DeploymentView>('apps/v1', 'Deployment')) {
      const key = `${d.metadata.namespace ?? 'default'}/${d.metadata.name}`;
      const ns = namespaces.get(d.metadata.namespace ?? 'default');
      if (this.o.scenarioDeployments.has(key) || !ns || !isInjected(ns) || deleting(ns) || deleting(d)) continue;
      wanted.set(key, d);
    }
    for (const [key, played] of this.playing) {
      const d = wanted.get(key);
      if (!d || !isDeepStrictEqual(d.spec.template, played.template) || (d.spec.replicas ?? 1) !== played.replicas) await this.unplay(key, played);
    }
    for (const [key, d] of wanted) {
      if (this.playing.has(key)) continue;
      if (this.refused.has(key) && isDeepStrictEqual(this.refused.get(key), d.spec.template)) continue;
      await this.play(key, d);
    }
  }

  /** Pods written, the mesh told, then Ready (as a kubelet reports a started pod) and the Deployment's status. */
  private async play(key: string, d: DeploymentView): Promise<void> {
    const { api, mesh, log } = this.o;
    const namespace = d.metadata.namespace ?? 'default';
    // A list's items carry no kind (the List has it).
    const [workload] = deploymentWorkloads([{ ...d, apiVersion: 'apps/v1', kind: 'Deployment' }]).map(asInjected);
    if (!workload) return;
    const ips = await this.freeAddresses(workload.replicas);
    const pods = plannedPods([workload]).map((p, i) => ({ ...p, ip: ips[i] ?? '' }));
    for (const pod of pods) {
      try {
        await api.apply(pod.object as K8sObject, { force: true, fieldManager: FIELD_MANAGER });
      } catch (error) {
        // A new namespace's ServiceAccounts come from kube-controller-manager a moment later: tried again next round.
        log(`deployment ${key}: pod ${pod.object.metadata.name} not written yet: ${(error as Error).message}`);
        return;
      }
      await this.bind(namespace, pod.object.metadata.name);
    }
    const played: Played = {
      namespace,
      name: d.metadata.name,
      template: d.spec.template,
      replicas: workload.replicas,
      pods: pods.map((p, i) => ({ name: p.object.metadata.name, ip: p.ip, key: playedPodKey(namespace, d.metadata.name, i) })),
    };
    for (const [i, pod] of pods.entries()) {
      this.o.clusterPods.set(playedPodKey(namespace, d.metadata.name, i), {
        name: pod.object.metadata.name,
        namespace,
        ip: pod.ip,
        labels: pod.object.metadata.labels ?? {},
        serviceAccount: workload.spec.serviceAccountName ?? 'default',
      });
    }
    const services = (await api.list('v1', 'Service', { namespace })).map((s) => meshService(s as KubeObject));
    try {
      await mesh.change([...services, meshDeployment(d)], []);
    } catch (error) {
      log(`deployment ${key}: the local mesh cannot play it: ${(error as Error).message}`);
      this.refused.set(key, d.spec.template);
      await this.deletePods(played);
      return;
    }
    this.playing.set(key, played);
    this.refused.delete(key);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const proxies = new Map(mesh.status().proxies.map((p) => [`${p.namespace}/${p.podName}`, p.ip]));
    for (const pod of pods) {
      const name = pod.object.metadata.name;
      const local = proxies.get(`${namespace}/${name}`);
      if (local) this.o.played.set(pod.ip, local);
      await api.json('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
        body: JSON.stringify({ status: readyStatus(pod.object, pod.ip, now) }),
        contentType: 'application/merge-patch+json',
      });
      const rules: PortForwardRule[] = [15000, 15090].map((port) => ({ port, targetPort: port, targetAddress: local ?? '127.0.0.1' }));
      await api.apply(portForward(namespace, name, rules) as K8sObject, { force: true, fieldManager: FIELD_MANAGER });
    }
    await this.writeStatus(d, workload.replicas);
    log(`deployment ${key}: playing ${pods.map((p) => `${p.object.metadata.name} ${p.ip}`).join(', ')}`);
  }

  /** Out of the mesh first (no endpoint is sent to a stopped proxy), then the pods deleted at once. */
  private async unplay(key: string, played: Played): Promise<void> {
    const { mesh, log } = this.o;
    this.playing.delete(key);
    const others = [...this.playing.values()].some((p) => p.namespace === played.namespace);
    const services = others ? [] : mesh.list().filter((o) => o.kind === 'Service' && o.metadata.namespace === played.namespace);
    await mesh.change([], [resourceId({ kind: 'Deployment', metadata: { name: played.name, namespace: played.namespace } }), ...services.map(resourceId)]);
    await this.deletePods(played);
    log(`deployment ${key}: stopped playing ${played.pods.map((p) => p.name).join(', ')}`);
  }

  private async deletePods(played: Played): Promise<void> {
    for (const pod of played.pods) {
      this.o.clusterPods.delete(pod.key);
      this.o.played.delete(pod.ip);
      const path = `/api/v1/namespaces/${played.namespace}/pods/${pod.name}`;
      await this.o.api.raw('DELETE', path, { body: JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 }) });
      await this.o.api.delete({ apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'PortForward', namespace: played.namespace, name: pod.name }).catch(() => false);
    }
  }

  private async bind(namespace: string, pod: string): Promise<void> {
    const current = await this.o.api.get<{ spec?: { nodeName?: string } } & K8sObject>({ apiVersion: 'v1', kind: 'Pod', namespace, name: pod });
    if (current?.spec?.nodeName) return;
    await this.o.api.json('POST', `/api/v1/namespaces/${namespace}/pods/${pod}/binding`, { body: JSON.stringify(binding(namespace, pod)) });
  }

  /** What the Deployment controller would report once its pods are available. */
  private async writeStatus(d: DeploymentView, replicas: number): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [
        {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
          lastUpdateTime: now,
          lastTransitionTime: now,
        },
      ],
    };
    await this.o.api.json('PATCH', `/apis/apps/v1/namespaces/${d.metadata.namespace ?? 'default'}/deployments/${d.metadata.name}/status`, {
      body: JSON.stringify({ status }),
      contentType: 'application/merge-patch+json',
    });
  }

  /** Addresses of the pod range that no pod of the cluster has and no played pod holds. */
  private async freeAddresses(count: number): Promise<string[]> {
    const used = new Set<string>([...this.o.clusterPods.values()].map((p) => p.ip));
    for (const pod of await this.o.api.list<PodView>('v1', 'Pod')) if (pod.status?.podIP) used.add(pod.status.podIP);
    const free: string[] = [];
    for (let host = 10; host <= 254 && free.length < count; host++) if (!used.has(`${POD_CIDR_PREFIX}${host}`)) free.push(`${POD_CIDR_PREFIX}${host}`);
    if (free.length < count) throw new Error(`the sandbox pod range ${POD_CIDR_PREFIX}0/24 has no room for ${count} more pods`);
    return free;
  }
}
