// The built-in translator's routes against what the pinned istiod sent for the same input (test/fixtures/envoy/istiod:
// bookinfo.yaml → {productpage,ratings}-config-dump.json, istiod's own config generation), and its parts against
// istiod's sources (route/route.go, route/retry/retry.go, httproute.go).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadEnvoyConfig } from '../../../src/envoy/load/index.ts';
import type { RouteConfiguration } from '../../../src/envoy/model/index.ts';
import { parseVirtualService } from '../../../src/istio/networking/virtual-service.ts';
import { istioBehaviour } from '../../../src/istio/version.ts';
import { buildRoutes, protoDuration, retryPolicy } from '../../../src/istio/xds/routes.ts';
import type { K8sObject } from '../../../src/spec/types.ts';
import { bookinfoInput, bookinfoProxy } from './bookinfo-input.ts';

function istiodRoutes(app: string): RouteConfiguration[] {
  return loadEnvoyConfig(readFileSync(new URL(`../../fixtures/envoy/istiod/${app}-config-dump.json`, import.meta.url), 'utf8')).config.routes;
}

/** Virtual hosts keyed by name: Envoy picks a virtual host by domain, not by position. */
const byVhost = (configs: RouteConfiguration[]) =>
  Object.fromEntries(configs.map((c) => [c.name, { ...c, virtual_hosts: Object.fromEntries((c.virtual_hosts ?? []).map((v) => [v.name, v])) }]));

describe("built-in routes equal istiod's for the fixture input", () => {
  for (const app of ['productpage', 'ratings'] as const) {
    it(`${app}: the outbound route configuration 9080, virtual host by virtual host`, () => {
      const ours = byVhost(buildRoutes(bookinfoInput(), bookinfoProxy(app)));
      // `15006` is the route configuration of the inbound passthrough chain (listener_inbound.go), built with the
      // listeners, not here.
      const theirs = byVhost(istiodRoutes(app).filter((r) => r.name !== '15006'));
      expect(Object.keys(theirs)).toEqual(['9080']);
      expect(Object.keys(theirs['9080']!.virtual_hosts)).toHaveLength(5);
      expect(ours).toEqual(theirs);
    });
  }
});

describe('route parts as istiod builds them', () => {
  const input = bookinfoInput();
  const vs = (spec: object) =>
    parseVirtualService({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'r', namespace: 'default' }, spec } as K8sObject, 9);

  it('retry.go ConvertPolicy: the default on 1.31 retries no status code; on 1.23 it retries 503', () => {
    expect(retryPolicy(undefined, input)?.retriable_status_codes).toBeUndefined();
    expect(retryPolicy(undefined, { ...input, behaviour: istioBehaviour('1.23.0') })?.retriable_status_codes).toEqual([503]);
  });

  it('retry.go ConvertPolicy: codes in retryOn become retriable_status_codes (adding retriable-status-codes), attempts 0 is no policy', () => {
    expect(retryPolicy({ attempts: 3, retryOn: 'gateway-error,503' }, input)).toMatchObject({
      retry_on: 'gateway-error,retriable-status-codes',
      retriable_status_codes: [503],
      num_retries: 3,
    });
    expect(retryPolicy({ attempts: 0 }, input)).toBeUndefined();
    expect(retryPolicy({ attempts: 2, retryIgnorePreviousHosts: false }, input)?.retry_host_predicate).toBeUndefined();
    expect(retryPolicy({ attempts: 2, backoffMs: 40 }, input)?.retry_back_off).toEqual({ base_interval: '0.040s' });
  });

  it("TranslateHeadersOperations: set overwrites, add appends, host becomes host_rewrite_literal; a weighted destination's go on its cluster weight", () => {
    const model = vs({
      hosts: ['reviews'],
      http: [
        {
          headers: { request: { set: { 'x-b': '1', host: 'other' }, add: { 'x-a': '2' }, remove: ['x-c'] } },
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 60, headers: { response: { set: { 'x-v': 'one' } } } },
            { destination: { host: 'reviews', subset: 'v3' }, weight: 40 },
          ],
        },
      ],
    });
    const routes = buildRoutes({ ...input, virtualServices: [model], destinationRules: [] }, bookinfoProxy('productpage'));
    const route = routes[0]!.virtual_hosts!.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!.routes![0]!;
    expect(route.request_headers_to_add).toEqual([
      { header: { key: 'x-b', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-a', value: '2' } },
    ]);
    expect(route.request_headers_to_remove).toEqual(['x-c']);
    expect(route.route?.host_rewrite_literal).toBe('other');
    expect(route.route?.weighted_clusters?.clusters[0]).toEqual({
      name: 'outbound|9080|v1|reviews.default.svc.cluster.local',
      weight: 60,
      response_headers_to_add: [{ header: { key: 'x-v', value: 'one' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    });
  });

  it('BuildHTTPRoutesForVirtualService: a catch-all match ends the routes; a match for another port or source is left out', () => {
    const model = vs({
      hosts: ['reviews'],
      http: [
        {
          match: [{ port: 9999, uri: { prefix: '/a' } }, { sourceLabels: { app: 'nobody' } }, { uri: { prefix: '/' } }],
          route: [{ destination: { host: 'reviews' } }],
        },
        { route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
      ],
    });
    const routes = buildRoutes({ ...input, virtualServices: [model], destinationRules: [] }, bookinfoProxy('productpage'));
    const vhost = routes[0]!.virtual_hosts!.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
    expect(vhost.routes!.map((r) => r.match)).toEqual([{ prefix: '/', case_sensitive: true }]);
  });

  it('exportTo: a VirtualService exported only to its own namespace does not reach a proxy of another', () => {
    const model = {
      ...vs({
        hosts: ['reviews.default.svc.cluster.local'],
        http: [{ route: [{ destination: { host: 'reviews.default.svc.cluster.local', subset: 'v2' } }] }],
      }),
      exportTo: ['default'],
    };
    const other = { ...bookinfoProxy('productpage'), namespace: 'shop' };
    const routes = buildRoutes({ ...input, virtualServices: [model], destinationRules: [] }, other);
    const vhost = routes[0]!.virtual_hosts!.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
    expect(vhost.routes![0]!.name).toBe('default');
    expect(vhost.domains).toEqual(['reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local.', 'reviews.default', 'reviews.default.svc']);
  });

  it('protojson durations: whole seconds, or 3, 6 or 9 fractional digits', () => {
    expect([protoDuration(7000), protoDuration(500), protoDuration(1.5), protoDuration(0)]).toEqual(['7s', '0.500s', '0.001500s', '0s']);
  });
});
