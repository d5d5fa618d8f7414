// What every proxy reads from the mesh's configuration: one immutable snapshot per config version.
import type { DestinationRuleLookup } from '../../../istio/networking/destination-rule-index.ts';
import type { GatewayModel, VirtualServiceModel } from '../../../istio/networking/model.ts';
import type { EndpointInfo } from './cluster.ts';

export interface ServiceInfo {
  name: string;
  namespace: string;
  fqdn: string;
  ports: number[];
  selector: Record<string, string>;
  /** The pod port a Service port reaches when it differs (Kubernetes' targetPort); absent: the same number. */
  targetPorts?: Record<number, number>;
  /** Each port's name as written (istiod's protocol selection reads it); absent: unnamed. */
  portNames?: Record<number, string>;
  /** A ServiceEntry host outside the mesh (MESH_EXTERNAL): no pods select it; its ports' protocols as the entry names them. */
  external?: ExternalServiceInfo;
}

export interface ExternalServiceInfo {
  /** The ServiceEntry (`namespace/name`) that declared the host. */
  entry: string;
  resolution: 'DNS' | 'NONE';
  /** Per port: HTTP, HTTPS, TLS or TCP. */
  protocols: Record<number, string>;
  exportTo?: string[];
}

export interface MeshSnapshot {
  /** Config version (monotonic, as a string). */
  version: string;
  virtualServices: VirtualServiceModel[];
  /** The rule a proxy of a namespace uses for a service FQDN (a plain Map by FQDN serves one namespace). */
  destinationRules: DestinationRuleLookup;
  /** By FQDN. */
  services: Map<string, ServiceInfo>;
  /** Gateway resources, for the ingress. */
  gateways: GatewayModel[];
  /** Every workload instance (with a sidecar). */
  endpoints: EndpointInfo[];
  /**
   * The mesh's own name resolution for hosts outside it: the loopback address of an external host's stand-in
   * (src/targets/local/stand-in.ts); undefined for a host without one (it cannot be resolved).
   */
  resolveExternal?: (host: string) => string | undefined;
}
