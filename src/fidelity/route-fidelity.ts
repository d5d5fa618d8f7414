// Route and cluster fidelity: the built-in translator's RouteConfigurations and Clusters against the real istiod's for
// the same resource sets, per proxy (istiod read through the sandbox, see sandbox-istiod.ts).
import { INSTALLED_METRICS_PROVIDERS } from '../istio/mesh-config.ts';
import type { EnvoyConfig } from '../envoy/model/index.ts';
import type { IstioBehaviour } from '../istio/version.ts';
import type { ProxyDescriptor, TranslationInput } from '../istio/xds/input.ts';
import { buildClusters } from '../istio/xds/clusters.ts';
import { buildEndpoints } from '../istio/xds/endpoints.ts';
import { buildRoutes } from '../istio/xds/routes.ts';
import { buildListeners } from '../istio/xds/listeners.ts';
import { comparedListeners, withoutNetworkAuthzFilters } from './listener-view.ts';
import { resourceId } from '../spec/resources.ts';
import type { K8sObject } from '../spec/types.ts';
import { compareConfigs, formatDrift, type Drift } from './compare.ts';
import { translationInput } from './run.ts';
import type { SandboxIstiod } from './sandbox-istiod.ts';
import { must } from '../must.ts';

export interface ResourceSet {
  name: string;
  objects: K8sObject[];
}

export interface FidelityResult {
  /** Proxy × resource (compared listener, route configuration, cluster, endpoints) pairs compared (sidecars and the ingress gateway). */
  compared: number;
  /** Of those, how many differ. */
  drifted: number;
  /** One line per differing field. */
  lines: string[];
  /** Sets not compared, with why. */
  skipped: string[];
}

const istioKinds = new Set([
  'VirtualService',
  'DestinationRule',
  'Gateway',
  'EnvoyFilter',
  'AuthorizationPolicy',
  'PeerAuthentication',
  'RequestAuthentication',
]);
/** The inbound passthrough chain's route configuration is built with the listeners, not with the outbound routes. */
const builtWithListeners = new Set(['15006']);

/**
 * @param builtinView what the built-in side is given instead of the applied objects (tests plant a difference with it).
 */
export async function routeFidelity(
  istiod: SandboxIstiod,
  sets: ResourceSet[],
  behaviour: IstioBehaviour,
  progress: (line: string) => void = () => {},
  builtinView: (objects: K8sObject[]) => K8sObject[] = (objects) => objects,
  baseline: K8sObject[] = [],
): Promise<FidelityResult> {
  const registry = await istiod.registry();
  const result: FidelityResult = { compared: 0, drifted: 0, lines: [], skipped: [] };
  try {
    for (const set of sets) {
      const other = set.objects.filter((o) => !istioKinds.has(o.kind));
      if (other.length > 0) {
        result.skipped.push(`${set.name}: applies ${other.map((o) => o.kind).join(', ')} (workloads change the registry; the sandbox's pods are fixed)`);
        continue;
      }
      // The scenario's own Istio objects (the Bookinfo gateway and its VirtualService), unless the set replaces them.
      const replacing = new Set(set.objects.map(resourceId));
      const objects = [...baseline.filter((o) => istioKinds.has(o.kind) && !replacing.has(resourceId(o))), ...builtinView(set.objects)];
      // The sandbox istiod's mesh config names the installation's metrics providers (sandbox/objects.ts istioConfigMap).
      const input = { ...translationInput(registry, objects), behaviour, defaultMetricsProviders: [...INSTALLED_METRICS_PROVIDERS] };
      // Each set goes straight to the next: translate undoes the previous set's objects the set does not write.
      const configs = await istiod.translate(set.objects);
      let setDrifts = 0;
      for (const proxy of istiod.proxies) {
        const istiodConfig = must(configs.get(proxy.descriptor.podName), `istiod's configuration of ${proxy.descriptor.podName}`);
        const compared = compareProxy(proxy.descriptor, input, istiodConfig);
        result.compared += compared.compared;
        result.drifted += compared.drifted;
        setDrifts += compared.drifted;
        for (const d of compared.drifts) result.lines.push(`${set.name}: ${formatDrift(d)}`);
      }
      progress(`${set.name}: ${setDrifts === 0 ? 'same' : `${setDrifts} drifted`}`);
    }
  } finally {
    // Back to the baseline.
    await istiod.remove();
  }
  return result;
}

/** One proxy's compared listeners, route configurations, clusters and endpoints: the built-in side's against istiod's. */
function compareProxy(proxy: ProxyDescriptor, input: TranslationInput, istiodConfig: EnvoyConfig): { compared: number; drifted: number; drifts: Drift[] } {
  // The compared listeners (listener-view.ts; the TCP chains' network authorization filters aside).
  const theirs = withoutNetworkAuthzFilters({
    listeners: comparedListeners(istiodConfig).listeners,
    routes: istiodConfig.routes.filter((r) => !builtWithListeners.has(r.name)),
    clusters: istiodConfig.clusters,
    endpoints: istiodConfig.endpoints,
  });
  const ours = withoutNetworkAuthzFilters({
    listeners: comparedListeners({ listeners: buildListeners(input, proxy), routes: [], clusters: [], endpoints: [] }).listeners,
    routes: buildRoutes(input, proxy),
    clusters: buildClusters(input, proxy),
    endpoints: buildEndpoints(input, proxy),
  });
  const drifts = compareConfigs(proxy.podName, ours, theirs);
  const names = (c: EnvoyConfig) => [
    ...c.listeners.map((l) => `listener ${l.name}`),
    ...c.routes.map((r) => `route ${r.name}`),
    ...c.clusters.map((r) => `cluster ${r.name}`),
    ...c.endpoints.map((e) => `endpoints ${e.cluster_name}`),
  ];
  return {
    compared: new Set([...names(ours), ...names(theirs)]).size,
    drifted: new Set(drifts.map((d) => `${d.resourceType} ${d.name}`)).size,
    drifts,
  };
}
