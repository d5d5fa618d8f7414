// A VirtualService an experiment applies that an older one of its namespace shadows for the sidecars
// (pilot/pkg/model/config.go configCompareByCreationTime; one virtual host per domain; Istio's analyzer IST0109).
import { describe, expect, it } from 'vitest';
import { shadowedHosts } from '../../src/targets/kube/host-conflicts.ts';
import type { K8sObject } from '../../src/spec/types.ts';

const vs = (name: string, hosts: string[], extra: { namespace?: string; created?: string; gateways?: string[] } = {}): K8sObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name, ...(extra.namespace ? { namespace: extra.namespace } : {}), ...(extra.created ? { creationTimestamp: extra.created } : {}) },
  spec: { hosts, ...(extra.gateways ? { gateways: extra.gateways } : {}), http: [{ route: [{ destination: { host: hosts[0] } }] }] },
});

describe('VirtualServices istiod would ignore for the sidecars', () => {
  it('an older VirtualService of the namespace for the same host (short name or FQDN) shadows the new one', () => {
    const live = [vs('ratings-old', ['ratings'], { namespace: 'default', created: '2026-01-01T00:00:00Z' })];
    const found = shadowedHosts([vs('ratings', ['ratings.default.svc.cluster.local'])], live, 'default');
    expect(found.map((f) => [f.resource.metadata.name, f.host, f.index, f.by])).toEqual([
      ['ratings', 'ratings.default.svc.cluster.local', 0, 'default/ratings-old'],
    ]);
  });

  it('replacing the older one itself, or an older copy of the same object, is no conflict', () => {
    const live = [vs('ratings', ['ratings'], { namespace: 'default', created: '2026-01-01T00:00:00Z' })];
    expect(shadowedHosts([vs('ratings', ['ratings'])], live, 'default')).toEqual([]);
  });

  it('the experiment replacing an object older than the other keeps its place: creation time, then name', () => {
    const live = [
      vs('a-ratings', ['ratings'], { namespace: 'default', created: '2026-01-01T00:00:00Z' }),
      vs('b-ratings', ['ratings'], { namespace: 'default', created: '2026-01-01T00:00:00Z' }),
    ];
    expect(shadowedHosts([vs('a-ratings', ['ratings'])], live, 'default')).toEqual([]);
    expect(shadowedHosts([vs('b-ratings', ['ratings'])], live, 'default').map((f) => f.by)).toEqual(['default/a-ratings']);
  });

  it("other namespaces, other hosts, gateway-only VirtualServices and the experiment's own set do not count", () => {
    const live = [
      vs('elsewhere', ['ratings.default.svc.cluster.local'], { namespace: 'team', created: '2026-01-01T00:00:00Z' }),
      vs('reviews', ['reviews'], { namespace: 'default', created: '2026-01-01T00:00:00Z' }),
      vs('edge', ['ratings'], { namespace: 'default', created: '2026-01-01T00:00:00Z', gateways: ['bookinfo-gateway'] }),
      vs('mine-too', ['ratings'], { namespace: 'default', created: '2026-01-01T00:00:00Z' }),
    ];
    expect(shadowedHosts([vs('ratings', ['ratings']), vs('mine-too', ['ratings'])], live, 'default')).toEqual([]);
  });

  it('judges the same host only: a wildcard VirtualService is not taken for a conflict (no refusal meshproof cannot prove)', () => {
    const live = [vs('all', ['*.default.svc.cluster.local'], { namespace: 'default', created: '2026-01-01T00:00:00Z' })];
    expect(shadowedHosts([vs('ratings', ['ratings'])], live, 'default')).toEqual([]);
  });
});
