// The shared Target contract: every target (local, kube) must pass these tests.
//   targetContract('local', () => new LocalTarget({ scenario: 'bookinfo', seed: 1 }));
//   targetContract('kube', () => new KubeTarget({ scenario: 'bookinfo', context: 'kind-test', ... }), { traffic: false });
// makeTarget builds the target with all its options, for scenario bookinfo; the contract calls prepare() with none.
// With `traffic: false` (a test API server that carries no HTTP traffic) the behavioural checks are skipped and only
// the lifecycle is checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { sumCounter } from '../../src/observe/prometheus.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import type { Target } from '../../src/targets/target.ts';

export interface ContractOptions {
  /** Whether the entrypoint carries real Bookinfo traffic (default true). */
  traffic?: boolean;
  /** Whether apply() itself refuses an invalid resource with a SpecError (default true). */
  refusesInvalid?: boolean;
  timeoutMs?: number;
}

const destinationRule: K8sObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: { host: 'reviews', subsets: ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })) },
};

const reviewsTo = (subset: string): K8sObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset } }] }] },
});

/** The bookinfo gateway VirtualService narrowed to /productpage: an existing object the contract modifies and restores. */
const narrowedBookinfo: K8sObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'bookinfo', namespace: 'default' },
  spec: {
    hosts: ['*'],
    gateways: ['bookinfo-gateway'],
    http: [{ match: [{ uri: { exact: '/productpage' } }], route: [{ destination: { host: 'productpage', port: { number: 9080 } } }] }],
  },
};

async function reviewsVersions(base: string, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const body = await (await fetch(`${base}/productpage`)).text();
    const version = /Reviews served by:\s*\n?\s*reviews-(v\d+)-/.exec(body)?.[1];
    seen.add(version ?? (body.includes('Error fetching product reviews') ? 'error' : 'unknown'));
  }
  return seen;
}

export function targetContract(name: string, makeTarget: () => Target, options: ContractOptions = {}): void {
  const traffic = options.traffic ?? true;
  const timeoutMs = options.timeoutMs ?? 10_000;

  describe(`Target contract: ${name}`, () => {
    let target: Target;
    beforeAll(async () => {
      target = makeTarget();
      await target.prepare();
    }, 60_000);
    afterAll(async () => {
      await target?.restore();
      await target?.close();
    });

    it('prepare() describes the target and the Istio version it behaves as', async () => {
      const again = makeTarget();
      const info = await again.prepare();
      await again.close();
      expect(info.kind).toBe(again.kind);
      expect(info.istioVersion).toMatch(/^\d+\.\d+/);
      expect(info.context).not.toBe('');
    });

    it('entrypoint() is an http base URL', async () => {
      const url = await target.entrypoint();
      expect(url).toMatch(/^https?:\/\/[^/]+$/);
      if (traffic) expect((await fetch(`${url}/productpage`)).status).toBe(200);
    });

    it('counters() returns Prometheus samples tagged with their proxy', async () => {
      const before = await target.counters();
      for (const s of before) {
        expect(typeof s.proxy).toBe('string');
        expect(typeof s.name).toBe('string');
        expect(Number.isFinite(s.value)).toBe(true);
      }
      if (!traffic) return;
      const url = await target.entrypoint();
      for (let i = 0; i < 5; i++) await (await fetch(`${url}/productpage`)).text();
      const after = await target.counters();
      const gateway = (samples: typeof before) => sumCounter(samples, 'istio_requests_total', { reporter: 'source', source_workload: 'istio-ingressgateway' });
      expect(gateway(after) - gateway(before)).toBe(5);
    });

    it('apply() + waitConverged(): every proxy runs the new version, and the change is in force', async () => {
      await target.snapshot([destinationRule, reviewsTo('v1')]);
      await target.apply([destinationRule, reviewsTo('v1')], 'contract-1');
      const report = await target.waitConverged(timeoutMs);
      expect(report.version).not.toBe('');
      expect(report.proxies.length).toBeGreaterThan(0);
      expect(report.proxies.every((p) => p.synced)).toBe(true);
      if (traffic) expect([...(await reviewsVersions(await target.entrypoint(), 10))]).toEqual(['v1']);
    });

    it('a second apply() replaces the first; restore() deletes what was created', async () => {
      await target.apply([reviewsTo('v3')], 'contract-1');
      await target.waitConverged(timeoutMs);
      if (traffic) expect([...(await reviewsVersions(await target.entrypoint(), 10))]).toEqual(['v3']);
      const report = await target.restore();
      expect(report.errors).toEqual([]);
      expect(report.deleted.sort()).toEqual(['DestinationRule/default/reviews', 'VirtualService/default/reviews'].sort());
      expect(report.restored).toEqual([]);
      await target.waitConverged(timeoutMs);
      if (traffic) expect((await reviewsVersions(await target.entrypoint(), 30)).size).toBeGreaterThan(1);
    });

    it('restore() puts back an object that existed before, and is idempotent', async () => {
      await target.snapshot([narrowedBookinfo]);
      await target.apply([narrowedBookinfo], 'contract-2');
      await target.waitConverged(timeoutMs);
      const url = await target.entrypoint();
      if (traffic) expect((await fetch(`${url}/api/v1/products`)).status).toBe(404);
      const report = await target.restore();
      expect(report.restored).toEqual(['VirtualService/default/bookinfo']);
      expect(report.deleted).toEqual([]);
      await target.waitConverged(timeoutMs);
      if (traffic) expect((await fetch(`${url}/api/v1/products`)).status).toBe(200);
      const again = await target.restore();
      expect(again).toEqual({ deleted: [], restored: [], errors: [] });
    });

    if (options.refusesInvalid ?? true) {
      it('apply() refuses an invalid resource with a SpecError naming the field, and changes nothing', async () => {
        const bad: K8sObject = { ...reviewsTo('v1'), spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' }, weight: 'heavy' }] }] } };
        const error = await target.apply([bad], 'contract-3').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SpecError);
        expect((error as SpecError).path).toContain('VirtualService reviews');
        expect((error as SpecError).path).toContain('weight');
        const report = await target.restore();
        expect(report.deleted).toEqual([]);
      });
    }
  });
}
