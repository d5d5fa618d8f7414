// Which DestinationRule a proxy uses, compiled by the local configuration store as istiod's push context does
// (pilot/pkg/model/destination_rule.go mergeDestinationRule, push_context.go setDestinationRules / destinationRule,
// config.go MostSpecificHostMatch, sidecar.go SidecarScope.DestinationRule).
import { describe, expect, it } from 'vitest';
import { ConfigStore } from '../../src/targets/local/config-store.ts';
import { readObjects } from '../../src/targets/local/scenario.ts';
import { yaml } from '../local/helpers.ts';

const bookinfo = readObjects(new URL('../../scenarios/bookinfo/bookinfo.yaml', import.meta.url).pathname);
const reviews = 'reviews.default.svc.cluster.local';
const ratings = 'ratings.default.svc.cluster.local';

function compile(text: string) {
  const store = new ConfigStore();
  store.init(bookinfo);
  return store.change(yaml(text), []).destinationRules;
}

const rule = (name: string, host: string, extra = '', ns = 'default') => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: ${ns} }
spec:
  host: ${host}
${extra}`;

describe('mergeDestinationRule: several rules for one host (destination_rule.go)', () => {
  const rules = compile(
    [
      rule(
        'reviews-a',
        'reviews',
        `  trafficPolicy: { loadBalancer: { simple: RANDOM } }
  subsets: [{ name: v1, labels: { version: v1 } }]`,
      ),
      rule(
        'reviews-b',
        'reviews.default.svc.cluster.local',
        `  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
  subsets: [{ name: v1, labels: { version: v3 } }, { name: v2, labels: { version: v2 } }]`,
      ),
      rule('reviews-c', 'reviews', `  trafficPolicy: { connectionPool: { tcp: { maxConnections: 1 } } }`),
    ].join('\n---\n'),
  );

  it('appends the subsets of later rules that are new by name (a duplicate name keeps the first)', () => {
    const merged = rules.get(reviews, 'default')!;
    expect(merged.subsets.map((s) => [s.name, s.labels.version])).toEqual([
      ['v1', 'v1'],
      ['v2', 'v2'],
    ]);
    expect(merged.mergedFrom).toEqual(['default/reviews-a', 'default/reviews-b', 'default/reviews-c']);
  });

  it('keeps the oldest top-level traffic policy whole (a later one does not fill its gaps)', () => {
    const merged = rules.get(reviews, 'default')!;
    expect(merged.trafficPolicy?.loadBalancer).toEqual({ simple: 'RANDOM' });
    expect(merged.trafficPolicy?.connectionPool).toBeUndefined();
  });

  it('a later rule gives its policy when the first has none', () => {
    const r = compile(
      [
        rule('a', 'reviews', '  subsets: [{ name: v1, labels: { version: v1 } }]'),
        rule('b', 'reviews', '  trafficPolicy: { loadBalancer: { simple: RANDOM } }'),
      ].join('\n---\n'),
    );
    expect(r.get(reviews, 'default')?.trafficPolicy?.loadBalancer).toEqual({ simple: 'RANDOM' });
    expect(r.get(reviews, 'default')?.subsets.map((s) => s.name)).toEqual(['v1']);
  });

  it('rules with different exportTo stay separate and the last one applies (ENABLE_ENHANCED_DESTINATIONRULE_MERGE, SidecarScope.DestinationRule)', () => {
    const r = compile(
      [
        rule(
          'a',
          'reviews',
          `  exportTo: ['*']
  subsets: [{ name: v1, labels: { version: v1 } }]`,
        ),
        rule(
          'b',
          'reviews',
          `  exportTo: ['.']
  subsets: [{ name: v2, labels: { version: v2 } }]`,
        ),
      ].join('\n---\n'),
    );
    expect(r.get(reviews, 'default')?.subsets.map((s) => s.name)).toEqual(['v2']);
    // The ingress gateway (istio-system) sees only the exported rule.
    expect(r.get(reviews, 'istio-system')?.subsets.map((s) => s.name)).toEqual(['v1']);
  });
});

describe('exportTo and namespaces of DestinationRules (push_context.go destinationRule)', () => {
  it('a rule exported only to its namespace does not reach the ingress gateway in istio-system', () => {
    const r = compile(
      rule(
        'reviews',
        'reviews',
        `  exportTo: ['.']
  subsets: [{ name: v1, labels: { version: v1 } }]`,
      ),
    );
    expect(r.get(reviews, 'default')?.name).toBe('reviews');
    expect(r.get(reviews, 'istio-system')).toBeUndefined();
  });

  it('a rule in the proxy namespace wins over the service namespace; the root namespace applies last', () => {
    const r = compile(
      [
        rule('in-default', 'reviews.default.svc.cluster.local', ''),
        rule('in-root', 'reviews.default.svc.cluster.local', '', 'istio-system'),
        rule('root-ratings', 'ratings.default.svc.cluster.local', '', 'istio-system'),
      ].join('\n---\n'),
    );
    expect(r.get(reviews, 'default')?.name).toBe('in-default');
    // A proxy in the root namespace looks first at the root's private rules only, then at the service's namespace.
    expect(r.get(reviews, 'istio-system')?.name).toBe('in-default');
    expect(r.get(ratings, 'default')?.name).toBe('root-ratings');
    const own = compile(
      [
        rule('in-default', 'reviews.default.svc.cluster.local', ''),
        rule('root-private', 'reviews.default.svc.cluster.local', "  exportTo: ['.']", 'istio-system'),
      ].join('\n---\n'),
    );
    expect(own.get(reviews, 'istio-system')?.name).toBe('root-private');
    expect(own.get(reviews, 'default')?.name).toBe('in-default');
  });

  it('a short host is resolved in the rule namespace (ResolveShortnameToFQDN), so `reviews` in istio-system is another host', () => {
    const r = compile(rule('elsewhere', 'reviews', '', 'istio-system'));
    expect(r.get(reviews, 'default')).toBeUndefined();
  });

  it('refuses exportTo entries istiod refuses (validateExportTo)', () => {
    expect(() => compile(rule('r', 'reviews', "  exportTo: [default, '.']"))).toThrow(/duplicate entries in exportTo: \. and current namespace default/);
    expect(() => compile(rule('r', 'reviews', '  exportTo: [Default]'))).toThrow(/not "\.", "\*" or a namespace name/);
    expect(() => compile(rule('r', 'reviews', "  exportTo: ['*', default]"))).toThrow(/both public/);
  });
});

describe('wildcard DestinationRule hosts (config.go MostSpecificHostMatch)', () => {
  const rules = compile(
    [
      rule('all-local', '"*.local"', '  trafficPolicy: { loadBalancer: { simple: RANDOM } }'),
      rule('default-ns', '"*.default.svc.cluster.local"', '  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }'),
      rule('ratings', 'ratings', '  trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST } }'),
    ].join('\n---\n'),
  );

  it('an exact host wins over wildcards, the longer wildcard over the shorter', () => {
    expect(rules.get(ratings, 'default')?.name).toBe('ratings');
    expect(rules.get(reviews, 'default')?.name).toBe('default-ns');
    expect(rules.get('details.other.svc.cluster.local', 'default', 'other')?.name).toBe('all-local');
  });

  it('`*` applies to every service', () => {
    const r = compile(rule('everything', '"*"', '  trafficPolicy: { loadBalancer: { simple: RANDOM } }'));
    expect(r.get(reviews, 'default')?.name).toBe('everything');
    expect(r.get(reviews, 'istio-system')?.name).toBe('everything');
  });
});
