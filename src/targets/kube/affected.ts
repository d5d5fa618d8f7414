// Which proxies must receive an applied Istio resource: the ones waitConverged waits for.
// Rules follow where Istio binds each kind (istio.io reference docs of each resource):
//  - selector-scoped kinds (AuthorizationPolicy, RequestAuthentication, Telemetry, WasmPlugin:
//    spec.selector.matchLabels; EnvoyFilter, Sidecar, DestinationRule: spec.workloadSelector.labels) reach the
//    selected workloads of their namespace, or every workload of it without a selector; in the root namespace
//    (istio-system) they reach every namespace;
//  - PeerAuthentication reaches every proxy, whatever its namespace and selector: besides the selected workloads'
//    inbound listeners it changes what their callers send. Clients choose mTLS or plaintext from it (auto mTLS:
//    PushContext.BestEffortInferServiceMTLSMode in pilot/pkg/model/push_context.go, used by the cluster builder for
//    every outbound cluster), and EDS carries it (PeerAuthentication is in pilot/pkg/xds/eds.go deltaAwareEdsConfigs).
//    Any proxy may call a selected workload (the ingress gateway of istio-system calls Bookinfo's), so all of them;
//  - Gateway reaches the gateway proxies its spec.selector picks;
//  - VirtualService reaches sidecars when `gateways` is empty or names `mesh`, and the gateway proxies of each named
//    Gateway;
//  - DestinationRule and ServiceEntry without selector reach every proxy (sidecars and gateways build clusters from them).
// Other kinds (core objects) reach no proxy: nothing to wait for.
import type { K8sObject } from '../../spec/types.ts';
import { field, list } from '../../spec/untyped.ts';

/** A label map of a resource's spec (a selector), as the resource gives it. */
function labelsAt(spec: unknown, ...path: string[]): Record<string, string> | undefined {
  return field(spec, ...path) as Record<string, string> | undefined;
}

export interface ProxyPod {
  /** `<pod>.<namespace>`, as istiod names proxies. */
  id: string;
  namespace: string;
  labels: Record<string, string>;
  gateway: boolean;
}

const selectorKinds = new Set(['AuthorizationPolicy', 'RequestAuthentication', 'Telemetry', 'WasmPlugin']);
const workloadSelectorKinds = new Set(['EnvoyFilter', 'Sidecar']);

function matches(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function scoped(proxies: ProxyPod[], namespace: string, rootNamespace: string, selector: Record<string, string> | undefined): ProxyPod[] {
  return proxies.filter((p) => (namespace === rootNamespace || p.namespace === namespace) && matches(p.labels, selector));
}

/**
 * Proxies that `resources` reach. `gatewaySelector` resolves a VirtualService's gateway reference (`ns/name` or
 * `name`, relative to the VirtualService's namespace) to the Gateway's selector; undefined → every gateway proxy.
 */
export function affectedProxies(
  resources: K8sObject[],
  proxies: ProxyPod[],
  options: { defaultNamespace: string; rootNamespace?: string; gatewaySelector?: (namespace: string, name: string) => Record<string, string> | undefined },
): ProxyPod[] {
  const root = options.rootNamespace ?? 'istio-system';
  const hit = new Map<string, ProxyPod>();
  const add = (list: ProxyPod[]) => list.forEach((p) => hit.set(p.id, p));
  const gateways = proxies.filter((p) => p.gateway);
  for (const r of resources) {
    if (!r.apiVersion.includes('istio.io/')) continue;
    const namespace = r.metadata.namespace ?? options.defaultNamespace;
    const spec = r.spec;
    if (r.kind === 'PeerAuthentication') {
      add(proxies);
    } else if (selectorKinds.has(r.kind)) {
      add(scoped(proxies, namespace, root, labelsAt(spec, 'selector', 'matchLabels')));
    } else if (workloadSelectorKinds.has(r.kind)) {
      add(scoped(proxies, namespace, root, labelsAt(spec, 'workloadSelector', 'labels')));
    } else if (r.kind === 'Gateway') {
      add(gateways.filter((p) => matches(p.labels, labelsAt(spec, 'selector') ?? {})));
    } else if (r.kind === 'VirtualService') {
      const bound = list(field(spec, 'gateways')) as string[];
      if (bound.length === 0 || bound.includes('mesh')) add(proxies.filter((p) => !p.gateway));
      for (const ref of bound.filter((g) => g !== 'mesh')) {
        const [ns = namespace, name = ref] = ref.includes('/') ? ref.split('/', 2) : [namespace, ref];
        const selector = options.gatewaySelector?.(ns, name);
        add(selector ? gateways.filter((p) => matches(p.labels, selector)) : gateways);
      }
    } else if (r.kind === 'DestinationRule') {
      const selector = labelsAt(spec, 'workloadSelector', 'matchLabels');
      add(selector ? scoped(proxies, namespace, root, selector) : proxies);
    } else if (r.kind === 'ServiceEntry') {
      add(proxies);
    } else {
      // Other Istio kinds (ProxyConfig, WorkloadEntry ...): conservatively every proxy of the namespace.
      add(scoped(proxies, namespace, root, undefined));
    }
  }
  return [...hit.values()].sort((a, b) => a.id.localeCompare(b.id));
}
