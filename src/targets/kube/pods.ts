// A pod as the kube target reads it, and what it asks of one: ready, with a sidecar. Kept apart from the API client
// (@kubernetes/client-node takes about a second to load) so scripts that only look at pods do not load it.
import type { K8sObject } from '../../spec/types.ts';

export interface Pod extends K8sObject {
  spec: { containers: { name: string; image?: string }[]; initContainers?: { name: string; image?: string; restartPolicy?: string }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

export function isReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** An injected sidecar: the istio-proxy container (or native-sidecar init container) and the injector's status annotation. */
export function hasSidecar(pod: Pod): boolean {
  const containers = [...pod.spec.containers, ...(pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  return containers.some((c) => c.name === 'istio-proxy') && Boolean(pod.metadata.annotations?.['sidecar.istio.io/status']);
}
