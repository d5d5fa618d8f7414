// Istio tasks request-timeouts and circuit-breaking on the local mesh, plus outlier detection
// (istio.io docs tasks/traffic-management/{request-timeouts,circuit-breaking}; Envoy router timeouts, circuit breakers,
// outlier detection; local replies `upstream request timeout`, `... reset reason: overflow`, `no healthy upstream`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAndWait, counters, countBy, mesh, page, restoreBaseline, scenarioFile, sum, yaml, type MeshHandle } from './helpers.ts';

let m: MeshHandle;
beforeAll(async () => {
  m = await mesh({ seed: 13 });
  await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
});
afterAll(async () => m?.close());

describe('request timeouts (istio.io tasks/traffic-management/request-timeouts)', () => {
  it('timeout 0.5 s on reviews with a 2 s ratings delay: the page returns in about 1 s with reviews unavailable', async () => {
    const objects = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews, subset: v2 } }]
    timeout: 0.5s
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - fault: { delay: { percentage: { value: 100 }, fixedDelay: 2s } }
    route: [{ destination: { host: ratings, subset: v1 } }]
`);
    await applyAndWait(m, objects);
    const p = await page(m);
    expect(p.reviews).toBe('reviews-error');
    // Semantic lower bound: two tries of 0.5 s each. That the timeout cut each try (rather than the 2 s delay ending
    // it) is what the counters below check exactly, not a clock.
    expect(p.ms).toBeGreaterThan(950);
    const api = await fetch(`${m.gatewayUrl}/api/v1/products/0/reviews`);
    expect(api.status).toBe(504);
    const c = await counters(m);
    // the route timeout covers the retries and is never retried: one timeout per productpage try
    expect(sum(c, 'envoy_cluster_upstream_rq_timeout', { cluster_name: 'outbound|9080|v2|reviews.default.svc.cluster.local' }, 'productpage-v1')).toBe(4);
    expect(sum(c, 'envoy_cluster_upstream_rq_retry', { cluster_name: 'outbound|9080|v2|reviews.default.svc.cluster.local' }, 'productpage-v1')).toBe(0);
    expect(
      sum(c, 'istio_requests_total', { reporter: 'source', destination_service_name: 'reviews', response_code: '504', response_flags: 'UT' }, 'productpage-v1'),
    ).toBe(4);
    await restoreBaseline(m, objects);
  });

  it('perTryTimeout cuts each slow attempt after 100 ms and 5xx retries it (upstream_rq_per_try_timeout, upstream_rq_retry)', async () => {
    const objects = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - route: [{ destination: { host: ratings, subset: v1 } }]
    retries: { attempts: 2, perTryTimeout: 100ms, retryOn: 5xx }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ratings-v1, labels: { app: ratings, version: v1 } }
spec:
  selector: { matchLabels: { app: ratings, version: v1 } }
  template:
    metadata: { labels: { app: ratings, version: v1 } }
    spec:
      serviceAccountName: bookinfo-ratings
      containers:
      - { name: ratings, image: docker.io/istio/examples-bookinfo-ratings-v1:1.20.3, env: [{ name: SERVICE_VERSION, value: v-delayed }] }
`);
    const before = await counters(m);
    await applyAndWait(m, objects);
    const res = await fetch(`${m.gatewayUrl}/api/v1/products/0/ratings`);
    const after = await counters(m);
    const delta = (name: string) =>
      sum(after, name, { cluster_name: 'outbound|9080|v1|ratings.default.svc.cluster.local' }, 'productpage-v1') -
      sum(before, name, { cluster_name: 'outbound|9080|v1|ratings.default.svc.cluster.local' }, 'productpage-v1');
    // v-delayed delays half of the attempts by 7 s: each attempt either answers at once or times out after 100 ms
    const tries = delta('envoy_cluster_upstream_rq_total');
    const retried = delta('envoy_cluster_upstream_rq_retry');
    expect(tries).toBe(retried + 1);
    expect(delta('envoy_cluster_upstream_rq_per_try_timeout')).toBe(res.status === 200 ? tries - 1 : tries);
    // Had a per-try timeout not cut a 7 s attempt, productpage's own 3 s timeout would have answered 500: only 200
    // (a quick attempt) or 504 (the route's attempts all timed out) are possible.
    if (res.status !== 200) {
      expect(res.status).toBe(504);
      expect(tries).toBe(3);
    }
    await m.apply(scenarioFile('bookinfo.yaml').filter((o) => o.kind === 'Deployment' && o.metadata.name === 'ratings-v1'));
    await restoreBaseline(
      m,
      objects.filter((o) => o.kind === 'VirtualService'),
    );
  });
  // router.cc Filter::onResponseTimeout reports each timed-out attempt to the host's outlier detector as
  // LocalOriginTimeout with the timeout code 504, which a detector without split_external_local_origin_errors
  // (Istio's default) counts as a 5xx and a gateway error (outlier_detection_impl.cc putResultNoLocalExternalSplit →
  // putHttpResponseCode), and charges it as a 504 (chargeUpstreamAbort → chargeUpstreamCode: upstream_rq_completed,
  // upstream_rq_5xx, upstream_rq_504). Once the only v2 instance is out, each try is 503 UH, charged as a 503
  // (Filter::sendNoHealthyUpstreamResponse).
  it('route timeouts (UT, 504) count toward consecutive5xxErrors and in upstream_rq_504/5xx: the 5th ejects reviews-v2', async () => {
    const objects = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews, subset: v2 } }]
    timeout: 0.1s
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - fault: { delay: { percentage: { value: 100 }, fixedDelay: 1s } }
    route: [{ destination: { host: ratings, subset: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100 }
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
  - { name: v3, labels: { version: v3 } }
`);
    await applyAndWait(m, objects);
    // Counters persist across the cluster's rebuild (Envoy keeps stats by name): compare with a look before.
    const before = await counters(m);
    // 15 API calls, each tried twice by productpage: 30 tries of reviews-v2
    for (let i = 0; i < 15; i++) await (await fetch(`${m.gatewayUrl}/api/v1/products/0/reviews`)).arrayBuffer();
    const c = await counters(m);
    const cluster = { cluster_name: 'outbound|9080|v2|reviews.default.svc.cluster.local' };
    const at = (name: string, labels: Record<string, string> = {}) =>
      sum(c, name, { ...cluster, ...labels }, 'productpage-v1') - sum(before, name, { ...cluster, ...labels }, 'productpage-v1');
    expect(at('envoy_cluster_outlier_detection_ejections_enforced_consecutive_5xx')).toBe(1);
    expect(at('envoy_cluster_upstream_rq_timeout')).toBe(5);
    // Per-code and per-class counters as Istio's bootstrap tags them (response_code, response_code_class).
    expect(at('envoy_cluster_upstream_rq', { response_code: '504' })).toBe(5);
    expect(at('envoy_cluster_upstream_rq', { response_code: '503' })).toBe(25);
    expect(at('envoy_cluster_upstream_rq', { response_code_class: '5xx' })).toBe(30);
    expect(at('envoy_cluster_upstream_rq_completed')).toBe(30);
    const requests = (where: Record<string, string>) => {
      const labels = { reporter: 'source', destination_service_name: 'reviews', ...where };
      return sum(c, 'istio_requests_total', labels, 'productpage-v1') - sum(before, 'istio_requests_total', labels, 'productpage-v1');
    };
    expect(requests({ response_code: '504', response_flags: 'UT' })).toBe(5);
    expect(requests({ response_code: '503', response_flags: 'UH' })).toBe(25);
    await restoreBaseline(
      m,
      objects.filter((o) => o.kind === 'VirtualService'),
    );
    await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
  });
});

describe('circuit breaking (istio.io tasks/traffic-management/circuit-breaking)', () => {
  it('a connection pool of 1 with several concurrent clients: some 503 UO, counted in upstream_rq_pending_overflow', async () => {
    const dr = yaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: productpage }
spec:
  host: productpage
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 1 }
      http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 }
  subsets: [{ name: v1, labels: { version: v1 } }]
`);
    await applyAndWait(m, dr);
    const before = await counters(m);
    const results = await Promise.all(
      Array.from({ length: 60 }, () =>
        fetch(`${m.gatewayUrl}/productpage`).then(async (r) => ({ status: r.status, body: await r.text(), overloaded: r.headers.get('x-envoy-overloaded') })),
      ),
    );
    const after = await counters(m);
    const byStatus = countBy(results, (r) => String(r.status));
    expect(byStatus['200']).toBeGreaterThan(0);
    expect(byStatus['503']).toBeGreaterThan(0);
    const overflow = results.filter((r) => r.status === 503);
    for (const r of overflow) {
      expect(r.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: overflow');
      expect(r.overloaded).toBe('true');
    }
    const cluster = { cluster_name: 'outbound|9080||productpage.default.svc.cluster.local' };
    const counted =
      sum(after, 'envoy_cluster_upstream_rq_pending_overflow', cluster, 'istio-ingressgateway') -
      sum(before, 'envoy_cluster_upstream_rq_pending_overflow', cluster, 'istio-ingressgateway');
    expect(counted).toBe(overflow.length);
    const flagged =
      sum(after, 'istio_requests_total', { response_flags: 'UO' }, 'istio-ingressgateway') -
      sum(before, 'istio_requests_total', { response_flags: 'UO' }, 'istio-ingressgateway');
    expect(flagged).toBe(overflow.length);
    await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
  });

  it("the task's fortio -c 2: two clients one after another per connection still overflow now and then, because a request waiting for its new connection is pending (ConnPoolImplBase::newStreamImpl)", async () => {
    // istio.io's task: fortio -c 2 -n 20 gave 17 × 200 and 3 × 503. Each of the two clients sends 10 requests back to
    // back: with maxRequestsPerConnection 1 every request needs a new connection, and while the waiting request's
    // connection is set up it holds the one pending slot, so the other client's next request overflows. Before this
    // was modelled the local mesh gave 0 of 400 (21.5 % after; the task's 15 %).
    const dr = yaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: productpage }
spec:
  host: productpage
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 1 }
      http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 }
  subsets: [{ name: v1, labels: { version: v1 } }]
`);
    await applyAndWait(m, dr);
    const statuses: number[] = [];
    for (let run = 0; run < 20; run++) {
      await Promise.all(
        [0, 1].map(async () => {
          for (let i = 0; i < 10; i++) {
            const r = await fetch(`${m.gatewayUrl}/productpage`);
            await r.text();
            statuses.push(r.status);
          }
        }),
      );
    }
    const byStatus = countBy(statuses, String);
    expect(byStatus['200']).toBeGreaterThan(0);
    expect(byStatus['503']).toBeGreaterThan(0);
    await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
  });

  it('outlier detection ejects a failing instance; with every instance ejected: 503 no healthy upstream (UH)', async () => {
    const objects = yaml(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: ratings-unavailable, labels: { app: ratings, version: v-unavailable } }
spec:
  selector: { matchLabels: { app: ratings, version: v-unavailable } }
  template:
    metadata: { labels: { app: ratings, version: v-unavailable } }
    spec:
      serviceAccountName: bookinfo-ratings
      containers:
      - { name: ratings, image: docker.io/istio/examples-bookinfo-ratings-v-faulty:1.20.3 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings }
spec:
  host: ratings
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100 }
`);
    await applyAndWait(m, objects);
    // The faulty instance answers 503 to a seeded half of what it gets; its first 503 ejects it (how many requests
    // that takes depends on the seeded draws, so the loop waits for it rather than assuming a count).
    const status = async () => (await fetch(`${m.gatewayUrl}/api/v1/products/0/ratings`)).status;
    let first503 = -1;
    for (let i = 0; i < 200 && first503 < 0; i++) if ((await status()) === 503) first503 = i;
    expect(first503).toBeGreaterThanOrEqual(0);
    const c = await counters(m);
    const cluster = { cluster_name: 'outbound|9080||ratings.default.svc.cluster.local' };
    expect(sum(c, 'envoy_cluster_outlier_detection_ejections_enforced_total', cluster, 'productpage-v1')).toBeGreaterThanOrEqual(1);
    // once the faulty instance is out, ratings answers from v1 only
    const results: number[] = [];
    for (let i = 0; i < 20; i++) results.push(await status());
    expect(results.every((s) => s === 200)).toBe(true);
    // take v1 away: the faulty instance fails once more, is ejected, and nothing healthy is left
    await applyAndWait(
      m,
      yaml(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: ratings-v1, labels: { app: ratings, version: v1 } }
spec:
  replicas: 0
  selector: { matchLabels: { app: ratings, version: v1 } }
  template:
    metadata: { labels: { app: ratings, version: v1 } }
    spec:
      serviceAccountName: bookinfo-ratings
      containers: [{ name: ratings, image: docker.io/istio/examples-bookinfo-ratings-v1:1.20.3 }]
`),
    );
    const tail: { status: number; body: string }[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await fetch(`${m.gatewayUrl}/api/v1/products/0/ratings`);
      tail.push({ status: r.status, body: await r.text() });
    }
    expect(tail.at(-1)!.status).toBe(503);
    const after = await counters(m);
    expect(
      sum(after, 'istio_requests_total', { reporter: 'source', destination_service_name: 'ratings', response_flags: 'UH' }, 'productpage-v1'),
    ).toBeGreaterThan(0);
    await m.apply(scenarioFile('bookinfo.yaml').filter((o) => o.kind === 'Deployment' && o.metadata.name === 'ratings-v1'));
    await restoreBaseline(
      m,
      objects.filter((o) => o.kind === 'Deployment'),
    );
    await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
  });
  // Envoy ignores a CDS update whose cluster hash is unchanged and otherwise builds a new cluster with a new outlier
  // detector (envoy cluster_manager_impl.cc ClusterManagerImpl::addOrUpdateCluster; outlier_detection_impl.cc
  // DetectorImpl::~DetectorImpl takes the old ejections out of ejections_active): a push that leaves the ratings
  // cluster alone keeps the ejection, a DestinationRule change to it starts over with every host in rotation.
  it('an ejection survives a push that leaves the cluster unchanged, not a DestinationRule change that rebuilds it', async () => {
    const faulty = yaml(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: ratings-unavailable, labels: { app: ratings, version: v-unavailable } }
spec:
  selector: { matchLabels: { app: ratings, version: v-unavailable } }
  template:
    metadata: { labels: { app: ratings, version: v-unavailable } }
    spec:
      serviceAccountName: bookinfo-ratings
      containers:
      - { name: ratings, image: docker.io/istio/examples-bookinfo-ratings-v-faulty:1.20.3 }
`);
    const rule = (baseEjectionTime: string) =>
      yaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings }
spec:
  host: ratings
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: ${baseEjectionTime}, maxEjectionPercent: 100 }
`);
    const detailsRoute = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: details }
spec:
  hosts: [details]
  http: [{ route: [{ destination: { host: details } }] }]
`);
    const cluster = { cluster_name: 'outbound|9080||ratings.default.svc.cluster.local' };
    const read = async () => {
      const c = await counters(m);
      return {
        active: sum(c, 'envoy_cluster_outlier_detection_ejections_active', cluster, 'productpage-v1'),
        enforced: sum(c, 'envoy_cluster_outlier_detection_ejections_enforced_total', cluster, 'productpage-v1'),
      };
    };
    const ratingsCalls = async (n: number) => {
      for (let i = 0; i < n; i++) await (await fetch(`${m.gatewayUrl}/api/v1/products/0/ratings`)).arrayBuffer();
    };
    await applyAndWait(m, [...faulty, ...rule('3m')]);
    await ratingsCalls(30);
    const ejected = await read();
    expect(ejected.active).toBe(1);

    await applyAndWait(m, detailsRoute);
    await ratingsCalls(20);
    expect(await read()).toEqual(ejected);

    await applyAndWait(m, rule('4m'));
    expect((await read()).active).toBe(0);
    await ratingsCalls(30);
    const again = await read();
    expect(again.active).toBe(1);
    expect(again.enforced).toBeGreaterThan(ejected.enforced);

    await restoreBaseline(m, [...faulty, ...detailsRoute]);
    await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
  });
});
