// Which of the sandbox's pods the local mesh plays, read from its API server: every pod sandbox-up wrote
// (`<workload>-sandbox-<n>`, labelled meshproof.dev/sandbox) with its address, labels and service account.
import type { V1Pod } from '@kubernetes/client-node';
import { playedPodKey, type ClusterPod } from '../targets/local/ads-control-plane.ts';

/** The pods by `<namespace>/<workload>/<replica>`; a pod without an address or a sandbox name is not played. */
export function playedPods(pods: V1Pod[]): Map<string, ClusterPod> {
  const out = new Map<string, ClusterPod>();
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    const [, workload, index] = /^(.+)-sandbox-(\d+)$/.exec(name) ?? [];
    const ip = pod.status?.podIP;
    if (workload === undefined || index === undefined || !ip) continue;
    const namespace = pod.metadata?.namespace ?? 'default';
    out.set(playedPodKey(namespace, workload, Number(index)), {
      name,
      namespace,
      ip,
      labels: pod.metadata?.labels ?? {},
      serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    });
  }
  return out;
}
