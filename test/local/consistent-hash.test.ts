// Consistent hashing (DestinationRule loadBalancer.consistentHash): istiod writes a RING_HASH cluster and a hash
// policy on the routes to it (cluster_traffic_policy.go ApplyRingHashLoadBalancer, route.go ConsistentHashToHashPolicy);
// Envoy's ring hash (ring_hash_lb.cc) sends equal hashes to the same host, and a cookie policy with a ttl makes the
// router set the cookie it hashed (hash_policy.cc CookieHashMethod, router.h addDownstreamSetCookie).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRing, chooseFromRing } from '../../src/envoy/runtime/ring-hash.ts';
import { cookieValue, requestHash } from '../../src/envoy/runtime/hash-policy.ts';
import { xxHash64 } from '../../src/envoy/runtime/xxhash.ts';
import { applyAndWait, mesh, yaml, type MeshHandle } from './helpers.ts';
import { repoRoot } from '../catalogue/cli.ts';

describe('ring hash and hash policies (units)', () => {
  it('xxHash64 is XXH64 with seed 0 (known values)', () => {
    expect(xxHash64('').toString(16)).toBe('ef46db3751d8e999');
    expect(xxHash64('abc').toString(16)).toBe('44bc2cf5ad770999');
  });

  it('a ring of equal hosts: 1024 entries split evenly, the first entry at or after the hash, wrapping', () => {
    const ring = buildRing([
      { key: '10.0.0.1:80', host: 'a' },
      { key: '10.0.0.2:80', host: 'b' },
      { key: '10.0.0.3:80', host: 'c' },
    ]);
    expect(ring.length).toBe(1026); // ceil(1024 / 3) = 342 each
    expect(ring.every((e, i) => i === 0 || ring[i - 1]!.hash <= e.hash)).toBe(true);
    expect(chooseFromRing(ring, ring[5]!.hash)).toBe(ring[5]!.host);
    expect(chooseFromRing(ring, ring[5]!.hash + 1n)).toBe(ring[6]!.host);
    expect(chooseFromRing(ring, ring.at(-1)!.hash + 1n)).toBe(ring[0]!.host);
    expect(chooseFromRing(ring, ring[5]!.hash, 2)).toBe(ring[7]!.host);
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (let i = 0; i < 3000; i++) counts[chooseFromRing(ring, xxHash64(`user-${i}`))!]! += 1;
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(700); // ~1000 each; the ring spreads keys
  });

  it('hash policies: header, cookie (set when missing with a ttl), source ip, query; values folded by rotate-and-xor', () => {
    const inputs = (headers: Record<string, string[]>, path = '/') => ({
      header: (n: string) => headers[n] ?? [],
      path,
      remoteAddress: '10.1.1.1:5555',
      localAddress: '10.2.2.2:80',
    });
    expect(requestHash([{ header: { header_name: 'x-user' } }], inputs({ 'x-user': ['alice'] })).hash).toBe(xxHash64('alice'));
    expect(requestHash([{ header: { header_name: 'x-user' } }], inputs({})).hash).toBeUndefined();
    const generated = requestHash([{ cookie: { name: 'session', ttl: '3600s', path: '/' } }], inputs({}));
    const value = xxHash64('10.1.1.1:555510.2.2.2:80').toString(16).padStart(16, '0');
    expect(generated).toEqual({ hash: xxHash64(value), setCookies: [`session="${value}"; Max-Age=3600; Path=/; HttpOnly`] });
    expect(requestHash([{ cookie: { name: 'session' } }], inputs({})).hash).toBeUndefined(); // no ttl: nothing generated
    expect(requestHash([{ cookie: { name: 'session', ttl: '60s' } }], inputs({ cookie: ['a=1; session="abc"'] }))).toEqual({
      hash: xxHash64('abc'),
      setCookies: [],
    });
    expect(requestHash([{ connection_properties: { source_ip: true } }], inputs({})).hash).toBe(xxHash64('10.1.1.1'));
    expect(requestHash([{ query_parameter: { name: 'u' } }], inputs({}, '/x?u=bob')).hash).toBe(xxHash64('bob'));
    const a = xxHash64('alice');
    const rotated = ((a << 1n) | (a >> 63n)) & ((1n << 64n) - 1n);
    expect(requestHash([{ header: { header_name: 'x-user' } }, { query_parameter: { name: 'u' } }], inputs({ 'x-user': ['alice'] }, '/?u=bob')).hash).toBe(
      rotated ^ xxHash64('bob'),
    );
    expect(
      requestHash([{ header: { header_name: 'x-user' }, terminal: true }, { query_parameter: { name: 'u' } }], inputs({ 'x-user': ['alice'] }, '/?u=bob')).hash,
    ).toBe(a);
    expect(cookieValue(['x=1; session=plain'], 'session')).toBe('plain');
  });
});

describe('consistent hashing on the local mesh', () => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 5, scenario: join(repoRoot, 'examples', 'two-services', 'scenario') });
  });
  afterAll(async () => m?.close());

  const podOf = (body: string) => /Hostname=(\S+)/.exec(body)?.[1];
  async function get(headers: Record<string, string>): Promise<{ pod?: string; setCookie: string | null }> {
    const res = await fetch(`${m.gatewayUrl}/`, { headers });
    return { pod: podOf(await res.text()), setCookie: res.headers.get('set-cookie') };
  }

  it('a header hash sends each user to one backend pod; another user may land elsewhere; without the hash, both pods answer', async () => {
    await applyAndWait(
      m,
      yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: shop }
spec:
  hosts: ["*"]
  gateways: [shop-gateway]
  http: [{ route: [{ destination: { host: backend, port: { number: 9000 } } }] }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: backend, namespace: shop }
spec:
  host: backend
  trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`),
    );
    const pods = new Map<string, Set<string>>();
    for (let u = 0; u < 12; u++) {
      for (let i = 0; i < 6; i++) {
        const { pod } = await get({ 'x-user': `user-${u}` });
        if (!pods.has(`user-${u}`)) pods.set(`user-${u}`, new Set());
        pods.get(`user-${u}`)!.add(pod!);
      }
    }
    for (const [user, seen] of pods) expect(seen.size, user).toBe(1);
    const all = new Set([...pods.values()].flatMap((s) => [...s]));
    expect(all.size).toBe(2); // twelve users spread over both pods (the ring splits the hash space)
    const unhashed = new Set<string>();
    for (let i = 0; i < 40; i++) unhashed.add((await get({})).pod!);
    expect(unhashed.size).toBe(2); // no header, no hash: a random point on the ring per request
  });

  it('a cookie hash with a ttl: the first answer sets the cookie, and requests that send it back stay on one pod', async () => {
    await applyAndWait(
      m,
      yaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: backend, namespace: shop }
spec:
  host: backend
  trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: session, ttl: 3600s, path: / } } } }
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`),
    );
    const first = await get({});
    expect(first.setCookie).toMatch(/^session="[0-9a-f]{16}"; Max-Age=3600; Path=\/; HttpOnly$/);
    const cookie = first.setCookie!.split(';')[0]!;
    for (let i = 0; i < 10; i++) {
      const next = await get({ cookie });
      expect(next.pod).toBe(first.pod);
      expect(next.setCookie).toBeNull(); // the request carried it: nothing to set
    }
  });
});
