// The local mesh playing a cluster's pods (the sandbox): each proxy is an xDS client of that cluster's istiod, with the
// node its pod's pilot-agent would present, and runs the routes, clusters, endpoints and inbound RBAC it ACKed. EDS
// names the cluster's pod IPs; the mesh maps each back to the local pod that plays it (EndpointInfo.clusterIp).
import { seededRandom } from '../../assertions/stats/simulate.ts';
import type { EnvoyConfig } from '../../envoy/model/index.ts';
import { AdsClient } from '../../xds/ads-client.ts';
import { TypeUrl } from '../../xds/discovery.ts';
import { grpcAdsTransport } from '../../xds/grpc/transport.ts';
import { proxyNode } from '../../xds/node.ts';
import type { IstiodProxyConfig } from './istiod-control-plane.ts';

/** A pod of the cluster as its API server has it: what the local pod playing it presents to istiod. */
export interface ClusterPod {
  name: string;
  namespace: string;
  /** status.podIP: what istiod's EDS sends for it. */
  ip: string;
  labels: Record<string, string>;
  serviceAccount: string;
}

/** Which cluster the local mesh plays. */
export interface PlayedCluster {
  /** istiod's plaintext xDS address on loopback (host:port). */
  xdsAddress: string;
  /** The cluster's pods by `<namespace>/<workload>/<replica index>`, the ingress gateway's included. */
  pods: ReadonlyMap<string, ClusterPod>;
  /** The Istio version of that istiod (the proxies report it; the built-in filters follow it). */
  istioVersion: string;
}

export const playedPodKey = (namespace: string, workload: string, index: number) => `${namespace}/${workload}/${index}`;

const ALL_TYPES = [TypeUrl.cluster, TypeUrl.endpoint, TypeUrl.listener, TypeUrl.route];

interface Connection {
  client: AdsClient;
  close(): void;
  config?: EnvoyConfig;
  acked: Set<string>;
  /** Counts ACKed responses: a proxy's configuration changes with each. */
  updates: number;
  rejected: string[];
}

export class AdsControlPlane {
  private readonly connections = new Map<string, Connection>();

  /** `onUpdate(key)`: the proxy `<pod>.<namespace>` ACKed a response; its config() is the new whole configuration. */
  constructor(
    private readonly cluster: PlayedCluster,
    private readonly onUpdate: (key: string) => void,
    private readonly onReject: (key: string, message: string) => void,
  ) {}

  /** Connect the proxy that plays `pod` (type `router` for a gateway). */
  connect(pod: ClusterPod, type: 'sidecar' | 'router'): void {
    const key = `${pod.name}.${pod.namespace}`;
    if (this.connections.has(key)) return;
    const node = proxyNode({
      type,
      podName: pod.name,
      namespace: pod.namespace,
      ips: [pod.ip],
      labels: pod.labels,
      serviceAccount: pod.serviceAccount,
      istioVersion: this.cluster.istioVersion,
      proxyConfig: {},
    });
    const { transport, close } = grpcAdsTransport({ address: this.cluster.xdsAddress });
    const connection: Connection = { client: undefined as never, close, acked: new Set(), updates: 0, rejected: [] };
    connection.client = new AdsClient({
      node,
      transport,
      random: seededRandom(1).uniform,
      onConfig: (update) => {
        connection.config = update.config;
        connection.acked.add(update.typeUrl);
        connection.updates++;
        if (this.synced(key)) this.onUpdate(key);
      },
      onReject: (rejection) => {
        connection.rejected.push(`${rejection.typeUrl}: ${rejection.message}`);
        this.onReject(key, rejection.message);
      },
    });
    this.connections.set(key, connection);
    connection.client.start();
  }

  disconnect(key: string): void {
    const connection = this.connections.get(key);
    if (!connection) return;
    connection.client.close();
    connection.close();
    this.connections.delete(key);
  }

  /** True once the proxy ACKed clusters, endpoints, listeners and routes at least once. */
  synced(key: string): boolean {
    const acked = this.connections.get(key)?.acked;
    return acked !== undefined && ALL_TYPES.every((t) => acked.has(t));
  }

  /** What the proxy runs: its routes, clusters, endpoints and listeners as last ACKed, and how many updates it took. */
  config(key: string): (IstiodProxyConfig & { updates: number }) | undefined {
    const connection = this.connections.get(key);
    if (!connection?.config || !this.synced(key)) return undefined;
    const { routes, clusters, endpoints, listeners } = connection.config;
    return { routes, clusters, endpoints, listeners, updates: connection.updates };
  }

  /** NACKs the proxy sent, with their text. */
  rejected(key: string): readonly string[] {
    return this.connections.get(key)?.rejected ?? [];
  }

  close(): void {
    for (const key of [...this.connections.keys()]) this.disconnect(key);
  }
}
