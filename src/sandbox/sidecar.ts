// A sandbox pod's sidecar played by meshproof's xDS client: the node pilot-agent would present for the pod, connected to
// istiod's plaintext xDS port, with what it has ACKed or refused. Used by the sandbox tests and bench:sandbox.
import type { V1Pod } from '@kubernetes/client-node';
import { seededRandom } from '../assertions/stats/simulate.ts';
import { AdsClient } from '../xds/ads-client.ts';
import { grpcAdsTransport } from '../xds/grpc/transport.ts';
import { proxyNode } from '../xds/node.ts';
import { waitFor } from './processes.ts';
import { must } from '../must.ts';

export interface SandboxSidecar {
  client: AdsClient;
  /** NACKs sent, with the refusal text. */
  rejected: string[];
  /** Resolves once CDS, EDS, LDS and RDS were each ACKed (rejects on a NACK or after the timeout). */
  synced(timeoutMs?: number): Promise<void>;
  close(): void;
}

/** `type` router plays an ingress gateway pod (istiod builds gateway listeners and routes for it). */
export function sandboxSidecar(pod: V1Pod, istiodGrpcAddress: string, istioVersion = '1.31.0', type: 'sidecar' | 'router' = 'sidecar'): SandboxSidecar {
  const podName = must(pod.metadata?.name, "a played pod's name");
  const node = proxyNode({
    type,
    podName,
    namespace: pod.metadata?.namespace ?? 'default',
    ips: [must(pod.status?.podIP, `the address of pod ${podName}`)],
    labels: pod.metadata?.labels ?? {},
    serviceAccount: must(pod.spec?.serviceAccountName, `the service account of pod ${podName}`),
    istioVersion,
    proxyConfig: {},
  });
  const { transport, close } = grpcAdsTransport({ address: istiodGrpcAddress });
  const acked = new Set<string>();
  const rejected: string[] = [];
  const client = new AdsClient({
    node,
    transport,
    random: seededRandom(1).uniform,
    onConfig: (u) => acked.add(u.typeUrl),
    onReject: (r) => rejected.push(`${r.typeUrl}: ${r.message}`),
  });
  client.start();
  return {
    client,
    rejected,
    synced: (timeoutMs = 20_000) =>
      waitFor(
        `${podName} to ACK CDS, EDS, LDS and RDS`,
        async () => {
          if (rejected.length > 0) throw new Error(`NACKed: ${rejected.join('; ')}`);
          return acked.size === 4;
        },
        timeoutMs,
      ),
    close: () => {
      client.close();
      close();
    },
  };
}
