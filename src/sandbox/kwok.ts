// The sandbox's node, played by kwok (sigs.k8s.io/kwok): kwok keeps the Node Ready and serves the kubelet's streaming
// API on loopback with the kubelet's own port-forward code (k8s.io/cri-streaming portforward), so `pods/portforward`
// through the real API server works as on any cluster. Where a pod port leads is a kwok PortForward object: the
// sandbox's istiod runs on loopback, and so will the local mesh's proxies that play the pods.
import { SANDBOX_NODE, type SandboxPorts } from './layout.ts';
import type { KubeObject } from './objects.ts';

/** The Node kwok manages (selected by name); its status is written by kwok from the stage below. */
export function sandboxNode(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: SANDBOX_NODE,
      labels: { type: 'kwok', 'kubernetes.io/hostname': SANDBOX_NODE, 'meshproof.dev/sandbox': 'true' },
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
    },
    spec: {},
  };
}

/**
 * kwok's configuration: one Stage that makes the node Ready with only a loopback InternalIP (the API server dials
 * the kubelet at the node's preferred address and daemonEndpoints port: here, kwok's server). No pod stages: the
 * sandbox writes pod status itself, with the pod IPs its EndpointSlices name.
 */
export function kwokConfig(): string {
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: meshproof-sandbox-node-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      conditions:
      - type: Ready
        status: "True"
        reason: KubeletReady
        message: kwok plays this node's kubelet (meshproof sandbox)
        lastHeartbeatTime: {{ Now | Quote }}
        lastTransitionTime: {{ Now | Quote }}
      addresses:
      - type: InternalIP
        address: {{ NodeIP | Quote }}
      daemonEndpoints:
        kubeletEndpoint:
          Port: {{ NodePort }}
      allocatable: {cpu: 1k, memory: 1Ti, pods: 1M}
      capacity: {cpu: 1k, memory: 1Ti, pods: 1M}
`;
}

export function kwokArgs(kubeconfig: string, configFile: string, ports: SandboxPorts): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--config=${configFile}`,
    `--manage-single-node=${SANDBOX_NODE}`,
    `--server-address=127.0.0.1:${ports.kwok}`,
    '--node-ip=127.0.0.1',
    `--node-port=${ports.kwok}`,
    // PortForward objects are read from the API server (kwok's CRD), so a pod's forward can change while kwok runs.
    '--enable-crds=PortForward',
  ];
}

/** A pod port's forward: the API server's port-forward to `pod:port` reaches `127.0.0.1:targetPort`. */
export interface PortForwardRule {
  port: number;
  targetPort: number;
  /** A loopback address (default 127.0.0.1): the local proxy that plays the pod. */
  targetAddress?: string;
}

export function portForward(namespace: string, pod: string, rules: PortForwardRule[]): KubeObject {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'PortForward',
    metadata: { name: pod, namespace, labels: { 'meshproof.dev/sandbox': 'true' } },
    spec: { forwards: rules.map((r) => ({ ports: [r.port], target: { address: r.targetAddress ?? '127.0.0.1', port: r.targetPort } })) },
  };
}

/** What a scheduler posts to put a pod on the node (pods/binding). */
export function binding(namespace: string, pod: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: SANDBOX_NODE } };
}
