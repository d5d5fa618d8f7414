// The Node a sidecar or gateway presents to istiod, as Istio's pilot-agent builds it (pkg/bootstrap/config.go
// GetNodeMetaData, getServiceCluster; pkg/istio-agent/agent.go ServiceNode; metadata names from pkg/model/proxy.go
// NodeMetadata and BootstrapNodeMetadata).
import type { JsonValue } from '../envoy/model/common.ts';

export interface XdsNode {
  id: string;
  cluster: string;
  metadata: Record<string, JsonValue>;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name: string;
}

export interface ProxyIdentity {
  /** `sidecar` for workloads, `router` for gateways (model.NodeType). */
  type: 'sidecar' | 'router';
  podName: string;
  namespace: string;
  /** The pod's IPs; the first one is in the node id (INSTANCE_IPS carries them all). */
  ips: string[];
  labels: Record<string, string>;
  serviceAccount: string;
  /** The istiod cluster id; istiod ignores a proxy whose CLUSTER_ID it does not know. Default `Kubernetes`. */
  clusterId?: string;
  istioVersion: string;
  meshId?: string;
  dnsDomain?: string;
  /** Owner reference as pilot-agent sends it, e.g. kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v1. */
  owner?: string;
  workloadName?: string;
  appContainers?: string[];
  podPorts?: { name?: string; containerPort: number; protocol?: string }[];
  /** MeshConfig.defaultConfig as JSON; `istioctl proxy-status` lists only proxies that send PROXY_CONFIG. */
  proxyConfig?: Record<string, JsonValue>;
  envoyStatusPort?: number;
  envoyPrometheusPort?: number;
  interceptionMode?: 'REDIRECT' | 'TPROXY' | 'NONE';
}

/** The Node for DiscoveryRequest.node (its metadata is a google.protobuf.Struct). */
export function proxyNode(p: ProxyIdentity): XdsNode {
  const dnsDomain = p.dnsDomain ?? `${p.namespace}.svc.cluster.local`;
  const workloadName = p.workloadName ?? deploymentName(p.podName);
  const metadata: Record<string, JsonValue> = {
    NAME: p.podName,
    NAMESPACE: p.namespace,
    LABELS: { ...p.labels },
    // model.StringList marshals as one comma-separated string.
    INSTANCE_IPS: p.ips.join(','),
    SERVICE_ACCOUNT: p.serviceAccount,
    CLUSTER_ID: p.clusterId ?? 'Kubernetes',
    ISTIO_VERSION: p.istioVersion,
    MESH_ID: p.meshId ?? 'cluster.local',
    WORKLOAD_NAME: workloadName,
    INTERCEPTION_MODE: p.interceptionMode ?? 'REDIRECT',
    PROXY_CONFIG: p.proxyConfig ?? defaultProxyConfig(),
    ENVOY_STATUS_PORT: p.envoyStatusPort ?? 15021,
    ENVOY_PROMETHEUS_PORT: p.envoyPrometheusPort ?? 15090,
  };
  if (p.owner) metadata.OWNER = p.owner;
  if (p.appContainers) metadata.APP_CONTAINERS = p.appContainers.join(',');
  // model.PodPortList marshals as a JSON string holding the list.
  if (p.podPorts) metadata.POD_PORTS = JSON.stringify(p.podPorts);
  return {
    id: [p.type, p.ips[0] ?? '', `${p.podName}.${p.namespace}`, dnsDomain].join('~'),
    cluster: serviceCluster(p.labels, workloadName, p.namespace),
    metadata,
    user_agent_name: 'envoy',
  };
}

/** getServiceCluster with the default tracingServiceName APP_LABEL_AND_NAMESPACE (serviceClusterOrDefault). */
function serviceCluster(labels: Record<string, string>, workloadName: string, namespace: string): string {
  const app = labels.app ?? labels['app.kubernetes.io/name'];
  if (app) return `${app}.${namespace}`;
  if (workloadName) return `${workloadName}.${namespace}`;
  return `istio-proxy.${namespace}`;
}

/** A Deployment's pod is named <deployment>-<replicaset hash>-<pod hash>. */
function deploymentName(podName: string): string {
  const parts = podName.split('-');
  return parts.length > 2 ? parts.slice(0, -2).join('-') : podName;
}

/** The fields of MeshConfig.defaultConfig that istiod reads from a proxy's PROXY_CONFIG. */
function defaultProxyConfig(): Record<string, JsonValue> {
  return {
    configPath: './etc/istio/proxy',
    binaryPath: '/usr/local/bin/envoy',
    serviceCluster: 'istio-proxy',
    drainDuration: '45s',
    discoveryAddress: 'istiod.istio-system.svc:15012',
    proxyAdminPort: 15000,
    statusPort: 15020,
  };
}
