// A registry (Services, workload instances) as the Kubernetes objects a cluster would hold for it, for istiod's
// Kubernetes registry: Namespaces, Services with a ClusterIP, injected Pods with their status, and one EndpointSlice
// per Service (istiod reads endpoints from EndpointSlices only; pilot/pkg/serviceregistry/kube/controller). The Pods
// carry the labels Istio's sidecar injector adds, as src/sandbox/objects.ts asInjected does: `security.istio.io/tlsMode:
// istio` is what makes istiod send mTLS to an endpoint.
import type { ServiceInput, WorkloadInstanceInput } from '../istio/xds/input.ts';
import type { KubeObject } from '../sandbox/objects.ts';
import { injectedPodLabels } from '../istio/injection.ts';

export interface Registry {
  services: ServiceInput[];
  instances: WorkloadInstanceInput[];
}

/** ClusterIPs are given in Service order from this range. istiod puts them in virtual host domains and in the names of
 * outbound listeners of non-HTTP ports (`10.96.0.104_443`), so the built-in translator must use the same ones. */
const CLUSTER_IP_PREFIX = '10.96.0.';

/** The ClusterIP the Service at `index` of `registry.services` gets. */
export function serviceClusterIp(index: number): string {
  return `${CLUSTER_IP_PREFIX}${100 + index}`;
}

const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

export function registryObjects(registry: Registry): KubeObject[] {
  const namespaces = [...new Set([...registry.services.map((s) => s.namespace), ...registry.instances.map((i) => i.namespace)])].sort();
  if (registry.services.length > 150) throw new Error(`more than 150 Services do not fit the ClusterIP range ${CLUSTER_IP_PREFIX}0/24`);
  const objects: KubeObject[] = namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  registry.services.forEach((svc, i) => {
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: svc.name, namespace: svc.namespace, labels: { app: svc.name } },
      spec: {
        type: 'ClusterIP',
        clusterIP: svc.clusterIp ?? serviceClusterIp(i),
        clusterIPs: [svc.clusterIp ?? serviceClusterIp(i)],
        selector: svc.selector,
        ports: svc.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: p.targetPort,
          protocol: 'TCP',
          ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
        })),
      },
    });
  });
  for (const inst of registry.instances) {
    const containerPorts = [
      ...new Set(
        registry.services.filter((s) => s.namespace === inst.namespace && selects(s.selector, inst.labels)).flatMap((s) => s.ports.map((p) => p.targetPort)),
      ),
    ];
    const condition = (type: string, ready: boolean) => ({ type, status: ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:00Z' });
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: inst.podName,
        namespace: inst.namespace,
        labels: injectedPodLabels(inst.labels, inst.podName),
        annotations: {
          'sidecar.istio.io/status': JSON.stringify({
            initContainers: [],
            containers: ['istio-proxy'],
            volumes: [],
            imagePullSecrets: null,
            revision: 'default',
          }),
        },
      },
      spec: {
        serviceAccountName: inst.serviceAccount,
        nodeName: 'node-1',
        containers: [
          { name: 'app', image: 'app', ports: containerPorts.map((containerPort) => ({ containerPort, protocol: 'TCP' })) },
          { name: 'istio-proxy', image: 'proxyv2', ports: [{ name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' }] },
        ],
      },
      status: {
        phase: 'Running',
        podIP: inst.ip,
        podIPs: [{ ip: inst.ip }],
        hostIP: '10.0.255.1',
        conditions: [condition('PodScheduled', true), condition('Initialized', true), condition('ContainersReady', inst.ready), condition('Ready', inst.ready)],
      },
    });
  }
  for (const svc of registry.services) {
    const members = registry.instances.filter((i) => i.namespace === svc.namespace && selects(svc.selector, i.labels));
    if (Object.keys(svc.selector).length === 0) continue;
    objects.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${svc.name}-fidelity`,
        namespace: svc.namespace,
        labels: { 'kubernetes.io/service-name': svc.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      },
      addressType: 'IPv4',
      ports: svc.ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
      endpoints: members.map((m) => ({
        addresses: [m.ip],
        conditions: { ready: m.ready, serving: m.ready, terminating: false },
        nodeName: 'node-1',
        targetRef: { kind: 'Pod', namespace: m.namespace, name: m.podName },
      })),
    });
  }
  return objects;
}
