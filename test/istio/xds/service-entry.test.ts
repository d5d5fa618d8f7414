// ServiceEntry hosts in the built-in control plane against the pinned istiod for the same input: the clusters
// (cluster.go convertResolution, cluster_builder.go buildCluster: STRICT_DNS with the host as its endpoint), the
// outbound listener of an HTTPS port (tls.go buildSidecarOutboundTLSFilterChainOpts: an SNI chain per host; listener.go
// buildListenerFromEntry: the PassthroughFilterChain default from listener_builder.go
// buildOutboundCatchAllNetworkFiltersOnly), the HTTP port's virtual hosts (httproute.go generateVirtualHostDomains,
// buildCatchAllVirtualHost) — under outboundTrafficPolicy ALLOW_ANY and REGISTRY_ONLY.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyConfig, Listener } from '../../../src/envoy/model/index.ts';
import { outboundTcpTarget } from '../../../src/envoy/runtime/outbound-tcp.ts';
import { IstiodTranslator, proxyKey } from '../../../src/fidelity/istiod-translator.ts';
import { parseServiceEntry } from '../../../src/istio/networking/service-entry.ts';
import { istioBehaviour } from '../../../src/istio/version.ts';
import { buildClusters } from '../../../src/istio/xds/clusters.ts';
import { buildEndpoints } from '../../../src/istio/xds/endpoints.ts';
import type { ProxyDescriptor, ServiceInput, TranslationInput } from '../../../src/istio/xds/input.ts';
import { buildSidecarOutboundTcpListeners } from '../../../src/istio/xds/outbound-listeners.ts';
import { buildRoutes } from '../../../src/istio/xds/routes.ts';
import type { K8sObject } from '../../../src/spec/types.ts';
import { SpecError } from '../../../src/errors.ts';

const entries: K8sObject[] = [
  {
    apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { name: 'external-ai-api', namespace: 'ai' },
    spec: { hosts: ['api.openai.com'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }], location: 'MESH_EXTERNAL', resolution: 'DNS' },
  },
  {
    apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'example-http', namespace: 'ai' },
    spec: { hosts: ['api.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], location: 'MESH_EXTERNAL', resolution: 'DNS' },
  },
  {
    apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'passthrough-tls', namespace: 'ai' },
    spec: { hosts: ['api.none.example.com'], ports: [{ number: 9443, name: 'tls', protocol: 'TLS' }], location: 'MESH_EXTERNAL', resolution: 'NONE' },
  },
];

const client: ServiceInput = { name: 'client', namespace: 'ai', fqdn: 'client.ai.svc.cluster.local', ports: [{ port: 8080, name: 'http', targetPort: 8080 }], selector: { app: 'client' } };
const proxy: ProxyDescriptor = { type: 'sidecar', podName: 'client-v1-0', namespace: 'ai', ip: '10.1.0.10', labels: { app: 'client', version: 'v1' }, serviceAccount: 'default' };

/** The registry as the local mesh hands it to the built-in control plane (config-store.ts addServiceEntry, serviceInput). */
function input(outboundTrafficPolicy?: 'REGISTRY_ONLY'): TranslationInput {
  const external: ServiceInput[] = entries.map((o) => parseServiceEntry(o)).flatMap((e) => e.hosts.map((host) => ({
    name: host, namespace: e.namespace, fqdn: host, selector: {},
    ports: e.ports.map((p) => ({ port: p.number, name: p.name, appProtocol: p.protocol, targetPort: p.number })),
    external: { resolution: e.resolution, entry: e.name },
  })));
  return {
    behaviour: istioBehaviour('1.31.0'),
    services: [client, ...external],
    instances: [{ podName: proxy.podName, namespace: 'ai', ip: proxy.ip, labels: proxy.labels, serviceAccount: 'default', ready: true }],
    virtualServices: [], destinationRules: [], gateways: [], authorizationPolicies: [], peerAuthentications: [], requestAuthentications: [], envoyFilters: [],
    ...(outboundTrafficPolicy ? { outboundTrafficPolicy } : {}),
  };
}

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

  it('cluster.go convertResolution (Passthrough → ORIGINAL_DST): a resolution NONE entry\'s cluster equals istiod\'s', () => {
    const name = 'outbound|9443||api.none.example.com';
    const theirs = istiod.get('ALLOW_ANY')!.clusters.find((c) => c.name === name);
    expect(theirs?.type).toBe('ORIGINAL_DST');
    expect(buildClusters(input(), proxy).find((c) => c.name === name)).toEqual(theirs);
    expect(pick9443(buildSidecarOutboundTcpListeners(input(), proxy))).toBe(pick9443(istiod.get('ALLOW_ANY')!.listeners));
  });

  it('exportTo: an entry exported to another namespace is not in this proxy\'s registry (no cluster, no virtual host, no SNI chain)', () => {
    const hidden = input();
    hidden.services = hidden.services.map((svc) => (svc.external ? { ...svc, external: { ...svc.external, exportTo: ['shop'] } } : svc));
    expect(buildClusters(hidden, proxy).map((c) => c.name).filter((n) => n.includes('api.'))).toEqual([]);
    expect(buildRoutes(hidden, proxy).find((r) => r.name === '80')).toBeUndefined();
    expect(pick443(buildSidecarOutboundTcpListeners(hidden, proxy), 'api.openai.com')).toBe('PassthroughCluster');
    expect(buildClusters(hidden, { ...proxy, namespace: 'shop' }).map((c) => c.name)).toContain('outbound|443||api.openai.com');
  });

  it('no EDS assignment for a DNS cluster (its endpoints travel in CDS)', () => {
    expect(buildEndpoints(input(), proxy).map((a) => a.cluster_name)).not.toContain('outbound|443||api.openai.com');
  });

  for (const mode of ['ALLOW_ANY', 'REGISTRY_ONLY'] as const) {
    it(`${mode}: the listener 0.0.0.0_443 (tls.go SNI chain per host → tcp_proxy, PassthroughFilterChain default) and virtualOutbound lead where istiod's lead`, () => {
      const ours = buildSidecarOutboundTcpListeners(input(mode === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : undefined), proxy);
      const theirs = istiod.get(mode)!.listeners;
      expect(chains(ours.find((l) => l.name === '0.0.0.0_443'))).toEqual(chains(theirs.find((l) => l.name === '0.0.0.0_443')));
      for (const c of [{ port: 443, tls: true, serverName: 'api.openai.com' }, { port: 443, tls: true, serverName: 'api.anthropic.com' }, { port: 5432, tls: false }]) {
        const pick = (ls: readonly Listener[]) => { const t = outboundTcpTarget(ls, c); return t.kind === 'cluster' ? t.cluster : t.kind; };
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

describe('ServiceEntry fields the local target refuses, by path', () => {
  const refused = (spec: object): string => {
    try {
      parseServiceEntry({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'x', namespace: 'ai' }, spec } as K8sObject);
    } catch (error) {
      if (error instanceof SpecError) return `${error.path}: ${error.message}`;
      throw error;
    }
    return 'accepted';
  };
  const https = [{ number: 443, name: 'https', protocol: 'HTTPS' }];
  it.each([
    [{ hosts: ['a.example.com'], ports: https, resolution: 'STATIC' }, /spec\.resolution: STATIC sends to the entry's endpoint addresses/],
    [{ hosts: ['a.example.com'], ports: https, location: 'MESH_INTERNAL' }, /spec\.location: MESH_INTERNAL is not emulated/],
    [{ hosts: ['a.example.com'], ports: https, addresses: ['10.0.0.1'] }, /spec\.addresses: not supported by the local target: virtual IPs/],
    [{ hosts: ['*.example.com'], ports: https }, /spec\.hosts\[0\]: wildcard hosts are not emulated/],
    [{ hosts: ['a.example.com'], ports: [{ number: 443, name: 'https' }] }, /spec\.ports\[0\]\.protocol: required/],
    [{ hosts: ['a.example.com'], ports: [{ number: 27017, name: 'mongo', protocol: 'MONGO' }] }, /spec\.ports\[0\]\.protocol: protocol MONGO is not emulated/],
    [{ hosts: ['a.example.com'], ports: https, resolution: 'DNS_ROUND_ROBIN' }, /spec\.resolution: DNS_ROUND_ROBIN is not emulated/],
    [{ hosts: ['a.example.com'], ports: https, workloadSelector: { labels: { app: 'vm' } } }, /spec\.workloadSelector: not supported/],
  ])('%j', (spec, message) => {
    expect(refused(spec)).toMatch(message);
  });

  it('accepts the team\'s entry as written, and exportTo with "." as its own namespace', () => {
    expect(parseServiceEntry(entries[0]!)).toEqual({ name: 'external-ai-api', namespace: 'ai', hosts: ['api.openai.com'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }], resolution: 'DNS' });
    expect(refused({ hosts: ['a.example.com'], ports: https, exportTo: ['.', 'shop'] })).toBe('accepted');
  });
});
