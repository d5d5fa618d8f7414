import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { ROOT_NAMESPACE, labelsMatch, readSelector, resourceName, scopeApplies } from '../../src/istio/selector.ts';

// istio/api authorization_policy.proto / envoy_filter.proto: same namespace, or the root namespace for all namespaces.
describe('selector', () => {
  it('matches labels as a subset', () => {
    expect(labelsMatch({ app: 'reviews' }, { app: 'reviews', version: 'v2' })).toBe(true);
    expect(labelsMatch({ app: 'reviews', version: 'v1' }, { app: 'reviews', version: 'v2' })).toBe(false);
    expect(labelsMatch(undefined, {})).toBe(true);
  });

  it('scopes to the namespace, or every namespace from the root namespace istio-system', () => {
    expect(ROOT_NAMESPACE).toBe('istio-system');
    const w = { namespace: 'default', labels: { app: 'reviews' } };
    expect(scopeApplies({ namespace: 'default' }, w)).toBe(true);
    expect(scopeApplies({ namespace: 'prod' }, w)).toBe(false);
    expect(scopeApplies({ namespace: 'istio-system' }, w)).toBe(true);
    expect(scopeApplies({ namespace: 'istio-system', selector: { app: 'ratings' } }, w)).toBe(false);
    expect(scopeApplies({ namespace: 'mesh-root' }, w, 'mesh-root')).toBe(true);
  });

  it('reads selector.matchLabels and workloadSelector.labels; empty maps mean no selector', () => {
    const ap = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'a' }, spec: { selector: { matchLabels: { app: 'x' } } } };
    expect(readSelector(ap, 'selector')).toEqual({ app: 'x' });
    expect(readSelector({ ...ap, spec: { selector: { matchLabels: {} } } }, 'selector')).toBeUndefined();
    const ef = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'EnvoyFilter',
      metadata: { name: 'f', namespace: 'istio-system' },
      spec: { workloadSelector: { labels: { app: 'y' } } },
    };
    expect(readSelector(ef, 'workloadSelector')).toEqual({ app: 'y' });
    expect(resourceName(ef)).toBe('EnvoyFilter istio-system/f');
    expect(() => readSelector({ ...ap, spec: { selector: { matchLabels: { app: 1 } } } }, 'selector')).toThrow(SpecError);
  });
});
