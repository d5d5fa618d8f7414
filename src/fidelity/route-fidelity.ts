// Route fidelity: the built-in translator's RouteConfigurations against the real istiod's for the same resource sets,
// per proxy (istiod read through the sandbox, see sandbox-istiod.ts).
import { parseDestinationRule } from '../istio/networking/destination-rule.ts';
import { parseGateway } from '../istio/networking/gateway.ts';
import { parseVirtualService } from '../istio/networking/virtual-service.ts';
import type { IstioBehaviour } from '../istio/version.ts';
import type { TranslationInput } from '../istio/xds/input.ts';
import { buildRoutes } from '../istio/xds/routes.ts';
import type { K8sObject } from '../spec/types.ts';
import { diffRoutes, formatDrift } from './route-diff.ts';
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
    const input: TranslationInput = {
      behaviour,
      ...registry,
      virtualServices: objects.filter((o) => o.kind === 'VirtualService').map((o, i) => parseVirtualService(o, i + 1)),
      destinationRules: objects.filter((o) => o.kind === 'DestinationRule').map((o, i) => parseDestinationRule(o, i + 1)),
      gateways: objects.filter((o) => o.kind === 'Gateway').map((o) => parseGateway(o)),
      authorizationPolicies: objects.filter((o) => o.kind === 'AuthorizationPolicy'),
      peerAuthentications: objects.filter((o) => o.kind === 'PeerAuthentication'),
      requestAuthentications: objects.filter((o) => o.kind === 'RequestAuthentication'),
      envoyFilters: objects.filter((o) => o.kind === 'EnvoyFilter'),
    };
    const configs = await istiod.translate(set.objects);
    try {
      let setDrifts = 0;
      for (const proxy of istiod.proxies) {
        const theirs = configs.get(proxy.descriptor.podName)!.routes.filter((r) => !builtWithListeners.has(r.name));
        const ours = buildRoutes(input, proxy.descriptor);
        const drifts = diffRoutes(ours, theirs);
        result.compared += new Set([...ours, ...theirs].map((r) => r.name)).size;
        result.drifted += drifts.size;
        setDrifts += drifts.size;
        for (const [config, list] of drifts) for (const d of list) result.lines.push(`${set.name}: ${formatDrift(proxy.descriptor.podName, config, d)}`);
      }
      progress(`${set.name}: ${setDrifts === 0 ? 'same' : `${setDrifts} drifted`}`);
    } finally {
      await istiod.remove(set.objects);
    }
  }
  return result;
}
