// The differential fidelity run: each resource set goes to the built-in translator and to the real istiod, and every
// proxy's two configurations are compared (src/fidelity/compare.ts). The built-in translator is passed in, so this
// module does not depend on it; `npm run fidelity` wires src/istio/xds's builders to it.
import type { EnvoyConfig } from '../envoy/model/index.ts';
import { parseDestinationRule } from '../istio/networking/destination-rule.ts';
import { parseGateway } from '../istio/networking/gateway.ts';
import { parseMeshConfig } from '../istio/mesh-config.ts';
import { parseVirtualService } from '../istio/networking/virtual-service.ts';
import { parseTelemetry } from '../istio/telemetry/telemetry.ts';
import { istioBehaviour } from '../istio/version.ts';
import type { ProxyDescriptor, TranslationInput } from '../istio/xds/input.ts';
import type { K8sObject } from '../spec/types.ts';
import { compareConfigs, formatDrift, type Drift } from './compare.ts';
import { proxyKey, type IstiodTranslator } from './istiod-translator.ts';
import type { Registry } from './kube-objects.ts';

/** The Istio version the istio-translate build is (tools/istio-translate main.go istioVersion). */
export const ISTIOD_VERSION = '1.31.0';

export type BuiltinTranslator = (input: TranslationInput, proxy: ProxyDescriptor) => EnvoyConfig;

export interface FidelitySet {
  name: string;
  registry: Registry;
  objects: K8sObject[];
  proxies: ProxyDescriptor[];
  /** The installation's mesh config as YAML (istiod's defaults when absent), given to both sides. */
  meshConfig?: string;
}

export interface FidelityResult {
  /** Proxy configurations compared. */
  compared: number;
  /** Of those, how many differ. */
  drifted: number;
  drifts: (Drift & { set: string })[];
  /** Sets istiod's validation refused (a corpus or catalogue bug: they are not compared). */
  invalid: { set: string; error: string }[];
  /** Proxies whose istiod configuration the local loader refuses (a field the data plane does not execute). */
  refused: { set: string; proxy: string; error: string }[];
  /** Sets or proxies the built-in translator failed on (it threw), not compared. */
  builtinErrors: { set: string; proxy?: string; error: string }[];
}

/** The built-in translator's input for a set, as istiod's PushContext would hold it: objects in the order applied,
 * each created after the previous one. */
export function translationInput(registry: Registry, objects: K8sObject[], version = ISTIOD_VERSION): TranslationInput {
  const of = (kind: string) => objects.map((o, i) => ({ o, i })).filter(({ o }) => o.kind === kind);
  return {
    behaviour: istioBehaviour(version),
    services: registry.services,
    instances: registry.instances,
    virtualServices: of('VirtualService').map(({ o, i }) => parseVirtualService(o, i)),
    destinationRules: of('DestinationRule').map(({ o, i }) => parseDestinationRule(o, i)),
    gateways: of('Gateway').map(({ o }) => parseGateway(o)),
    authorizationPolicies: of('AuthorizationPolicy').map(({ o }) => o),
    peerAuthentications: of('PeerAuthentication').map(({ o }) => o),
    requestAuthentications: of('RequestAuthentication').map(({ o }) => o),
    envoyFilters: of('EnvoyFilter').map(({ o }) => o),
    telemetries: of('Telemetry').map(({ o }) => parseTelemetry(o)),
  };
}

/** The input with what a mesh config (the istio ConfigMap's `mesh`, YAML) gives the built-in control plane: the
 * extension providers, the outbound traffic policy and the default metrics providers. */
export function withMeshConfig(input: TranslationInput, meshConfig: string | undefined): TranslationInput {
  if (meshConfig === undefined) return input;
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: meshConfig } } as K8sObject;
  const mesh = parseMeshConfig(configMap);
  return {
    ...input,
    extensionProviders: mesh.extensionProviders,
    ...(mesh.outboundTrafficPolicy ? { outboundTrafficPolicy: mesh.outboundTrafficPolicy } : {}),
    ...(mesh.defaultMetricsProviders ? { defaultMetricsProviders: mesh.defaultMetricsProviders } : {}),
  };
}

export async function runFidelity(options: {
  sets: Iterable<FidelitySet>;
  builtin: BuiltinTranslator;
  istiod: IstiodTranslator;
  /** Each drift line and refusal as found (e.g. console.log). */
  log?: (line: string) => void;
  /** Compare only these parts (the built-in translator builds them); all four when absent. */
  parts?: (keyof EnvoyConfig)[];
  /** Applied to both sides before comparing, after `parts` (e.g. only the listeners the built-in side builds). */
  view?: (config: EnvoyConfig) => EnvoyConfig;
}): Promise<FidelityResult> {
  const view = options.view ?? ((c: EnvoyConfig) => c);
  const only = (c: EnvoyConfig): EnvoyConfig =>
    view(options.parts ? { listeners: [], routes: [], clusters: [], endpoints: [], ...Object.fromEntries(options.parts.map((p) => [p, c[p]])) } : c);
  const log = options.log ?? (() => {});
  const result: FidelityResult = { compared: 0, drifted: 0, drifts: [], invalid: [], refused: [], builtinErrors: [] };
  for (const set of options.sets) {
    const answer = await options.istiod.translate(set);
    if (!answer.ok) {
      result.invalid.push({ set: set.name, error: answer.error });
      log(`${set.name}: istiod refused the set: ${answer.error}`);
      continue;
    }
    for (const [proxy, error] of answer.refused) {
      result.refused.push({ set: set.name, proxy, error });
      log(`${set.name} ${proxy}: istiod's configuration is not loadable: ${error}`);
    }
    let input: TranslationInput;
    try {
      input = withMeshConfig(translationInput(set.registry, set.objects), set.meshConfig);
    } catch (err) {
      result.builtinErrors.push({ set: set.name, error: (err as Error).message });
      log(`${set.name}: the built-in control plane cannot read the set: ${(err as Error).message}`);
      continue;
    }
    for (const proxy of set.proxies) {
      const theirs = answer.proxies.get(proxyKey(proxy));
      if (!theirs) continue;
      let ours: EnvoyConfig;
      try {
        ours = options.builtin(input, proxy);
      } catch (err) {
        result.builtinErrors.push({ set: set.name, proxy: proxyKey(proxy), error: (err as Error).message });
        log(`${set.name} ${proxyKey(proxy)}: the built-in translator failed: ${(err as Error).message}`);
        continue;
      }
      const drifts = compareConfigs(proxyKey(proxy), only(ours), only(theirs));
      result.compared++;
      if (drifts.length > 0) result.drifted++;
      for (const d of drifts) {
        result.drifts.push({ ...d, set: set.name });
        log(`${set.name} ${formatDrift(d)}`);
      }
    }
  }
  return result;
}

/** The run's last line. */
export function fidelitySummary(result: FidelityResult): string {
  return `fidelity: ${result.compared} configurations compared, ${result.drifted} drifted`;
}
