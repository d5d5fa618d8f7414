// rewrite.uri as Envoy's prefix_rewrite (istiod route.go applyHTTPRouteDestination; envoy config_impl.cc
// currentUrlPathAfterRewriteWithMatchedPath), translated by the built-in control plane and run by src/envoy/runtime:
// the matched prefix, exact path or (regex) whole path is replaced; the rest of the path and the query string are
// kept; no uri match means prefix `/` (route.go TranslateRouteMatch).
import { describe, expect, it } from 'vitest';
import { rewrittenPath } from '../../src/envoy/runtime/routes.ts';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { bookinfoRegistryInput, productpageProxy, routeIn } from '../support/envoy-routing.ts';

const rewrite = (match: unknown[], uri: string, path: string, headers?: Record<string, string>) => {
  const vs = parseVirtualService({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'r' },
    spec: { hosts: ['reviews'], http: [{ match, rewrite: { uri }, route: [{ destination: { host: 'reviews' } }] }] },
  } as K8sObject);
  const route = routeIn(buildRoutes(bookinfoRegistryInput([vs]), productpageProxy), '9080', { path, headers });
  if (!route) throw new Error(`no route matches ${path}`);
  return rewrittenPath(route, path);
};

describe('rewrite.uri (prefix_rewrite)', () => {
  it('replaces the matched prefix and keeps the rest and the query', () => {
    expect(rewrite([{ uri: { prefix: '/api/v1' } }], '/v2', '/api/v1/products?x=1')).toBe('/v2/products?x=1');
  });

  it('without a uri match the matched prefix is `/`', () => {
    expect(rewrite([{ headers: { 'end-user': { exact: 'jason' } } }], '/new/', '/reviews/0?a=b', { 'end-user': 'jason' })).toBe('/new/reviews/0?a=b');
    expect(rewrite([], '/x', '/reviews/0')).toBe('/xreviews/0');
  });

  it('after an exact or a regex match the whole path is replaced, the query kept', () => {
    expect(rewrite([{ uri: { exact: '/productpage' } }], '/index.html', '/productpage?u=1')).toBe('/index.html?u=1');
    expect(rewrite([{ uri: { regex: '/reviews/[0-9]+' } }], '/reviews', '/reviews/42?x=y')).toBe('/reviews?x=y');
  });

  it('uses the match block that matched, not the first with a uri (one Envoy route per match block)', () => {
    const match = [{ uri: { prefix: '/a' }, headers: { x: { exact: '1' } } }, { uri: { prefix: '/ab' } }];
    expect(rewrite(match, '/z', '/abc')).toBe('/zc');
    expect(rewrite(match, '/z', '/abc', { x: '1' })).toBe('/zbc');
  });
});
