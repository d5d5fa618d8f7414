// `--deploy-echo` on the cluster: create the test namespace, apply the echo plan into it (echo-plan.ts), wait until
// every Deployment has its replicas ready with a sidecar, and delete the namespace at the end. The namespace carries
// its run and owner process (labels, annotations), so `meshproof cleanup` finds one a killed run left behind.
import { asError, InterruptedError, SpecError, TargetError } from '../../errors.ts';
import type { K8sObject } from '../../spec/types.ts';
import { field } from '../../spec/untyped.ts';
import { describeRef, KubeApi, KubeApiError, refOf, UnknownKindError } from './api.ts';
import type { EchoPlan } from './echo-plan.ts';
import { hasSidecar, isReady, type Pod } from './pods.ts';

const namespaceRef = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', name });

/** Image problems no wait cures (kubelet's waiting reasons, pkg/kubelet/images): fail at once, saying how to fix it. */
const hopelessReasons = new Set(['ErrImageNeverPull', 'InvalidImageName']);

interface PodStatusView {
  containerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string } } }[];
}

export interface Readiness {
  /** Per Deployment: `frontend-v1 1/1`, with why a pod waits when one does. */
  lines: string[];
  ready: boolean;
  /** An image problem no wait cures. */
  hopeless?: string;
}

/** How far each Deployment of the plan is: its pods that are ready, not terminating, and have a sidecar. */
export function readiness(deployments: K8sObject[], pods: Pod[], image: string): Readiness {
  const lines: string[] = [];
  let ready = true;
  let hopeless: string | undefined;
  for (const d of deployments) {
    const wanted = (field(d.spec, 'replicas') as number | undefined) ?? 1;
    const selector = (field(d.spec, 'selector', 'matchLabels') ?? field(d.spec, 'template', 'metadata', 'labels') ?? {}) as Record<string, string>;
    const mine = pods.filter((p) => !p.metadata.deletionTimestamp && Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v));
    const good = mine.filter((p) => isReady(p) && hasSidecar(p)).length;
    const why = new Set<string>();
    for (const pod of mine) {
      if (isReady(pod) && !hasSidecar(pod))
        why.add('ready without an istio-proxy sidecar: is the injector running for namespaces labelled istio-injection=enabled?');
      for (const c of (pod.status as PodStatusView | undefined)?.containerStatuses ?? []) {
        const waiting = c.state?.waiting;
        if (!waiting?.reason) continue;
        why.add(`${c.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`);
        if (hopelessReasons.has(waiting.reason))
          hopeless ??= `${d.metadata.name}: pod ${pod.metadata.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`;
      }
    }
    if (good < wanted) ready = false;
    lines.push(`${d.metadata.name} ${good}/${wanted}${why.size > 0 ? ` (${[...why].join('; ')})` : mine.length === 0 ? ' (no pod yet)' : ''}`);
  }
  if (hopeless)
    hopeless += `; build the echo image and load it into the cluster's nodes (docker build -f deploy/echo/Dockerfile -t ${image} . && kind load docker-image ${image}), or name another with --echo-image`;
  return { lines, ready, ...(hopeless ? { hopeless } : {}) };
}

export class EchoNamespace {
  private created = false;

  constructor(
    private readonly api: KubeApi,
    readonly plan: EchoPlan,
    private readonly image: string,
    private readonly log: (message: string) => void,
  ) {}

  get name(): string {
    return this.plan.namespace.metadata.name;
  }

  /** Create the namespace (never one that exists: it is deleted at the end), then apply the plan into it. */
  async deploy(): Promise<void> {
    try {
      await this.api.create(this.plan.namespace);
    } catch (error) {
      if (error instanceof KubeApiError && error.code === 409) {
        throw new SpecError(
          `namespace ${this.name} already exists; --deploy-echo makes (and deletes) a namespace of its own: name another with --echo-namespace`,
          undefined,
          '--echo-namespace',
        );
      }
      throw new TargetError(`cannot create the test namespace ${this.name}: ${asError(error).message}`);
    }
    this.created = true;
    this.log(`test namespace ${this.name} created (istio-injection=enabled)`);
    for (const skipped of this.plan.skipped) this.log(`not deployed: ${skipped}`);
    for (const object of this.plan.objects) {
      try {
        await this.api.apply(object, { force: true });
      } catch (error) {
        const name = `${object.kind} ${object.metadata.name}`;
        if (error instanceof UnknownKindError) throw new SpecError(`${name}: ${error.message}`, undefined, '--deploy-echo');
        if (error instanceof KubeApiError && (error.code === 400 || error.code === 422)) {
          throw new SpecError(
            `${describeRef(refOf(object))}: the API server rejected it: ${error.status?.message ?? error.message}`,
            undefined,
            '--deploy-echo',
          );
        }
        throw new TargetError(`cannot apply ${describeRef(refOf(object))} into ${this.name}: ${asError(error).message}`);
      }
    }
    this.log(
      `applied ${this.plan.objects.length} objects into ${this.name}: ${this.plan.deployments.map((d) => d.metadata.name).join(', ')} with image ${this.image}`,
    );
  }

  /** Until every Deployment has its replicas ready with a sidecar; progress when it changes. */
  async waitReady(timeoutMs: number, interrupt?: AbortSignal, pollMs = 1000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (interrupt?.aborted) throw interrupt.reason instanceof Error ? interrupt.reason : new InterruptedError('interrupted', 'SIGINT');
      const pods = await this.api.list<Pod>('v1', 'Pod', { namespace: this.name });
      const state = readiness(this.plan.deployments, pods, this.image);
      const line = state.lines.join(', ');
      if (line !== last) this.log(`echo workloads in ${this.name}: ${line}`);
      last = line;
      if (state.ready) return;
      if (state.hopeless) throw new TargetError(`the echo workloads in ${this.name} cannot start: ${state.hopeless}`);
      if (Date.now() > deadline) {
        throw new TargetError(
          `the echo workloads in ${this.name} were not ready with sidecars within ${Math.round(timeoutMs / 1000)} s: ${state.lines.filter((l) => !/ (\d+)\/\1$/.test(l)).join(', ')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        interrupt?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  }

  /** Delete the namespace (only the one this run created) and wait until the API server has removed it. */
  async remove(timeoutMs: number): Promise<void> {
    if (!this.created) return;
    const live = await this.api.get(namespaceRef(this.name));
    if (!live) {
      this.created = false;
      return;
    }
    this.log(`deleting the test namespace ${this.name}`);
    await this.api.delete(namespaceRef(this.name), { uid: live.metadata.uid as string });
    const deadline = Date.now() + timeoutMs;
    while (await this.api.get(namespaceRef(this.name))) {
      if (Date.now() > deadline)
        throw new TargetError(
          `the test namespace ${this.name} is still being deleted after ${Math.round(timeoutMs / 1000)} s; \`meshproof cleanup\` deletes it later`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
    this.created = false;
    this.log(`test namespace ${this.name} deleted`);
  }
}
