// Route fidelity: the built-in translator's RouteConfigurations against the real istiod's for the same resource sets,
// per proxy (istiod read through the sandbox, see sandbox-istiod.ts).
import type { IstioBehaviour } from '../istio/version.ts';
import { buildRoutes } from '../istio/xds/routes.ts';
import type { K8sObject } from '../spec/types.ts';
import { compareConfigs, formatDrift } from './compare.ts';
import { translationInput } from './run.ts';
import type { SandboxIstiod } from './sandbox-istiod.ts';

export interface ResourceSet {
  name: string;
  objects: K8sObject[];
}

export interface FidelityResult {
  /** Proxy × route configuration pairs compared (sidecars and the ingress gateway). */
  compared: number;
  /** Of those, how many differ. */
  drifted: number;
  /** One line per differing field. */
  lines: string[];
  /** Sets not compared, with why. */
  skipped: string[];
}

const istioKinds = new Set(['VirtualService', 'DestinationRule', 'Gateway', 'EnvoyFilter', 'AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication']);
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
  for (const set of sets) {
    const other = set.objects.filter((o) => !istioKinds.has(o.kind));
    if (other.length > 0) {
      result.skipped.push(`${set.name}: applies ${other.map((o) => o.kind).join(', ')} (workloads change the registry; the sandbox's pods are fixed)`);
      continue;
    }
    // The scenario's own Istio objects (the Bookinfo gateway and its VirtualService), unless the set replaces them.
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
    const replacing = new Set(set.objects.map(key));
    const objects = [...baseline.filter((o) => istioKinds.has(o.kind) && !replacing.has(key(o))), ...builtinView(set.objects)];
    const input = { ...translationInput(registry, objects), behaviour };
    const configs = await istiod.translate(set.objects);
    try {
      let setDrifts = 0;
      for (const proxy of istiod.proxies) {
        const theirs = configs.get(proxy.descriptor.podName)!.routes.filter((r) => !builtWithListeners.has(r.name));
        const ours = buildRoutes(input, proxy.descriptor);
        const only = (routes: typeof ours) => ({ listeners: [], routes, clusters: [], endpoints: [] });
        const drifts = compareConfigs(proxy.descriptor.podName, only(ours), only(theirs));
        const drifted = new Set(drifts.map((d) => d.name)).size;
        result.compared += new Set([...ours, ...theirs].map((r) => r.name)).size;
        result.drifted += drifted;
        setDrifts += drifted;
        for (const d of drifts) result.lines.push(`${set.name}: ${formatDrift(d)}`);
      }
      progress(`${set.name}: ${setDrifts === 0 ? 'same' : `${setDrifts} drifted`}`);
    } finally {
      await istiod.remove(set.objects);
    }
  }
  return result;
}
