// The local mesh's built-in control plane: its configuration and pods as istiod's PushContext holds them
// (src/istio/xds/input.ts), and the Envoy configuration each proxy is sent, built from them by src/istio/xds.
import { injectedPodLabels } from '../../istio/injection.ts';
import type { DestinationRuleModel, GatewayModel, VirtualServiceModel } from '../../istio/networking/model.ts';
import type { TelemetryModel } from '../../istio/telemetry/telemetry.ts';
import type { IstioBehaviour } from '../../istio/version.ts';
import type { ProxyDescriptor, ServiceInput, TranslationInput, WorkloadInstanceInput } from '../../istio/xds/input.ts';
import type { K8sObject } from '../../spec/types.ts';
import type { EndpointInfo } from './proxy/cluster.ts';
import type { ServiceInfo } from './proxy/config-view.ts';

export interface LocalMeshConfig {
  behaviour: IstioBehaviour;
  virtualServices: VirtualServiceModel[];
  /** In creation order. */
  destinationRules: DestinationRuleModel[];
  gateways: GatewayModel[];
  services: Iterable<ServiceInfo>;
  /** Every workload instance with a sidecar. */
  endpoints: EndpointInfo[];
  /** AuthorizationPolicy, PeerAuthentication, RequestAuthentication and EnvoyFilter objects. */
  securityObjects: K8sObject[];
  /** The mesh config's outboundTrafficPolicy.mode. */
  outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** The mesh config's extension providers (CUSTOM AuthorizationPolicies name them). */
  extensionProviders?: TranslationInput['extensionProviders'];
  /** Every Telemetry in creation order (the stats filter's metrics overrides). */
  telemetries?: TelemetryModel[];
  /** The mesh config's defaultProviders.metrics. */
  defaultMetricsProviders?: string[];
}

/** A Service of the local mesh as istiod's registry has it; the local mesh has no cluster IPs. */
function serviceInput(service: ServiceInfo): ServiceInput {
  return {
    name: service.name,
    namespace: service.namespace,
    fqdn: service.fqdn,
    selector: service.selector,
    ports: service.ports.map((port) => ({
      port,
      name: service.portNames?.[port] ?? '',
      targetPort: service.targetPorts?.[port] ?? port,
      ...(service.external ? { appProtocol: service.external.protocols[port] } : {}),
    })),
    ...(service.external
      ? {
          external: {
            resolution: service.external.resolution,
            entry: service.external.entry.split('/')[1] ?? service.external.entry,
            ...(service.external.exportTo ? { exportTo: service.external.exportTo } : {}),
          },
        }
      : {}),
  };
}

function instanceInput(endpoint: EndpointInfo): WorkloadInstanceInput {
  return {
    podName: endpoint.podName,
    namespace: endpoint.namespace,
    ip: endpoint.ip,
    // Every workload of the local mesh has a sidecar: its pod carries the injector's labels.
    labels: injectedPodLabels(endpoint.labels, endpoint.podName),
    serviceAccount: endpoint.principal.slice(endpoint.principal.lastIndexOf('/sa/') + 4),
    ready: true,
  };
}

export function translationInputOf(config: LocalMeshConfig): TranslationInput {
  const of = (kind: string) => config.securityObjects.filter((o) => o.kind === kind);
  return {
    behaviour: config.behaviour,
    services: [...config.services].map(serviceInput),
    instances: config.endpoints.map(instanceInput),
    virtualServices: config.virtualServices,
    destinationRules: config.destinationRules,
    gateways: config.gateways,
    authorizationPolicies: of('AuthorizationPolicy'),
    peerAuthentications: of('PeerAuthentication'),
    requestAuthentications: of('RequestAuthentication'),
    envoyFilters: of('EnvoyFilter'),
    ...(config.outboundTrafficPolicy ? { outboundTrafficPolicy: config.outboundTrafficPolicy } : {}),
    ...(config.extensionProviders ? { extensionProviders: config.extensionProviders } : {}),
    ...(config.telemetries ? { telemetries: config.telemetries } : {}),
    ...(config.defaultMetricsProviders ? { defaultMetricsProviders: config.defaultMetricsProviders } : {}),
  };
}

/** The proxy istiod would generate for: a pod's sidecar, or the ingress gateway (a router). */
export function proxyDescriptorOf(
  identity: { podName: string; namespace: string; ip: string; labels: Record<string, string>; serviceAccount: string },
  type: ProxyDescriptor['type'],
): ProxyDescriptor {
  return { type, podName: identity.podName, namespace: identity.namespace, ip: identity.ip, labels: identity.labels, serviceAccount: identity.serviceAccount };
}
