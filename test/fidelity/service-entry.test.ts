// ServiceEntry hosts in the built-in control plane against the pinned istiod for the same input: the clusters
// (cluster.go convertResolution, cluster_builder.go buildCluster: STRICT_DNS with the host as its endpoint, ORIGINAL_DST
// for resolution NONE), the outbound listener of an HTTPS port (tls.go buildSidecarOutboundTLSFilterChainOpts: an SNI
// chain per host; listener.go buildListenerFromEntry: the PassthroughFilterChain default from listener_builder.go
// buildOutboundCatchAllNetworkFiltersOnly), the HTTP port's virtual hosts (httproute.go generateVirtualHostDomains,
// buildCatchAllVirtualHost) — under outboundTrafficPolicy ALLOW_ANY and REGISTRY_ONLY.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyConfig, Listener } from '../../src/envoy/model/index.ts';
import { outboundTcpTarget } from '../../src/envoy/runtime/outbound-tcp.ts';
import { IstiodTranslator, proxyKey } from '../../src/fidelity/istiod-translator.ts';
import { buildClusters } from '../../src/istio/xds/clusters.ts';
import { buildSidecarOutboundListeners } from '../../src/istio/xds/outbound-listeners.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';
import { client, entries, input, proxy } from '../istio/xds/service-entry-input.ts';

let translator: IstiodTranslator;
const istiod = new Map<string, EnvoyConfig>();
beforeAll(async () => {
  translator = IstiodTranslator.start();
  for (const mode of ['ALLOW_ANY', 'REGISTRY_ONLY'] as const) {
    const answer = await translator.translate({
      registry: { services: [client], instances: input().instances },
      objects: entries,
      proxies: [proxy],
      meshConfig: `outboundTrafficPolicy: { mode: ${mode} }\n`,
    });
    if (!answer.ok) throw new Error(answer.error);
    expect(answer.refused.get(proxyKey(proxy))).toBeUndefined();
    istiod.set(mode, answer.proxies.get(proxyKey(proxy))!);
  }
}, 120_000);
afterAll(async () => translator?.close());

/** What the local data plane reads of an outbound TCP listener: its chains' matches and tcp_proxy clusters. */
function chains(l: Listener | undefined) {
  const of = (c: NonNullable<Listener['default_filter_chain']>) => ({
    match: c.filter_chain_match ?? {},
    clusters: c.filters.flatMap((f) => (f.typed_config['@type'].endsWith('TcpProxy') ? [(f.typed_config as { cluster?: string }).cluster] : [])),
  });
  return { chains: (l?.filter_chains ?? []).map(of), default: l?.default_filter_chain ? of(l.default_filter_chain) : undefined };
}

describe('a MESH_EXTERNAL ServiceEntry with resolution DNS, as istiod translates it', () => {
  for (const name of ['outbound|443||api.openai.com', 'outbound|80||api.example.com']) {
    it(`cluster.go convertResolution (DNSLB → STRICT_DNS), buildCluster's load assignment of the host: ${name} equals istiod's`, () => {
      const ours = buildClusters(input(), proxy).find((c) => c.name === name);
      const theirs = istiod.get('ALLOW_ANY')!.clusters.find((c) => c.name === name);
      expect(theirs?.type).toBe('STRICT_DNS');
      expect(ours).toEqual(theirs);
    });
  }

  it("cluster.go convertResolution (Passthrough → ORIGINAL_DST): a resolution NONE entry's cluster equals istiod's", () => {
    const name = 'outbound|9443||api.none.example.com';
    const theirs = istiod.get('ALLOW_ANY')!.clusters.find((c) => c.name === name);
    expect(theirs?.type).toBe('ORIGINAL_DST');
    expect(buildClusters(input(), proxy).find((c) => c.name === name)).toEqual(theirs);
    expect(pick9443(buildSidecarOutboundListeners(input(), proxy))).toBe(pick9443(istiod.get('ALLOW_ANY')!.listeners));
  });

  for (const mode of ['ALLOW_ANY', 'REGISTRY_ONLY'] as const) {
    it(`${mode}: the listener 0.0.0.0_443 (tls.go SNI chain per host → tcp_proxy, PassthroughFilterChain default) and virtualOutbound lead where istiod's lead`, () => {
      const ours = buildSidecarOutboundListeners(input(mode === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : undefined), proxy);
      const theirs = istiod.get(mode)!.listeners;
      expect(chains(ours.find((l) => l.name === '0.0.0.0_443'))).toEqual(chains(theirs.find((l) => l.name === '0.0.0.0_443')));
      for (const c of [
        { port: 443, tls: true, serverName: 'api.openai.com' },
        { port: 443, tls: true, serverName: 'api.anthropic.com' },
        { port: 5432, tls: false },
      ]) {
        const pick = (ls: readonly Listener[]) => {
          const t = outboundTcpTarget(ls, c);
          return t.kind === 'cluster' ? t.cluster : t.kind;
        };
        expect(pick(ours), JSON.stringify(c)).toBe(pick(theirs));
      }
      const blocked = pick443(ours, 'api.anthropic.com');
      expect(blocked).toBe(mode === 'REGISTRY_ONLY' ? 'BlackHoleCluster' : 'PassthroughCluster');
    });

    it(`${mode}: the route configuration 80 has the host's virtual host (domains host, host.) and istiod's catch-all`, () => {
      const vhosts = (routes: EnvoyConfig['routes']) => Object.fromEntries((routes.find((r) => r.name === '80')?.virtual_hosts ?? []).map((v) => [v.name, v]));
      const ours = vhosts(buildRoutes(input(mode === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : undefined), proxy));
      const theirs = vhosts(istiod.get(mode)!.routes);
      expect(ours).toEqual(theirs);
      expect(Object.keys(theirs).sort()).toEqual(mode === 'REGISTRY_ONLY' ? ['api.example.com:80', 'block_all'] : ['allow_any', 'api.example.com:80']);
    });
  }
});

function pick9443(listeners: readonly Listener[]): string {
  const t = outboundTcpTarget(listeners, { port: 9443, tls: true, serverName: 'api.none.example.com' });
  return t.kind === 'cluster' ? t.cluster : t.kind;
}

function pick443(listeners: readonly Listener[], serverName: string): string {
  const t = outboundTcpTarget(listeners, { port: 443, tls: true, serverName });
  return t.kind === 'cluster' ? t.cluster : t.kind;
}
