// Istio security and policy tasks on the local mesh: local rate limiting (tasks/policy-enforcement/rate-limit),
// authorization (tasks/security/authorization/authz-http, authz-deny), mutual TLS (tasks/security/authentication/mtls-migration).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAndWait, counters, countBy, login, mesh, page, pages, restoreBaseline, scenarioFile, sum, yaml, type MeshHandle } from './helpers.ts';

let m: MeshHandle;
beforeAll(async () => {
  m = await mesh({ seed: 17 });
  await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
});
afterAll(async () => m?.close());

const reviewsV2 = yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v2 } }] }]
`);

/** The istio.io rate-limit task's filter on productpage's inbound listener (4 tokens per 60 s); `headerValue` varies its config. */
const rateLimitFilter = (headerValue = 'true') =>
  yaml(`
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: filter-local-ratelimit-svc }
spec:
  workloadSelector: { labels: { app: productpage } }
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } }
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/udpa.type.v1.TypedStruct
          type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          value:
            stat_prefix: http_local_rate_limiter
            token_bucket: { max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s }
            filter_enabled: { runtime_key: local_rate_limit_enabled, default_value: { numerator: 100, denominator: HUNDRED } }
            filter_enforced: { runtime_key: local_rate_limit_enforced, default_value: { numerator: 100, denominator: HUNDRED } }
            response_headers_to_add:
            - append: false
              header: { key: x-local-rate-limit, value: '${headerValue}' }
`);

/** Statuses of `n` productpage requests sent one after another through the ingress. */
async function productpageStatuses(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${m.gatewayUrl}/productpage`);
    await r.arrayBuffer();
    out.push(r.status);
  }
  return out;
}

describe('local rate limiting (istio.io tasks/policy-enforcement/rate-limit)', () => {
  it('4 tokens per 60 s on productpage: 200 200 200 200 429 local_rate_limited, counted', async () => {
    const filter = rateLimitFilter();
    await applyAndWait(m, filter);
    const responses: { status: number; body: string; header: string | null }[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${m.gatewayUrl}/productpage`);
      responses.push({ status: r.status, body: await r.text(), header: r.headers.get('x-local-rate-limit') });
    }
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 429]);
    expect(responses[4]?.body).toBe('local_rate_limited');
    expect(responses[4]?.header).toBe('true');
    const c = await counters(m);
    expect(sum(c, 'envoy_http_local_rate_limiter_http_local_rate_limit_rate_limited', {}, 'productpage-v1')).toBe(1);
    expect(sum(c, 'envoy_http_local_rate_limiter_http_local_rate_limit_ok', {}, 'productpage-v1')).toBe(4);
    expect(sum(c, 'istio_requests_total', { reporter: 'destination', response_code: '429', response_flags: 'RL' }, 'productpage-v1')).toBe(1);
    await restoreBaseline(m, filter);
  });

  // The bucket lives in the filter's FilterConfig (envoy local_ratelimit.cc FilterConfig::FilterConfig), built with
  // its filter chain (listener_manager/filter_chain_manager_impl.cc addFilterChains: only an unchanged FilterChain
  // proto is reused): removing the filter and applying it again builds a new config with a full bucket.
  it('removing the filter and applying it again gives a full bucket again (the bucket lives in its FilterConfig)', async () => {
    await applyAndWait(m, rateLimitFilter());
    expect(await productpageStatuses(5)).toEqual([200, 200, 200, 200, 429]);
    await restoreBaseline(m, rateLimitFilter());
    await applyAndWait(m, rateLimitFilter());
    expect(await productpageStatuses(5)).toEqual([200, 200, 200, 200, 429]);
    await restoreBaseline(m, rateLimitFilter());
  });

  // listener_manager_impl.cc addOrUpdateListenerInternal drops an LDS update that leaves a listener's hash unchanged
  // ("duplicate/locked listener"): a VirtualService push does not touch productpage's inbound chain, so its bucket is
  // kept; changing anything in the filter (here a response header's value) changes the chain, which is built anew.
  it('a push that leaves the filter chain unchanged keeps the bucket; a change to the filter starts a full one', async () => {
    await applyAndWait(m, rateLimitFilter());
    expect(await productpageStatuses(3)).toEqual([200, 200, 200]);
    await applyAndWait(m, reviewsV2);
    expect(await productpageStatuses(2)).toEqual([200, 429]);
    await applyAndWait(m, rateLimitFilter('changed'));
    expect(await productpageStatuses(5)).toEqual([200, 200, 200, 200, 429]);
    await restoreBaseline(m, [...reviewsV2, ...rateLimitFilter()]);
  });

  // Istio puts the RBAC filter of the workload's AuthorizationPolicies in the same HTTP filter chain, so a new policy
  // changes that chain's proto and Envoy builds it anew (filter_chain_manager_impl.cc findExistingFilterChain finds
  // no equal chain), rate-limit FilterConfig and bucket included.
  it('an AuthorizationPolicy on the same workload rebuilds the filter chain: the bucket starts full again', async () => {
    const allowAll = yaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: productpage-allow-all }
spec:
  selector: { matchLabels: { app: productpage } }
  action: ALLOW
  rules: [{}]
`);
    await applyAndWait(m, rateLimitFilter());
    expect(await productpageStatuses(3)).toEqual([200, 200, 200]);
    await applyAndWait(m, allowAll);
    expect(await productpageStatuses(5)).toEqual([200, 200, 200, 200, 429]);
    await restoreBaseline(m, [...allowAll, ...rateLimitFilter()]);
  });
});

describe('authorization (istio.io tasks/security/authorization)', () => {
  it('a DENY policy on ratings: pages still load with ratings unavailable, 403 RBAC: access denied at ratings', async () => {
    const deny = yaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-ratings }
spec:
  selector: { matchLabels: { app: ratings } }
  action: DENY
  rules: [{}]
`);
    await applyAndWait(m, [...reviewsV2, ...deny]);
    const seen = await pages(m, 10);
    expect(countBy(seen, (p) => `${p.status}:${p.reviews}:${p.ratingsUnavailable}`)).toEqual({ '200:v2:true': 10 });
    const api = await fetch(`${m.gatewayUrl}/api/v1/products/0/ratings`);
    expect(api.status).toBe(403);
    const c = await counters(m);
    expect(sum(c, 'istio_requests_total', { reporter: 'destination', response_code: '403' }, 'ratings-v1')).toBe(11);
    expect(sum(c, 'envoy_http_rbac', { authz_enforce_result: 'denied' }, 'ratings-v1')).toBe(11);
    await restoreBaseline(m, [...reviewsV2, ...deny]);
  });

  it('the authz-http walk-through: allow-nothing, then productpage, details/reviews and ratings viewers', async () => {
    const allowNothing = yaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: default }
spec: {}
`);
    const viewer = (name: string, app: string, principal?: string) =>
      yaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: default }
spec:
  selector: { matchLabels: { app: ${app} } }
  action: ALLOW
  rules:
  - ${principal ? `from: [{ source: { principals: ["${principal}"] } }]\n    ` : ''}to: [{ operation: { methods: [GET] } }]
`);
    await applyAndWait(m, [...reviewsV2, ...allowNothing]);
    let p = await page(m);
    expect(p.status).toBe(403);
    expect(p.body).toBe('RBAC: access denied');

    await applyAndWait(m, viewer('productpage-viewer', 'productpage'));
    p = await page(m);
    expect(p.status).toBe(200);
    expect(p.detailsError).toBe(true);
    expect(p.reviews).toBe('reviews-error');

    await applyAndWait(m, [
      ...viewer('details-viewer', 'details', 'cluster.local/ns/default/sa/bookinfo-productpage'),
      ...viewer('reviews-viewer', 'reviews', 'cluster.local/ns/default/sa/bookinfo-productpage'),
    ]);
    p = await page(m);
    expect(p.detailsError).toBe(false);
    expect(p.reviews).toBe('v2');
    expect(p.ratingsUnavailable).toBe(true);

    await applyAndWait(m, viewer('ratings-viewer', 'ratings', 'cluster.local/ns/default/sa/bookinfo-reviews'));
    p = await page(m);
    expect(p.stars).toBe('black');
    expect(p.ratingsUnavailable).toBe(false);
    await restoreBaseline(m, [
      ...reviewsV2,
      ...allowNothing,
      ...viewer('productpage-viewer', 'productpage'),
      ...viewer('details-viewer', 'details'),
      ...viewer('reviews-viewer', 'reviews'),
      ...viewer('ratings-viewer', 'ratings'),
    ]);
  });

  it("allowing only requests carrying jason's header to ratings", async () => {
    const policy = yaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ratings-jason-only }
spec:
  selector: { matchLabels: { app: ratings } }
  action: ALLOW
  rules:
  - when: [{ key: "request.headers[end-user]", values: [jason] }]
`);
    await applyAndWait(m, [...reviewsV2, ...policy]);
    const jason = await login(m, 'jason');
    expect((await page(m, jason)).stars).toBe('black');
    expect((await page(m)).ratingsUnavailable).toBe(true);
    await restoreBaseline(m, [...reviewsV2, ...policy]);
  });
});

describe('mutual TLS (istio.io tasks/security/authentication)', () => {
  async function direct(): Promise<string> {
    const productpage = (await m.status()).workloads.find((w) => w.deployment === 'productpage-v1')!;
    try {
      const r = await fetch(`${productpage.url}/productpage`);
      return String(r.status);
    } catch {
      return 'reset';
    }
  }

  it('PERMISSIVE accepts a plaintext client from outside the mesh; STRICT resets it while mesh traffic still works', async () => {
    expect(await direct()).toBe('200');
    const strict = yaml(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec:
  mtls: { mode: STRICT }
`);
    await applyAndWait(m, strict);
    expect(await direct()).toBe('reset');
    const p = await page(m);
    expect(p.status).toBe(200);
    expect(['v1', 'v2', 'v3']).toContain(p.reviews);
    const c = await counters(m);
    expect(
      sum(
        c,
        'istio_requests_total',
        { reporter: 'destination', connection_security_policy: 'mutual_tls', source_workload: 'istio-ingressgateway' },
        'productpage-v1',
      ),
    ).toBeGreaterThan(0);
    await restoreBaseline(m, strict);
    expect(await direct()).toBe('200');
  });

  it('a DestinationRule disabling TLS towards a STRICT workload fails (503, connection reset)', async () => {
    const objects = yaml(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: details-strict }
spec:
  selector: { matchLabels: { app: details } }
  mtls: { mode: STRICT }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: details }
spec:
  host: details
  trafficPolicy: { tls: { mode: DISABLE } }
`);
    await applyAndWait(m, objects);
    const p = await page(m);
    expect(p.detailsError).toBe(true);
    await restoreBaseline(m, objects);
    await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
    expect((await page(m)).detailsError).toBe(false);
  });

  it('auto mTLS sends plaintext to a workload whose PeerAuthentication is DISABLE, so calls work (mtls_checker.go checkMtlsEnabled); a DestinationRule asking ISTIO_MUTUAL still fails', async () => {
    const disable = yaml(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: details-plaintext }
spec:
  selector: { matchLabels: { app: details } }
  mtls: { mode: DISABLE }
`);
    await applyAndWait(m, disable);
    const before = await counters(m);
    const p = await page(m);
    expect(p.status).toBe(200);
    expect(p.detailsError).toBe(false);
    const after = await counters(m);
    const plain = (c: typeof after) =>
      sum(c, 'istio_requests_total', { reporter: 'destination', connection_security_policy: 'none', source_workload: 'productpage-v1' }, 'details-v1');
    expect(plain(after) - plain(before)).toBe(1);
    const mutual = yaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: details }
spec:
  host: details
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
  subsets: [{ name: v1, labels: { version: v1 } }]
`);
    await applyAndWait(m, mutual);
    expect((await page(m)).detailsError).toBe(true);
    await restoreBaseline(m, [...disable, ...mutual]);
    await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
    expect((await page(m)).detailsError).toBe(false);
  });

  it('an ISTIO_MUTUAL DestinationRule pins the server identity with subjectAltNames (cluster_tls.go: they replace the Service accounts): a wrong one fails every handshake: 503 UF, retried by the default policy (UF,URX), CERTIFICATE_VERIFY_FAILED', async () => {
    const pinned = (sa: string) =>
      yaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: details }
spec:
  host: details
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL, subjectAltNames: ["spiffe://cluster.local/ns/default/sa/${sa}"] } }
  subsets: [{ name: v1, labels: { version: v1 } }]
`);
    const connectFails = (c: Awaited<ReturnType<typeof counters>>) =>
      sum(c, 'envoy_cluster_upstream_cx_connect_fail', { cluster_name: 'outbound|9080||details.default.svc.cluster.local' }, 'productpage-v1');
    await applyAndWait(m, pinned('bookinfo-details'));
    expect((await page(m)).detailsError).toBe(false);
    await applyAndWait(m, pinned('someone-else'));
    const before = await counters(m);
    const p = await page(m);
    expect(p.status).toBe(200);
    expect(p.detailsError).toBe(true);
    const after = await counters(m);
    const failed = (c: typeof after) =>
      sum(
        c,
        'istio_requests_total',
        { reporter: 'source', destination_service_name: 'details', response_code: '503', response_flags: 'UF,URX' },
        'productpage-v1',
      );
    expect(failed(after) - failed(before)).toBeGreaterThanOrEqual(1);
    expect(connectFails(after)).toBeGreaterThan(connectFails(before));
    await restoreBaseline(m, pinned('someone-else'));
    await applyAndWait(m, scenarioFile('destination-rule-all.yaml'));
    expect((await page(m)).detailsError).toBe(false);
  });
});
