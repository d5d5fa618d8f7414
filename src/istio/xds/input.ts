// What the built-in control plane translates: the mesh's Istio resources and registry (services, workload instances),
// as istiod's PushContext holds them, and the proxy a configuration is generated for (istiod's model.Proxy).
import type { K8sObject } from '../../spec/types.ts';
import { DestinationRuleIndex } from '../networking/destination-rule-index.ts';
import type { DestinationRuleModel, GatewayModel, VirtualServiceModel } from '../networking/model.ts';
import { labelsMatch } from '../selector.ts';
import type { IstioBehaviour } from '../version.ts';
import type { MeshConfig } from '../mesh-config.ts';
import type { TelemetryModel } from '../telemetry/telemetry.ts';

export interface ServicePort {
  port: number;
  /** Port name (`http`, `grpc-…`, `tcp`…): istiod's protocol selection reads it. */
  name: string;
  /** `appProtocol` when set. */
  appProtocol?: string;
  /** The workloads' port the Service forwards to. */
  targetPort: number;
}

/** A Kubernetes Service (istiod's model.Service). */
export interface ServiceInput {
  name: string;
  namespace: string;
  /** `<name>.<namespace>.svc.cluster.local` */
  fqdn: string;
  ports: ServicePort[];
  selector: Record<string, string>;
  /** The cluster IP, when the registry has one (Kubernetes Services do; istiod adds it to the virtual host's domains). */
  clusterIp?: string;
  /**
   * A ServiceEntry host (serviceentry/conversion.go convertServices): MeshExternal, its resolution (DNS: DNSLB, NONE:
   * Passthrough) and the namespaces it is exported to (absent: all). Its ports carry the entry's protocol as appProtocol.
   */
  external?: { resolution: 'DNS' | 'NONE'; exportTo?: string[]; /** The ServiceEntry's name. */ entry: string };
}

/** One Pod with a sidecar (istiod's model.WorkloadInstance / an EndpointSlice entry). */
export interface WorkloadInstanceInput {
  podName: string;
  namespace: string;
  ip: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** Ready pods only are healthy endpoints. */
  ready: boolean;
}

export interface TranslationInput {
  /** The Istio version whose istiod is mirrored (defaults that changed between releases). */
  behaviour: IstioBehaviour;
  services: ServiceInput[];
  instances: WorkloadInstanceInput[];
  virtualServices: VirtualServiceModel[];
  /** Every DestinationRule in creation order (merging several for one host is the translator's job). */
  destinationRules: DestinationRuleModel[];
  gateways: GatewayModel[];
  authorizationPolicies: K8sObject[];
  peerAuthentications: K8sObject[];
  requestAuthentications: K8sObject[];
  envoyFilters: K8sObject[];
  /** Every Telemetry, parsed, in creation order (the stats filter's metrics overrides); absent: none. */
  telemetries?: TelemetryModel[];
  /** meshConfig.defaultProviders.metrics; absent: none, as in istiod's default mesh config (no istio.stats filter
   * unless a Telemetry names a provider). */
  defaultMetricsProviders?: string[];
  /** meshConfig.outboundTrafficPolicy.mode; absent: ALLOW_ANY. */
  outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** meshConfig.extensionProviders of the external-authorization kinds, by name (CUSTOM AuthorizationPolicies name
   * them); absent: none, as in istiod's default mesh config. */
  extensionProviders?: MeshConfig['extensionProviders'];
}

/** The proxy a configuration is for: a sidecar of one instance, or the ingress gateway (istiod's Router). */
export interface ProxyDescriptor {
  type: 'sidecar' | 'router';
  podName: string;
  namespace: string;
  ip: string;
  labels: Record<string, string>;
  serviceAccount: string;
}

/** The registry as a proxy of `namespace` sees it: Kubernetes Services, and the ServiceEntry hosts exported to it. */
export function visibleServices(input: TranslationInput, namespace: string): ServiceInput[] {
  return input.services.filter((s) => {
    const to = s.external?.exportTo;
    return to === undefined || to.length === 0 || to.includes('*') || to.includes(namespace);
  });
}

/** Whether a Service selects these pod labels (a Service without a selector selects no pod: its endpoints are managed by hand). */
export function serviceSelects(service: ServiceInput, namespace: string, labels: Record<string, string>): boolean {
  return service.namespace === namespace && Object.keys(service.selector).length > 0 && labelsMatch(service.selector, labels);
}

const ruleIndexes = new WeakMap<readonly DestinationRuleModel[], DestinationRuleIndex>();

/** The DestinationRules of an input, indexed once for every proxy and builder (push_context.go setDestinationRules). */
export function destinationRuleIndex(input: TranslationInput): DestinationRuleIndex {
  let index = ruleIndexes.get(input.destinationRules);
  if (!index) ruleIndexes.set(input.destinationRules, (index = new DestinationRuleIndex(input.destinationRules)));
  return index;
}
