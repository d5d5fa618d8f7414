// The Bookinfo mesh the fidelity corpus runs on: the Services and Pods of scenarios/bookinfo (one instance per
// Deployment replica, addressed as the sandbox addresses them) plus the ingress gateway, as a registry, and the
// proxies compared (every sidecar and the gateway).
import { injectedPodLabels } from '../istio/injection.ts';
import { serviceClusterIp } from './kube-objects.ts';
import { fileURLToPath } from 'node:url';
import type { ProxyDescriptor, ServiceInput, WorkloadInstanceInput } from '../istio/xds/input.ts';
import { deploymentWorkloads, kustomizationObjects, plannedPods, podSpec, serviceSpec, type KubeObject } from '../sandbox/objects.ts';
import type { Registry } from './kube-objects.ts';

const BOOKINFO = fileURLToPath(new URL('../../scenarios/bookinfo', import.meta.url));
export const BOOKINFO_NAMESPACE = 'default';
export const GATEWAY_NAMESPACE = 'istio-system';

function serviceInput(o: KubeObject): ServiceInput {
  const namespace = o.metadata.namespace ?? BOOKINFO_NAMESPACE;
  return {
    name: o.metadata.name,
    namespace,
    fqdn: `${o.metadata.name}.${namespace}.svc.cluster.local`,
    selector: serviceSpec(o).selector ?? {},
    ports: (serviceSpec(o).ports ?? []).map((p) => ({
      port: p.port,
      name: p.name ?? '',
      targetPort: typeof p.targetPort === 'number' ? p.targetPort : p.port,
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    })),
  };
}

const INGRESS_LABELS = { app: 'istio-ingressgateway', istio: 'ingressgateway' };

export const ingressGateway: ProxyDescriptor = {
  type: 'router',
  podName: 'istio-ingressgateway-0',
  namespace: GATEWAY_NAMESPACE,
  ip: '10.244.0.250',
  labels: INGRESS_LABELS,
  serviceAccount: 'istio-ingressgateway-service-account',
};

export function bookinfoRegistry(): Registry {
  const objects = kustomizationObjects(BOOKINFO, BOOKINFO_NAMESPACE);
  const services = objects.filter((o) => o.kind === 'Service').map(serviceInput);
  const instances: WorkloadInstanceInput[] = plannedPods(deploymentWorkloads(objects)).map(({ object, ip }) => ({
    podName: object.metadata.name,
    namespace: object.metadata.namespace ?? BOOKINFO_NAMESPACE,
    ip,
    labels: injectedPodLabels(
      Object.fromEntries(Object.entries(object.metadata.labels ?? {}).filter(([k]) => !k.startsWith('meshproof.dev/'))),
      object.metadata.name,
    ),
    serviceAccount: podSpec(object).serviceAccountName ?? 'default',
    ready: true,
  }));
  services.push({
    name: 'istio-ingressgateway',
    namespace: GATEWAY_NAMESPACE,
    fqdn: `istio-ingressgateway.${GATEWAY_NAMESPACE}.svc.cluster.local`,
    selector: INGRESS_LABELS,
    ports: [
      { port: 80, name: 'http2', targetPort: 8080 },
      { port: 443, name: 'https', targetPort: 8443 },
    ],
  });
  instances.push({ ...ingressGateway, labels: injectedPodLabels(ingressGateway.labels, ingressGateway.podName), ready: true });
  // The cluster IPs kube-objects.ts gives them, so the built-in side sees the same registry istiod does.
  services.forEach((s, i) => (s.clusterIp = serviceClusterIp(i)));
  return { services, instances };
}

/** Every sidecar of the registry and the ingress gateway. */
export function bookinfoProxies(registry: Registry): ProxyDescriptor[] {
  return registry.instances.map((i) =>
    i.podName === ingressGateway.podName
      ? ingressGateway
      : { type: 'sidecar', podName: i.podName, namespace: i.namespace, ip: i.ip, labels: i.labels, serviceAccount: i.serviceAccount },
  );
}
