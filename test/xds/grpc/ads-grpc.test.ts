// The ADS client over real gRPC against an in-process server that answers as istiod's ADS does (fake-istiod.ts).
import prand from 'pure-rand';
import { afterEach, describe, expect, it } from 'vitest';
import { AdsClient } from '../../../src/xds/ads-client.ts';
import { SHORT_NAME, TypeUrl, type XdsTypeUrl } from '../../../src/xds/discovery.ts';
import { grpcAdsTransport } from '../../../src/xds/grpc/transport.ts';
import { proxyNode } from '../../../src/xds/node.ts';
import { fixtureResources, wasmFilter } from '../fixture.ts';
import { FakeIstiodAds, type Connection } from './fake-istiod.ts';
import { must } from '../../../src/must.ts';

const node = proxyNode({
  type: 'sidecar',
  podName: 'productpage-v1-6b746f74dc-9stvs',
  namespace: 'default',
  ips: ['127.0.0.10'],
  labels: { app: 'productpage', version: 'v1' },
  serviceAccount: 'bookinfo-productpage',
  istioVersion: '1.31.0',
});

function seededRandom(seed: number): () => number {
  const rng = prand.xoroshiro128plus(seed);
  return () => prand.unsafeUniformIntDistribution(0, 999_999, rng) / 1_000_000;
}

/** Polls until `check` holds; the test's own timeout bounds it. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

const ALL: XdsTypeUrl[] = [TypeUrl.cluster, TypeUrl.endpoint, TypeUrl.listener, TypeUrl.route];
const ackedAll = (conn: Connection | undefined, version: string) => conn !== undefined && ALL.every((t) => conn.acked.get(t)?.version === version);

/** Each request as `<xDS> <initial|ack|nack>`, to compare with what a sidecar sends. */
const describeRequests = (conn: Connection) =>
  conn.requests.map((r) => `${SHORT_NAME[r.type_url as XdsTypeUrl]} ${r.error_detail ? 'nack' : r.response_nonce ? 'ack' : 'initial'}`);

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.reverse()) c();
  cleanup = [];
});

async function setup() {
  const istiod = new FakeIstiodAds(fixtureResources());
  const port = await istiod.start();
  const { transport, close } = grpcAdsTransport({ address: `127.0.0.1:${port}` });
  const rejected: string[] = [];
  const client = new AdsClient({
    node,
    transport,
    random: seededRandom(13),
    backOff: { baseMs: 20, maxMs: 200 },
    onReject: (r) => rejected.push(r.message),
  });
  cleanup.push(
    () => istiod.close(),
    close,
    () => client.close(),
  );
  client.start();
  return { istiod, client, rejected };
}

describe('AdsClient over gRPC against an istiod-like ADS server', () => {
  it("subscribes CDS, EDS, LDS, RDS in order, ACKs each with the version and nonce sent, and sends pilot-agent's node", async () => {
    const { istiod, client } = await setup();
    await until(() => ackedAll(istiod.connections[0], istiod.pushVersion));
    const conn = must(istiod.connections[0], 'conn');
    expect(describeRequests(conn)).toEqual(['CDS initial', 'CDS ack', 'EDS initial', 'EDS ack', 'LDS initial', 'LDS ack', 'RDS initial', 'RDS ack']);
    expect(conn.nodeId).toBe('sidecar~127.0.0.10~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local');
    expect(conn.requests[0]?.node?.metadata).toMatchObject({ CLUSTER_ID: 'Kubernetes', LABELS: { app: 'productpage' }, ENVOY_STATUS_PORT: 15021 });
    expect(conn.requests.filter((r) => r.node)).toHaveLength(1);
    expect(conn.requests.find((r) => r.type_url === TypeUrl.route)?.resource_names).toEqual(['9080']);
    expect(client.config().listeners.map((l) => l.name)).toEqual(['virtualOutbound', '0.0.0.0_9080', 'virtualInbound']);
    expect(client.acceptedVersions()).toEqual({ CDS: istiod.pushVersion, EDS: istiod.pushVersion, LDS: istiod.pushVersion, RDS: istiod.pushVersion });
  });

  it("NACKs a pushed listener it does not execute with the loader's text, keeps its listeners, and ACKs the next good push", async () => {
    const { istiod, client, rejected } = await setup();
    await until(() => ackedAll(istiod.connections[0], istiod.pushVersion));
    const conn = must(istiod.connections[0], 'conn');
    const first = istiod.pushVersion;
    const listeners = structuredClone(fixtureResources().listeners);
    listeners[1].filter_chains[0].filters[0].typed_config.http_filters.splice(3, 0, wasmFilter);
    istiod.push({ listeners });
    // istiod pushes CDS, EDS, LDS, RDS in order on one stream, so the RDS ACK comes after the LDS NACK.
    await until(() => conn.nacks.length === 1 && conn.acked.get(TypeUrl.route)?.version === istiod.pushVersion);
    const nack = must(conn.nacks[0], 'nack');
    expect(nack.version_info).toBe(first);
    expect(nack.error_detail?.code).toBe(3);
    expect(nack.error_detail?.message).toBe(
      'LDS 0.0.0.0_9080: filter_chains[0].filters[0].typed_config.http_filters[3]: envoy.filters.http.wasm ' +
        '(type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm) is not executed by the local data plane',
    );
    expect(rejected).toEqual([nack.error_detail?.message]);
    expect(client.acceptedVersions().LDS).toBe(first);
    expect(client.config().listeners).toHaveLength(3);

    const routes = structuredClone(fixtureResources().routes);
    routes[0].virtual_hosts[0].routes[1].route.weighted_clusters = {
      clusters: [
        { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', weight: 50 },
        { name: 'outbound|9080|v3|reviews.default.svc.cluster.local', weight: 50 },
      ],
    };
    istiod.push({ listeners: fixtureResources().listeners, routes });
    await until(() => ackedAll(conn, istiod.pushVersion));
    expect(client.config().routes[0]?.virtual_hosts?.[0]?.routes?.[1]?.route?.weighted_clusters?.clusters.map((c) => c.weight)).toEqual([50, 50]);
  });

  it('reconnects after the stream ends, re-sending the node, the accepted versions and the names, without a nonce', async () => {
    const { istiod } = await setup();
    await until(() => ackedAll(istiod.connections[0], istiod.pushVersion));
    const version = istiod.pushVersion;
    istiod.dropStreams();
    await until(() => istiod.connections.length === 1 && ackedAll(istiod.connections[0], version));
    const resumed = must(istiod.connections[0], 'istiod.connections[0]').requests.slice(0, 4);
    // proto3 JSON leaves an empty nonce out.
    expect(resumed.map((r) => [SHORT_NAME[r.type_url as XdsTypeUrl], r.version_info, r.response_nonce ?? '', r.node !== undefined])).toEqual([
      ['CDS', version, '', true],
      ['EDS', version, '', false],
      ['LDS', version, '', false],
      ['RDS', version, '', false],
    ]);
  });
});
