// Differential fidelity of the authorization filters: for each resource set, every sidecar's HTTP filter chains in
// istiod's `virtualInbound` listener (all of them: per port and transport, and the passthrough ones) and every HTTP
// chain of a gateway carry istiod's RBAC and ext_authz filters in order; the built-in builder's filters
// (src/istio/xds/authorization-filters.ts) must equal them, compared by src/fidelity/compare.ts's rules. One
// configuration compared = one chain of one proxy.
import { TypedConfigType, type HttpFilter, type Listener } from '../envoy/model/index.ts';
import type { ProxyDescriptor, TranslationInput } from '../istio/xds/input.ts';
import type { K8sObject } from '../spec/types.ts';
import { canonical, comparePart, formatDrift } from './compare.ts';
import { proxyKey, type IstiodTranslator } from './istiod-translator.ts';
import type { Registry } from './kube-objects.ts';
import { translationInput, withMeshConfig } from './run.ts';

export interface AuthzFidelitySet {
  name: string;
  objects: K8sObject[];
  /** The mesh config's YAML (extension providers for CUSTOM policies); istiod's defaults when absent. */
  meshConfig?: string;
  /** The proxies compared for this set (istiod's generation costs about 40 ms a proxy); the run's when absent. */
  proxies?: ProxyDescriptor[];
}

export interface AuthzFidelityResult {
  /** Proxy filter chains compared. */
  compared: number;
  drifted: number;
  /** `<set>: <drift>` per difference. */
  lines: string[];
  /** Sets istiod's validation refused. */
  invalid: string[];
  /** Proxies whose istiod configuration the loader refuses. */
  refused: string[];
  /** Sets or proxies the built-in builder refused (SpecError) or failed on. */
  builtinErrors: string[];
}

/** The authorization filters of an HTTP filter chain, in order. */
export function authzFiltersOf(filters: readonly HttpFilter[]): HttpFilter[] {
  return filters.filter((f) => f.typed_config?.['@type'] === TypedConfigType.rbac || f.typed_config?.['@type'] === TypedConfigType.extAuthz);
}

/**
 * The HTTP filter chains istiod puts authorization filters in (plugin/authz/authorization.go BuildHTTP: inbound and
 * gateway listeners, not a sidecar's outbound ones): a sidecar's `virtualInbound` chains, every HTTP chain of a gateway;
 * each with its listener, filter_chain_match (canonical JSON) and HTTP filters.
 */
export function authzHttpChains(proxy: ProxyDescriptor, listeners: readonly Listener[]): { listener: string; match: string; filters: HttpFilter[] }[] {
  return listeners
    .filter((l) => proxy.type === 'router' || l.name === 'virtualInbound')
    .flatMap((l) =>
      (l.filter_chains ?? []).flatMap((chain) => {
        const hcm = chain.filters.find((f) => f.typed_config['@type'] === TypedConfigType.httpConnectionManager);
        if (!hcm || hcm.typed_config['@type'] !== TypedConfigType.httpConnectionManager) return [];
        return [{ listener: l.name, match: canonical(chain.filter_chain_match ?? {}), filters: hcm.typed_config.http_filters ?? [] }];
      }),
    );
}

/** The built-in input of a set, with the mesh config's extension providers. */
export function authzTranslationInput(registry: Registry, set: AuthzFidelitySet): TranslationInput {
  return withMeshConfig(translationInput(registry, set.objects), set.meshConfig);
}

export async function authzFidelity(options: {
  istiod: IstiodTranslator;
  registry: Registry;
  proxies: ProxyDescriptor[];
  sets: Iterable<AuthzFidelitySet>;
  builtin: (input: TranslationInput, proxy: ProxyDescriptor) => HttpFilter[];
}): Promise<AuthzFidelityResult> {
  const result: AuthzFidelityResult = { compared: 0, drifted: 0, lines: [], invalid: [], refused: [], builtinErrors: [] };
  for (const set of options.sets) {
    const proxies = set.proxies ?? options.proxies;
    const answer = await options.istiod.translate({
      registry: options.registry,
      objects: set.objects,
      proxies,
      ...(set.meshConfig !== undefined ? { meshConfig: set.meshConfig } : {}),
    });
    if (!answer.ok) {
      result.invalid.push(`${set.name}: ${answer.error}`);
      continue;
    }
    for (const [proxy, error] of answer.refused) result.refused.push(`${set.name} ${proxy}: ${error}`);
    let input: TranslationInput;
    try {
      input = authzTranslationInput(options.registry, set);
    } catch (err) {
      result.builtinErrors.push(`${set.name}: ${(err as Error).message}`);
      continue;
    }
    for (const proxy of proxies) {
      const theirs = answer.proxies.get(proxyKey(proxy));
      if (!theirs) continue;
      let ours: HttpFilter[];
      try {
        ours = options.builtin(input, proxy);
      } catch (err) {
        result.builtinErrors.push(`${set.name} ${proxyKey(proxy)}: ${(err as Error).message}`);
        continue;
      }
      for (const chain of authzHttpChains(proxy, theirs.listeners)) {
        const drifts = comparePart(
          proxyKey(proxy),
          'listener',
          chain.listener,
          `filter_chains[${chain.match}].http_filters(authz)`,
          ours,
          authzFiltersOf(chain.filters),
        );
        result.compared++;
        if (drifts.length > 0) result.drifted++;
        for (const d of drifts) result.lines.push(`${set.name}: ${formatDrift(d)}`);
      }
    }
  }
  return result;
}
