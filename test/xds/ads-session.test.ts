import { describe, expect, it } from 'vitest';
import { AdsSession } from '../../src/xds/ads-session.ts';
import { TypeUrl, type DiscoveryResponse } from '../../src/xds/discovery.ts';
import { proxyNode } from '../../src/xds/node.ts';
import { fixtureResources, wasmFilter } from './fixture.ts';

const node = proxyNode({
  type: 'sidecar',
  podName: 'productpage-v1-6b746f74dc-9stvs',
  namespace: 'default',
  ips: ['10.244.0.10'],
  labels: { app: 'productpage', version: 'v1' },
  serviceAccount: 'bookinfo-productpage',
  istioVersion: '1.31.0',
});

const response = (type_url: string, version_info: string, nonce: string, resources: Record<string, unknown>[]): DiscoveryResponse => ({
  type_url,
  version_info,
  nonce,
  resources,
});

/** Walks a session through CDS, EDS, LDS and RDS as istiod answers a new sidecar. */
function converged() {
  const r = fixtureResources();
  const session = new AdsSession(node);
  session.openStream();
  session.onResponse(response(TypeUrl.cluster, 'v1', 'n1', r.clusters));
  session.onResponse(response(TypeUrl.endpoint, 'v1', 'n2', r.endpoints));
  session.onResponse(response(TypeUrl.listener, 'v1', 'n3', r.listeners));
  session.onResponse(response(TypeUrl.route, 'v1', 'n4', r.routes));
  return { session, r };
}

describe("AdsSession: subscriptions in istiod's order (pilot/pkg/xds/ads.go PushOrder), ACKs and NACKs", () => {
  it('starts with a wildcard CDS request that carries the node', () => {
    const session = new AdsSession(node);
    expect(session.openStream()).toEqual([{ type_url: TypeUrl.cluster, version_info: '', resource_names: [], response_nonce: '', node }]);
  });

  it('CDS → ACK, then EDS for the EDS clusters; EDS → ACK, then LDS; LDS → ACK, then RDS for the route names', () => {
    const r = fixtureResources();
    const session = new AdsSession(node);
    session.openStream();
    const cds = session.onResponse(response(TypeUrl.cluster, '2026-12-04T23:00:00Z/12', 'c-1', r.clusters));
    expect(cds.requests).toEqual([
      { type_url: TypeUrl.cluster, version_info: '2026-12-04T23:00:00Z/12', resource_names: [], response_nonce: 'c-1' },
      { type_url: TypeUrl.endpoint, version_info: '', resource_names: ['outbound|9080|v1|reviews.default.svc.cluster.local'], response_nonce: '' },
    ]);
    const eds = session.onResponse(response(TypeUrl.endpoint, 'e-v', 'e-1', r.endpoints));
    expect(eds.requests.map((q) => [q.type_url, q.version_info, q.response_nonce])).toEqual([
      [TypeUrl.endpoint, 'e-v', 'e-1'],
      [TypeUrl.listener, '', ''],
    ]);
    const lds = session.onResponse(response(TypeUrl.listener, 'l-v', 'l-1', r.listeners));
    expect(lds.requests.map((q) => [q.type_url, q.resource_names])).toEqual([
      [TypeUrl.listener, []],
      [TypeUrl.route, ['9080']],
    ]);
    const rds = session.onResponse(response(TypeUrl.route, 'r-v', 'r-1', r.routes));
    expect(rds.requests).toEqual([{ type_url: TypeUrl.route, version_info: 'r-v', resource_names: ['9080'], response_nonce: 'r-1' }]);
    expect(rds.accepted?.config.routes.map((x) => x.name)).toEqual(['9080']);
    expect(session.acceptedVersions()).toEqual({ CDS: '2026-12-04T23:00:00Z/12', EDS: 'e-v', LDS: 'l-v', RDS: 'r-v' });
  });

  it("NACKs a listener the data plane does not execute: previous version, the response's nonce, the loader's text; keeps the old listeners", () => {
    const { session, r } = converged();
    const listeners = structuredClone(r.listeners);
    listeners[1].filter_chains[0].filters[0].typed_config.http_filters.splice(3, 0, wasmFilter);
    const update = session.onResponse(response(TypeUrl.listener, 'v2', 'n5', listeners));
    const message =
      'LDS 0.0.0.0_9080: filter_chains[0].filters[0].typed_config.http_filters[3]: envoy.filters.http.wasm ' +
      '(type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm) is not executed by the local data plane';
    expect(update.requests).toEqual([
      { type_url: TypeUrl.listener, version_info: 'v1', resource_names: [], response_nonce: 'n5', error_detail: { code: 3, message } },
    ]);
    expect(update.rejected).toEqual({ typeUrl: TypeUrl.listener, nonce: 'n5', message });
    expect(update.accepted).toBeUndefined();
    expect(session.acceptedVersions().LDS).toBe('v1');
    expect(session.config().listeners).toHaveLength(3);
  });

  it('a later valid push after a NACK is ACKed with its own version', () => {
    const { session, r } = converged();
    const bad = structuredClone(r.listeners);
    bad[0].transparent = true;
    session.onResponse(response(TypeUrl.listener, 'v2', 'n5', bad));
    const good = session.onResponse(response(TypeUrl.listener, 'v3', 'n6', r.listeners.slice(0, 2)));
    expect(good.requests[0]).toEqual({ type_url: TypeUrl.listener, version_info: 'v3', resource_names: [], response_nonce: 'n6' });
    expect(session.config().listeners.map((l) => l.name)).toEqual(['virtualOutbound', '0.0.0.0_9080']);
  });

  it('CDS is state of the world: a cluster left out is gone, and EDS is re-subscribed to what remains', () => {
    const { session, r } = converged();
    const update = session.onResponse(response(TypeUrl.cluster, 'v2', 'n5', r.clusters.slice(1)));
    expect(session.config().clusters.map((c) => c.name)).toEqual(['PassthroughCluster', 'BlackHoleCluster', 'InboundPassthroughCluster']);
    expect(update.requests).toEqual([{ type_url: TypeUrl.cluster, version_info: 'v2', resource_names: [], response_nonce: 'n5' }]);
    expect(session.config().endpoints).toEqual([]);
  });

  it('a new stream re-sends every subscription with the accepted versions and names, no nonce, the node once', () => {
    const { session } = converged();
    const requests = session.openStream();
    expect(requests.map((q) => [q.type_url, q.version_info, q.resource_names, q.response_nonce, q.node !== undefined])).toEqual([
      [TypeUrl.cluster, 'v1', [], '', true],
      [TypeUrl.endpoint, 'v1', ['outbound|9080|v1|reviews.default.svc.cluster.local'], '', false],
      [TypeUrl.listener, 'v1', [], '', false],
      [TypeUrl.route, 'v1', ['9080'], '', false],
    ]);
  });

  it('refuses a resource type it never asked for', () => {
    const session = new AdsSession(node);
    session.openStream();
    const update = session.onResponse(response('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', 'v1', 's1', []));
    expect(update.requests[0]?.error_detail?.message).toMatch(/Secret is not a resource type the local data plane subscribes to/);
  });
});
