// The input of the ServiceEntry tests: a client workload in namespace ai and three ServiceEntries (HTTPS 443 DNS, HTTP
// 80 DNS, TLS 9443 NONE), as the local mesh hands them to the built-in control plane (config-store.ts
// addServiceEntry, builtin-control-plane.ts serviceInput).
import { parseServiceEntry } from '../../../src/istio/networking/service-entry.ts';
import { istioBehaviour } from '../../../src/istio/version.ts';
import type { ProxyDescriptor, ServiceInput, TranslationInput } from '../../../src/istio/xds/input.ts';
import type { K8sObject } from '../../../src/spec/types.ts';

export const entries: K8sObject[] = [
  {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name: 'external-ai-api', namespace: 'ai' },
    spec: { hosts: ['api.openai.com'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }], location: 'MESH_EXTERNAL', resolution: 'DNS' },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'example-http', namespace: 'ai' },
    spec: { hosts: ['api.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], location: 'MESH_EXTERNAL', resolution: 'DNS' },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'passthrough-tls', namespace: 'ai' },
    spec: { hosts: ['api.none.example.com'], ports: [{ number: 9443, name: 'tls', protocol: 'TLS' }], location: 'MESH_EXTERNAL', resolution: 'NONE' },
  },
];

export const client: ServiceInput = {
  name: 'client',
  namespace: 'ai',
  fqdn: 'client.ai.svc.cluster.local',
  ports: [{ port: 8080, name: 'http', targetPort: 8080 }],
  selector: { app: 'client' },
};
export const proxy: ProxyDescriptor = {
  type: 'sidecar',
  podName: 'client-v1-0',
  namespace: 'ai',
  ip: '10.1.0.10',
  labels: { app: 'client', version: 'v1' },
  serviceAccount: 'default',
};

/** The registry as the local mesh hands it to the built-in control plane. */
export function input(outboundTrafficPolicy?: 'REGISTRY_ONLY'): TranslationInput {
  const external: ServiceInput[] = entries
    .map((o) => parseServiceEntry(o))
    .flatMap((e) =>
      e.hosts.map((host) => ({
        name: host,
        namespace: e.namespace,
        fqdn: host,
        selector: {},
        ports: e.ports.map((p) => ({ port: p.number, name: p.name, appProtocol: p.protocol, targetPort: p.number })),
        external: { resolution: e.resolution, entry: e.name },
      })),
    );
  return {
    behaviour: istioBehaviour('1.31.0'),
    services: [client, ...external],
    instances: [{ podName: proxy.podName, namespace: 'ai', ip: proxy.ip, labels: proxy.labels, serviceAccount: 'default', ready: true }],
    virtualServices: [],
    destinationRules: [],
    gateways: [],
    authorizationPolicies: [],
    peerAuthentications: [],
    requestAuthentications: [],
    envoyFilters: [],
    ...(outboundTrafficPolicy ? { outboundTrafficPolicy } : {}),
  };
}
