// Comparing two Envoy configurations of one proxy the way Envoy reads them, on istiod's own ratings and productpage
// configurations (test/fixtures/envoy/istiod).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadEnvoyConfig } from '../../src/envoy/load/index.ts';
import type { EnvoyConfig } from '../../src/envoy/model/index.ts';
import { compareConfigs, formatDrift } from '../../src/fidelity/compare.ts';
import { must } from '../../src/must.ts';

const load = (name: string): EnvoyConfig =>
  loadEnvoyConfig(readFileSync(new URL(`../fixtures/envoy/istiod/${name}-config-dump.json`, import.meta.url), 'utf8')).config;
const copy = (c: EnvoyConfig): EnvoyConfig => structuredClone(c);
const drifts = (a: EnvoyConfig, b: EnvoyConfig) => compareConfigs('productpage-v1.default', a, b).map(formatDrift);

const productpage = load('productpage');
const outbound = (c: EnvoyConfig) => c.routes.find((r) => r.name === '9080')!;
const reviewsHost = (c: EnvoyConfig) => outbound(c).virtual_hosts!.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
const inbound = (c: EnvoyConfig) => c.listeners.find((l) => l.name === 'virtualInbound')!;

describe('compareConfigs', () => {
  it('finds nothing between a configuration and itself, or a copy', () => {
    expect(drifts(productpage, productpage)).toEqual([]);
    expect(drifts(productpage, copy(productpage))).toEqual([]);
    expect(compareConfigs('ratings-v1.default', load('ratings'), load('ratings'))).toEqual([]);
  });

  it('finds a planted difference and names the proxy, resource type, resource, path and both values', () => {
    const planted = copy(productpage);
    must(reviewsHost(planted).routes![1], 'reviewsHost(planted).routes![1]').route!.timeout = '5s';
    expect(drifts(productpage, planted)).toEqual([
      'productpage-v1.default route 9080 virtual_hosts[reviews.default.svc.cluster.local:9080].routes[1].route.timeout: builtin "10s", istiod "5s"',
    ]);
  });

  it('reports a resource only one side has as absent on the other', () => {
    const fewer = copy(productpage);
    fewer.clusters = fewer.clusters.filter((c) => c.name !== 'outbound|9080|v3|reviews.default.svc.cluster.local');
    expect(drifts(fewer, productpage)).toEqual([
      expect.stringMatching(/^productpage-v1\.default cluster outbound\|9080\|v3\|reviews\.default\.svc\.cluster\.local: builtin absent, istiod \{/),
    ]);
  });

  it('ignores the order of resources, virtual hosts, filter chains (chosen by match: FilterChainManager), domains, endpoints and retry_on conditions', () => {
    const shuffled = copy(productpage);
    shuffled.clusters.reverse();
    shuffled.endpoints.reverse();
    shuffled.listeners.reverse();
    outbound(shuffled).virtual_hosts!.reverse();
    inbound(shuffled).filter_chains!.reverse();
    reviewsHost(shuffled).domains!.reverse();
    const details = (c: EnvoyConfig) =>
      must(outbound(c).virtual_hosts!.find((v) => v.name === 'details.default.svc.cluster.local:9080')!.routes![0], 'the first route of details:9080').route!
        .retry_policy!;
    details(shuffled).retry_on = details(shuffled).retry_on!.split(',').reverse().join(',');
    expect(details(shuffled).retry_on).not.toBe(details(productpage).retry_on);
    expect(drifts(productpage, shuffled)).toEqual([]);
  });

  it('keeps the order of routes in a virtual host (first match wins) and of http_filters (run in turn)', () => {
    const swapped = copy(productpage);
    reviewsHost(swapped).routes!.reverse();
    expect(drifts(productpage, swapped).length).toBeGreaterThan(0);
    expect(drifts(productpage, swapped).every((d) => d.includes('virtual_hosts[reviews.default.svc.cluster.local:9080].routes['))).toBe(true);

    const ratings = load('ratings');
    const reordered = copy(ratings);
    const chain = inbound(reordered).filter_chains!.find((c) => JSON.stringify(c).includes('local_ratelimit'))!;
    const hcm = must(chain.filters[0], 'chain.filters[0]').typed_config as unknown as { http_filters: unknown[] };
    [hcm.http_filters[0], hcm.http_filters[1]] = [hcm.http_filters[1], hcm.http_filters[0]];
    expect(
      compareConfigs('ratings-v1.default', ratings, reordered)
        .map(formatDrift)
        .some((d) => /http_filters\[0\]\.name: builtin "[^"]+", istiod "[^"]+"/.test(d)),
    ).toBe(true);
  });
});
