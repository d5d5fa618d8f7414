// The built-in control plane's endpoints (EDS), mirroring istiod's pilot/pkg/xds/endpoints: endpoint_builder.go (an
// EDS ClusterLoadAssignment per outbound cluster: the Service's pods, narrowed to the subset's labels, at the port's
// targetPort; not-ready pods kept as UNHEALTHY, PILOT_SEND_UNHEALTHY_ENDPOINTS being on) with buildEnvoyLbEndpoint and
// networking/util AppendLbEndpointMetadata (the `tlsMode` transport socket match and the `istio.workload` telemetry
// label), and mtls_checker.go checkMtlsEnabled (whether an endpoint is sent as mTLS-capable).
import type { ClusterLoadAssignment, LbEndpoint } from '../../envoy/model/index.ts';
import { checkMtlsEnabled, endpointTlsMode } from '../networking/destination-rule.ts';
import { effectivePeerAuthMode } from '../security/peer-authentication.ts';
import { labelsMatch } from '../selector.ts';
import {
  destinationRuleIndex,
  serviceSelects,
  visibleServices,
  type ProxyDescriptor,
  type ServicePort,
  type TranslationInput,
  type WorkloadInstanceInput,
} from './input.ts';
import { outboundCluster } from './routes.ts';

/** kubelabels.CanonicalService: the canonical name and revision labels, else app (name) and version labels. */
function canonical(i: WorkloadInstanceInput): [string, string] {
  const l = i.labels;
  const name = l['service.istio.io/canonical-name'] ?? l['app.kubernetes.io/name'] ?? l.app ?? i.podName;
  const revision = l['service.istio.io/canonical-revision'] ?? l['app.kubernetes.io/version'] ?? l.version ?? 'latest';
  return [name, revision === 'latest' ? '' : revision];
}

function lbEndpoint(i: WorkloadInstanceInput, port: ServicePort, mtls: boolean): LbEndpoint {
  const [name, revision] = canonical(i);
  return {
    endpoint: { address: { socket_address: { address: i.ip, port_value: port.targetPort } } },
    health_status: i.ready ? 'HEALTHY' : 'UNHEALTHY',
    metadata: {
      filter_metadata: {
        ...(mtls ? { 'envoy.transport_socket_match': { tlsMode: 'istio' } } : {}),
        // workload-name;namespace;canonical-service;canonical-revision;cluster-id (the pods here have no owner: the
        // workload is the pod, as istiod names it).
        istio: { workload: `${i.podName};${i.namespace};${name};${revision};Kubernetes` },
      },
    },
    load_balancing_weight: 1,
  };
}

/** The ClusterLoadAssignment of every outbound EDS cluster the proxy has (src/istio/xds/clusters.ts names them). */
export function buildEndpoints(input: TranslationInput, proxy: ProxyDescriptor): ClusterLoadAssignment[] {
  const index = destinationRuleIndex(input);
  const out: ClusterLoadAssignment[] = [];
  for (const service of visibleServices(input, proxy.namespace)) {
    // A ServiceEntry host's DNS cluster carries its endpoint itself, an original-destination one has none (clusters.ts).
    if (service.external && (service.external.resolution === 'DNS' || proxy.type === 'sidecar')) continue;
    const rule = index.get(service.fqdn, proxy.namespace, service.namespace);
    const selected = input.instances.filter((i) => serviceSelects(service, i.namespace, i.labels));
    for (const port of service.ports) {
      for (const subset of [undefined, ...(rule?.subsets ?? [])]) {
        const instances = subset ? selected.filter((i) => labelsMatch(subset.labels, i.labels)) : selected;
        const drMode = endpointTlsMode(rule, subset?.name, port.port);
        const lbEndpoints = instances.map((i) => {
          const mtls = checkMtlsEnabled(
            drMode,
            i.labels['security.istio.io/tlsMode'] === 'istio',
            effectivePeerAuthMode(input.peerAuthentications, i.namespace, i.labels, port.targetPort),
          );
          return lbEndpoint(i, port, mtls);
        });
        const cluster_name = outboundCluster(port.port, subset?.name, service.fqdn);
        // A cluster without endpoints gets an assignment with none (proto3 JSON leaves the empty list out).
        out.push(
          lbEndpoints.length === 0
            ? { cluster_name }
            : { cluster_name, endpoints: [{ locality: {}, lb_endpoints: lbEndpoints, load_balancing_weight: lbEndpoints.length }] },
        );
      }
    }
  }
  return out;
}
