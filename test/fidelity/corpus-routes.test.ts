// Differential fidelity over generated resource sets (issue 13 item 6): the built-in translator's route
// configurations against istiod's own config generation (tools/istio-translate, built by scripts/ci.d) for a seeded
// slice of the corpus, every Bookinfo sidecar and the ingress gateway. `npm run fidelity` runs all 500 sets.
import { afterAll, describe, expect, it } from 'vitest';
import { bookinfoProxies, bookinfoRegistry } from '../../src/fidelity/bookinfo.ts';
import { corpus } from '../../src/fidelity/corpus.ts';
import { IstiodTranslator } from '../../src/fidelity/istiod-translator.ts';
import { runFidelity } from '../../src/fidelity/run.ts';
import { buildClusters } from '../../src/istio/xds/clusters.ts';
import { buildEndpoints } from '../../src/istio/xds/endpoints.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';
import { buildListeners } from '../../src/istio/xds/listeners.ts';
import { comparedListeners, withoutNetworkAuthzFilters } from '../../src/fidelity/listener-view.ts';
import type { K8sObject } from '../../src/spec/types.ts';

const translator = IstiodTranslator.start();
afterAll(async () => translator.close());

describe('route fidelity over the generated corpus', () => {
  it("60 seeded sets: every proxy's route configurations, clusters, endpoints and compared listeners (virtualInbound, outbound HTTP, the gateway's) equal istiod's, none refused", async () => {
    const registry = bookinfoRegistry();
    const proxies = bookinfoProxies(registry);
    const sets = corpus(1, 60).map((set) => ({ ...set, registry, proxies }));
    const lines: string[] = [];
    const result = await runFidelity({
      sets,
      istiod: translator,
      parts: ['listeners', 'routes', 'clusters', 'endpoints'],
      // The compared listeners, the TCP chains' network authorization filters aside (listener-view.ts).
      view: (c) => withoutNetworkAuthzFilters(comparedListeners(c)),
      log: (line) => lines.push(line),
      builtin: (input, proxy) => ({
        listeners: buildListeners(input, proxy),
        routes: buildRoutes(input, proxy),
        clusters: buildClusters(input, proxy),
        endpoints: buildEndpoints(input, proxy),
      }),
    });
    expect(result.invalid).toEqual([]);
    expect(result.refused).toEqual([]);
    expect(result.builtinErrors).toEqual([]);
    expect(result.compared).toBe(60 * proxies.length);
    expect(lines.slice(0, 20)).toEqual([]);
    expect(result.drifted).toBe(0);
  }, 180_000);

  it("VirtualServicesForGateway order: for one host, the namespace's private VirtualService before an older public one and one exported by name", async () => {
    const registry = bookinfoRegistry();
    const proxies = bookinfoProxies(registry);
    const vs = (name: string, namespace: string, subset: string, exportTo?: string[]): K8sObject => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name, namespace },
      spec: {
        hosts: ['reviews.default.svc.cluster.local'],
        ...(exportTo ? { exportTo } : {}),
        http: [{ route: [{ destination: { host: 'reviews.default.svc.cluster.local', subset } }] }],
      },
    });
    const objects: K8sObject[] = [
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'reviews', namespace: 'default' },
        spec: { host: 'reviews', subsets: ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })) },
      },
      vs('public', 'default', 'v1'),
      vs('exported', 'istio-system', 'v2', ['default']),
      vs('private', 'default', 'v3', ['.']),
    ];
    const lines: string[] = [];
    const result = await runFidelity({
      sets: [{ name: 'visibility-order', registry, proxies, objects }],
      istiod: translator,
      parts: ['routes', 'clusters', 'endpoints'],
      log: (line) => lines.push(line),
      builtin: (input, proxy) => ({
        listeners: [],
        routes: buildRoutes(input, proxy),
        clusters: buildClusters(input, proxy),
        endpoints: buildEndpoints(input, proxy),
      }),
    });
    expect(result.invalid).toEqual([]);
    expect(lines).toEqual([]);
    expect(result.compared).toBe(proxies.length);
    expect(result.drifted).toBe(0);
  }, 60_000);
});
