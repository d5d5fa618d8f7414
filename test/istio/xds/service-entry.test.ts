// ServiceEntry hosts in the built-in control plane without istiod (test/fidelity/service-entry.test.ts compares them
// with istiod's): visibility by exportTo, no EDS for DNS clusters, and the fields the local target refuses, by path.
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../../src/errors.ts';
import type { Listener } from '../../../src/envoy/model/index.ts';
import { outboundTcpTarget } from '../../../src/envoy/runtime/outbound-tcp.ts';
import { parseServiceEntry } from '../../../src/istio/networking/service-entry.ts';
import { buildClusters } from '../../../src/istio/xds/clusters.ts';
import { buildEndpoints } from '../../../src/istio/xds/endpoints.ts';
import { buildSidecarOutboundListeners } from '../../../src/istio/xds/outbound-listeners.ts';
import { buildRoutes } from '../../../src/istio/xds/routes.ts';
import type { K8sObject } from '../../../src/spec/types.ts';
import { entries, input, proxy } from './service-entry-input.ts';

function pick443(listeners: readonly Listener[], serverName: string): string {
  const t = outboundTcpTarget(listeners, { port: 443, tls: true, serverName });
  return t.kind === 'cluster' ? t.cluster : t.kind;
}

describe('ServiceEntry hosts in the registry', () => {
  it("exportTo: an entry exported to another namespace is not in this proxy's registry (no cluster, no virtual host, no SNI chain)", () => {
    const hidden = input();
    hidden.services = hidden.services.map((svc) => (svc.external ? { ...svc, external: { ...svc.external, exportTo: ['shop'] } } : svc));
    expect(
      buildClusters(hidden, proxy)
        .map((c) => c.name)
        .filter((n) => n.includes('api.')),
    ).toEqual([]);
    expect(buildRoutes(hidden, proxy).find((r) => r.name === '80')).toBeUndefined();
    expect(pick443(buildSidecarOutboundListeners(hidden, proxy), 'api.openai.com')).toBe('PassthroughCluster');
    expect(buildClusters(hidden, { ...proxy, namespace: 'shop' }).map((c) => c.name)).toContain('outbound|443||api.openai.com');
  });

  it('no EDS assignment for a DNS cluster (its endpoints travel in CDS)', () => {
    expect(buildEndpoints(input(), proxy).map((a) => a.cluster_name)).not.toContain('outbound|443||api.openai.com');
  });
});

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
    expect(parseServiceEntry(entries[0]!)).toEqual({
      name: 'external-ai-api',
      namespace: 'ai',
      hosts: ['api.openai.com'],
      ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
      resolution: 'DNS',
    });
    expect(refused({ hosts: ['a.example.com'], ports: https, exportTo: ['.', 'shop'] })).toBe('accepted');
  });
});
