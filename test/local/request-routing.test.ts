// Istio tasks traffic-management/request-routing and traffic-shifting on the local mesh
// (istio.io docs tasks/traffic-management; samples/bookinfo/networking/virtual-service-*.yaml).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAndWait, countBy, login, mesh, pages, restoreBaseline, scenarioFile, yaml, type MeshHandle } from './helpers.ts';

const allV1 = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: productpage }
spec:
  hosts: [productpage]
  http: [{ route: [{ destination: { host: productpage, subset: v1 } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v1 } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http: [{ route: [{ destination: { host: ratings, subset: v1 } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: details }
spec:
  hosts: [details]
  http: [{ route: [{ destination: { host: details, subset: v1 } }] }]
`);

const jasonV2 = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]
`);

const split = (a: string, wa: number, b: string, wb: number) =>
  yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - { destination: { host: reviews, subset: ${a} }, weight: ${wa} }
    - { destination: { host: reviews, subset: ${b} }, weight: ${wb} }
`);

let m: MeshHandle;
beforeAll(async () => {
  m = await mesh({ seed: 5 });
  await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
});
afterAll(async () => m?.close());

describe('request routing (istio.io tasks/traffic-management/request-routing)', () => {
  it('virtual-service-all-v1: every page shows reviews v1 without stars', async () => {
    await applyAndWait(m, allV1);
    const seen = await pages(m, 40);
    expect(countBy(seen, (p) => `${p.reviews}:${p.stars}`)).toEqual({ 'v1:none': 40 });
    await restoreBaseline(m, allV1);
  });

  it('virtual-service-reviews-test-v2: jason sees v2 (black stars), everyone else v1', async () => {
    await applyAndWait(m, jasonV2);
    const jason = await login(m, 'jason');
    expect(countBy(await pages(m, 20, jason), (p) => `${p.reviews}:${p.stars}`)).toEqual({ 'v2:black': 20 });
    expect(countBy(await pages(m, 20), (p) => p.reviews)).toEqual({ v1: 20 });
    const other = await login(m, 'alice');
    expect(countBy(await pages(m, 10, other), (p) => p.reviews)).toEqual({ v1: 10 });
    await restoreBaseline(m, jasonV2);
  });
});

describe('traffic shifting (istio.io tasks/traffic-management/traffic-shifting)', () => {
  it('virtual-service-reviews-50-v3: about half v1, half v3; then 100 % v3', async () => {
    await applyAndWait(m, split('v1', 50, 'v3', 50));
    const seen = await pages(m, 400);
    const counts = countBy(seen, (p) => p.reviews);
    expect(Object.keys(counts).sort()).toEqual(['v1', 'v3']);
    // 400 fair coin flips: outside 160..240 has probability < 1e-4
    expect(counts.v1).toBeGreaterThan(160);
    expect(counts.v1).toBeLessThan(240);
    await applyAndWait(m, split('v1', 0, 'v3', 100));
    expect(countBy(await pages(m, 40), (p) => p.reviews)).toEqual({ v3: 40 });
    await restoreBaseline(m, split('v1', 0, 'v3', 100));
  });

  it('weights are relative shares: 1:3 behaves as 25/75', async () => {
    await applyAndWait(m, split('v2', 1, 'v3', 3));
    const counts = countBy(await pages(m, 400), (p) => p.reviews);
    // binomial(400, 0.25): mean 100, sd 8.7; 65..135 is beyond 4 sd
    expect(counts.v2).toBeGreaterThan(65);
    expect(counts.v2).toBeLessThan(135);
    await restoreBaseline(m, split('v2', 1, 'v3', 3));
  });
});

describe('determinism', () => {
  it('the same seed gives the same weighted picks for the same requests, whatever the concurrency', async () => {
    const run = async (concurrency: number) => {
      const other = await mesh({ seed: 77 });
      try {
        await applyAndWait(other, scenarioFile('destination-rule-all.yaml'));
        await applyAndWait(other, split('v1', 30, 'v3', 70));
        return countBy(await pages(other, 120, undefined, concurrency), (p) => p.reviews);
      } finally {
        await other.close();
      }
    };
    const sequential = await run(1);
    const concurrent = await run(12);
    expect(concurrent).toEqual(sequential);
  });
});
