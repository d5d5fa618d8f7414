// Istio task traffic-management/fault-injection on the local mesh, and how faults meet retries
// (istio.io docs; samples/bookinfo/networking/virtual-service-ratings-test-{delay,abort}.yaml; Envoy fault filter
// runs before the router, so injected aborts are never retried: istio/istio#13705, #20928).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAndWait, counters, countBy, login, mesh, page, pages, restoreBaseline, scenarioFile, sum, yaml, type MeshHandle } from './helpers.ts';

const routing = yaml(`
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

const ratingsFault = (fault: string) =>
  yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    fault: ${fault}
    route: [{ destination: { host: ratings, subset: v1 } }]
  - route: [{ destination: { host: ratings, subset: v1 } }]
`);

let m: MeshHandle;
let jason: string;
beforeAll(async () => {
  m = await mesh({ seed: 9 });
  await applyAndWait(m, [...scenarioFile('destination-rule-all.yaml'), ...routing]);
  jason = await login(m, 'jason');
});
afterAll(async () => m?.close());

describe('fault injection (istio.io tasks/traffic-management/fault-injection)', () => {
  it('7 s delay for jason on ratings: the page shows reviews unavailable after about 6 s (productpage 3 s timeout, two tries)', async () => {
    const fault = ratingsFault('{ delay: { fixedDelay: 7s, percentage: { value: 100.0 } } }');
    await applyAndWait(m, fault);
    const p = await page(m, jason);
    expect(p.status).toBe(200);
    expect(p.reviews).toBe('reviews-error');
    expect(p.body).toContain('Sorry, product reviews are currently unavailable for this book.');
    // Semantic lower bound: two tries of productpage's own 3 s timeout. That it gave up rather than waiting for the
    // 7 s delay is what the two DC (client hung up) below show, not a clock.
    expect(p.ms).toBeGreaterThan(5900);
    const c = await counters(m);
    expect(
      sum(c, 'istio_requests_total', { reporter: 'source', destination_service_name: 'reviews', response_code: '0', response_flags: 'DC' }, 'productpage-v1'),
    ).toBe(2);
    // everyone else is not delayed: v1 for the page; and ratings called for another user answers through the route
    // without the fault (no DI), in time for productpage's 3 s timeout (a 200, not its 500)
    const other = await page(m);
    expect(other.reviews).toBe('v1');
    const ratings = await fetch(`${m.gatewayUrl}/api/v1/products/0/ratings`);
    expect(ratings.status).toBe(200);
    const after = await counters(m);
    const fromProductpage = { reporter: 'source', destination_service_name: 'ratings' };
    expect(
      sum(after, 'istio_requests_total', { ...fromProductpage, response_code: '200', response_flags: '-' }, 'productpage-v1') -
        sum(c, 'istio_requests_total', { ...fromProductpage, response_code: '200', response_flags: '-' }, 'productpage-v1'),
    ).toBe(1);
    await restoreBaseline(m, fault);
  }, 20_000);

  it('HTTP abort for jason on ratings: the page loads at once with "Ratings service is currently unavailable"', async () => {
    const fault = ratingsFault('{ abort: { httpStatus: 500, percentage: { value: 100.0 } } }');
    await applyAndWait(m, fault);
    const before = await counters(m);
    const p = await page(m, jason);
    expect(p.reviews).toBe('v2');
    expect(p.ratingsUnavailable).toBe(true);
    expect(p.body).toContain('<p class="text-red-500">Ratings service is currently unavailable</p>');
    // "at once": the abort answered reviews, which answered productpage's first try; nobody timed out or hung up
    const c = await counters(m);
    const delta = (labels: Record<string, string>, proxy: string) =>
      sum(c, 'istio_requests_total', labels, proxy) - sum(before, 'istio_requests_total', labels, proxy);
    expect(delta({ reporter: 'source', destination_service_name: 'ratings', response_code: '500', response_flags: 'FI' }, 'reviews-v2')).toBe(1);
    expect(delta({ reporter: 'source', destination_service_name: 'ratings' }, 'reviews-v2')).toBe(1);
    expect(delta({ reporter: 'source', destination_service_name: 'reviews', response_code: '200', response_flags: '-' }, 'productpage-v1')).toBe(1);
    expect(delta({ reporter: 'source', destination_service_name: 'reviews' }, 'productpage-v1')).toBe(1);
    await restoreBaseline(m, fault);
  });

  it('a fault without percentage injects nothing (Envoy: no percentage → 0 ppm)', async () => {
    const fault = ratingsFault('{ abort: { httpStatus: 500 } }');
    await applyAndWait(m, fault);
    const seen = await pages(m, 20, jason);
    expect(countBy(seen, (p) => String(p.ratingsUnavailable))).toEqual({ false: 20 });
    await restoreBaseline(m, fault);
  });
});

describe('injected faults versus retries', () => {
  it('an abort of 50 % on ratings is seen at about 50 % by reviews even with 3 retries on 5xx (not 0.5^4)', async () => {
    const vs = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - fault: { abort: { httpStatus: 503, percentage: { value: 50 } } }
    retries: { attempts: 3, retryOn: 5xx }
    route: [{ destination: { host: ratings, subset: v1 } }]
`);
    await applyAndWait(m, vs);
    const before = await counters(m);
    const seen = await pages(m, 300, jason);
    const after = await counters(m);
    const unavailable = seen.filter((p) => p.ratingsUnavailable).length;
    // binomial(300, 0.5): 150 ± 8.7; 0.5^4 would give about 19
    expect(unavailable).toBeGreaterThan(110);
    expect(unavailable).toBeLessThan(190);
    const retries =
      sum(after, 'envoy_cluster_upstream_rq_retry', { cluster_name: 'outbound|9080|v1|ratings.default.svc.cluster.local' }, 'reviews-v2') -
      sum(before, 'envoy_cluster_upstream_rq_retry', { cluster_name: 'outbound|9080|v1|ratings.default.svc.cluster.local' }, 'reviews-v2');
    expect(retries).toBe(0);
    const aborted =
      sum(after, 'istio_requests_total', { reporter: 'source', response_flags: 'FI' }, 'reviews-v2') -
      sum(before, 'istio_requests_total', { reporter: 'source', response_flags: 'FI' }, 'reviews-v2');
    expect(aborted).toBe(unavailable);
    await restoreBaseline(m, vs);
  });
});

describe('a failing workload versus the default retry policy (istio/istio pilot/.../route/retry/retry.go)', () => {
  const faultyRatings = yaml(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: ratings-v1, labels: { app: ratings, version: v1 } }
spec:
  replicas: 1
  selector: { matchLabels: { app: ratings, version: v1 } }
  template:
    metadata: { labels: { app: ratings, version: v1 } }
    spec:
      serviceAccountName: bookinfo-ratings
      containers:
      - name: ratings
        image: docker.io/istio/examples-bookinfo-ratings-v1:1.20.3
        env: [{ name: SERVICE_VERSION, value: v-faulty }]
`);
  const reviewsV2 = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v2 } }] }]
`);

  async function failureShare(istioVersion: string): Promise<{ share: number; retries: number }> {
    const mm = await mesh({ seed: 21, istioVersion });
    try {
      await applyAndWait(mm, [...scenarioFile('destination-rule-all.yaml'), ...reviewsV2, ...faultyRatings]);
      const seen = await pages(mm, 400);
      const c = await counters(mm);
      return {
        share: seen.filter((p) => p.ratingsUnavailable).length / seen.length,
        retries: sum(c, 'envoy_cluster_upstream_rq_retry', { cluster_name: 'outbound|9080||ratings.default.svc.cluster.local' }, 'reviews-v2'),
      };
    } finally {
      await mm.close();
    }
  }

  it("Istio 1.23 retries the workload's 503 twice: about 12.5 % of pages lose their ratings", async () => {
    const { share, retries } = await failureShare('1.23.0');
    // binomial(400, 0.125): 50 ± 6.6 → share within 0.06..0.2
    expect(share).toBeGreaterThan(0.06);
    expect(share).toBeLessThan(0.2);
    expect(retries).toBeGreaterThan(100);
  });

  it('Istio 1.24+ no longer retries 503 by default: about 50 % of pages lose their ratings', async () => {
    const { share, retries } = await failureShare('1.28.0');
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
    expect(retries).toBe(0);
  });
});
