// The workloads preflight expects and the Services' namespaces, for a built-in scenario and for a user's folder
// (spec.scenario as a path: examples/two-services runs in namespace shop).
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioServiceNamespace, scenarioWorkloads } from '../../src/targets/kube/scenario.ts';

const twoServices = resolve(import.meta.dirname, '../../examples/two-services/scenario');

describe('kube target: the scenario it expects', () => {
  it("a folder's Deployments, each in the namespace its manifest names", () => {
    expect(scenarioWorkloads(twoServices).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'backend-v1', namespace: 'shop', labels: { app: 'backend', version: 'v1' } },
      { name: 'backend-v2', namespace: 'shop', labels: { app: 'backend', version: 'v2' } },
      { name: 'frontend-v1', namespace: 'shop', labels: { app: 'frontend', version: 'v1' } },
    ]);
  });

  it("a folder's Service namespace; none for a Service it does not declare or a built-in scenario", () => {
    expect(scenarioServiceNamespace(twoServices, 'frontend')).toBe('shop');
    expect(scenarioServiceNamespace(twoServices, 'ratings')).toBeUndefined();
    expect(scenarioServiceNamespace('bookinfo', 'ratings')).toBeUndefined();
  });

  it('Bookinfo by name, from scenarios/bookinfo', () => {
    expect(scenarioWorkloads('bookinfo', join(import.meta.dirname, '../../scenarios')).map((w) => w.name)).toContain('reviews-v3');
  });
});
