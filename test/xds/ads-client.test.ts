import { describe, expect, it } from 'vitest';
import prand from 'pure-rand';
import { AdsClient, type AdsStreamHandlers, type AdsTransport } from '../../src/xds/ads-client.ts';
import { TypeUrl, type DiscoveryRequest } from '../../src/xds/discovery.ts';
import { proxyNode } from '../../src/xds/node.ts';
import { fixtureResources } from './fixture.ts';
import { must } from '../../src/must.ts';

const node = proxyNode({
  type: 'sidecar',
  podName: 'productpage-v1-6b746f74dc-9stvs',
  namespace: 'default',
  ips: ['10.244.0.10'],
  labels: { app: 'productpage', version: 'v1' },
  serviceAccount: 'bookinfo-productpage',
  istioVersion: '1.31.0',
});

function seededRandom(seed: number): () => number {
  const rng = prand.xoroshiro128plus(seed);
  return () => prand.unsafeUniformIntDistribution(0, 1_000_000 - 1, rng) / 1_000_000;
}

/** An in-memory transport whose streams the test drives; timers run when the test says. */
function harness() {
  const streams: { handlers: AdsStreamHandlers; sent: DiscoveryRequest[]; closed: boolean }[] = [];
  const transport: AdsTransport = (handlers) => {
    const s = { handlers, sent: [] as DiscoveryRequest[], closed: false };
    streams.push(s);
    return { send: (r) => s.sent.push(r), close: () => (s.closed = true) };
  };
  const timers: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  const schedule = (fn: () => void, ms: number) => {
    const t = { fn, ms, cancelled: false };
    timers.push(t);
    return { cancel: () => (t.cancelled = true) };
  };
  return { streams, transport, timers, schedule };
}

describe('AdsClient: stream, ACK and reconnect with back-off', () => {
  it('reports each accepted config and reconnects after a stream error with a jittered wait', () => {
    const h = harness();
    const versions: string[] = [];
    const disconnects: number[] = [];
    const client = new AdsClient({
      node,
      transport: h.transport,
      random: seededRandom(7),
      schedule: h.schedule,
      backOff: { baseMs: 500, maxMs: 30_000 },
      onConfig: (u) => versions.push(`${u.typeUrl.split('.').pop()}@${u.version}`),
      onDisconnect: (d) => disconnects.push(d.retryInMs),
    });
    client.start();
    const r = fixtureResources();
    expect(h.streams[0]?.sent[0]?.type_url).toBe(TypeUrl.cluster);
    must(h.streams[0], 'h.streams[0]').handlers.onResponse({ type_url: TypeUrl.cluster, version_info: '1', nonce: 'a', resources: r.clusters });
    expect(versions).toEqual(['Cluster@1']);

    must(h.streams[0], 'h.streams[0]').handlers.onClose(new Error('14 UNAVAILABLE: connection reset'));
    must(h.streams[0], 'h.streams[0]').handlers.onClose(new Error('reported twice'));
    expect(disconnects).toHaveLength(1);
    expect(disconnects[0]).toBeGreaterThanOrEqual(0);
    expect(disconnects[0]).toBeLessThan(500);
    expect(h.timers).toHaveLength(1);

    must(h.timers[0], 'h.timers[0]').fn();
    expect(h.streams).toHaveLength(2);
    expect(h.streams[1]?.sent.map((q) => [q.type_url, q.version_info, q.response_nonce])).toEqual([
      [TypeUrl.cluster, '1', ''],
      [TypeUrl.endpoint, '', ''],
    ]);
    expect(h.streams[1]?.sent[0]?.node).toEqual(node);
    client.close();
    expect(h.streams[1]?.closed).toBe(true);
  });

  it('the back-off ceiling grows while streams fail without a response and starts again after one', () => {
    const h = harness();
    const waits: number[] = [];
    const client = new AdsClient({
      node,
      transport: h.transport,
      random: () => 0.999,
      schedule: h.schedule,
      backOff: { baseMs: 100, maxMs: 1000 },
      onDisconnect: (d) => waits.push(d.retryInMs),
    });
    client.start();
    for (let i = 0; i < 3; i++) {
      must(h.streams[i], 'h.streams[i]').handlers.onClose(new Error('refused'));
      must(h.timers[i], 'h.timers[i]').fn();
    }
    must(h.streams[3], 'h.streams[3]').handlers.onResponse({ type_url: TypeUrl.cluster, version_info: '1', nonce: 'a', resources: [] });
    must(h.streams[3], 'h.streams[3]').handlers.onClose();
    expect(waits).toEqual([99, 199, 399, 99]);
    client.close();
  });

  it('close cancels a pending reconnect', () => {
    const h = harness();
    const client = new AdsClient({ node, transport: h.transport, random: () => 0.5, schedule: h.schedule });
    client.start();
    must(h.streams[0], 'h.streams[0]').handlers.onClose(new Error('x'));
    client.close();
    expect(h.timers[0]?.cancelled).toBe(true);
  });
});
