// `outlierDetection.consecutiveErrors`: accepted with Istio's warning (pkg/config/validation/validation.go
// validateOutlierDetection) and ignored, as istiod's applyOutlierDetection (cluster_traffic_policy.go) never reads it.
import { describe, expect, it } from 'vitest';
import { effectiveTrafficPolicy, parseDestinationRule } from '../../src/istio/networking/destination-rule.ts';
import { deprecatedFieldWarnings } from '../../src/spec/semantics.ts';
import type { K8sObject, ResourceRef } from '../../src/spec/types.ts';
import { clusterUnder } from '../support/envoy-routing.ts';

const rule = (outlierDetection: Record<string, unknown>): K8sObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'ratings' },
  spec: {
    host: 'ratings',
    trafficPolicy: { outlierDetection, portLevelSettings: [{ port: { number: 9080 }, outlierDetection }] },
    subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { outlierDetection } }],
  },
});
const ref = (object: K8sObject): ResourceRef => ({ object, source: { file: 'e.yaml', line: 1, col: 1 }, origin: 'inline' });

describe('outlierDetection.consecutiveErrors (deprecated)', () => {
  it("is ignored: Envoy's default of 5 consecutive 5xx applies (applyOutlierDetection sends no consecutive_5xx)", () => {
    const dr = parseDestinationRule(rule({ consecutiveErrors: 1, interval: '1s' }));
    expect(effectiveTrafficPolicy(dr, undefined, 80).outlierDetection).toEqual({ intervalMs: 1000 });
    expect(effectiveTrafficPolicy(dr, 'v1', 9080).outlierDetection).toEqual({ intervalMs: 1000 });
    expect(clusterUnder({ outlierDetection: { consecutiveErrors: 1, interval: '1s' } }).outlierDetection).toMatchObject({
      consecutive5xx: 5,
      enforcingConsecutive5xx: 100,
      intervalMs: 1000,
    });
    const both = parseDestinationRule(rule({ consecutiveErrors: 1, consecutive5xxErrors: 2 }));
    expect(effectiveTrafficPolicy(both, undefined, 80).outlierDetection?.consecutive5xxErrors).toBe(2);
    expect(clusterUnder({ outlierDetection: { consecutiveErrors: 1, consecutive5xxErrors: 2 } }).outlierDetection?.consecutive5xx).toBe(2);
  });

  it('still must be an integer', () => {
    let error: unknown;
    try {
      parseDestinationRule(rule({ consecutiveErrors: 'x' }));
    } catch (e) {
      error = e;
    }
    expect((error as { path?: string }).path).toBe('DestinationRule ratings: spec.subsets[0].trafficPolicy.outlierDetection.consecutiveErrors');
  });

  it("gets Istio's deprecation warning wherever it is written (validateOutlierDetection), and none when 0", () => {
    const warnings = deprecatedFieldWarnings([ref(rule({ consecutiveErrors: 1 }))]);
    expect(warnings.map((w) => w.path)).toEqual([
      'DestinationRule ratings: spec.trafficPolicy.outlierDetection.consecutiveErrors',
      'DestinationRule ratings: spec.subsets[0].trafficPolicy.outlierDetection.consecutiveErrors',
      'DestinationRule ratings: spec.trafficPolicy.portLevelSettings[0].outlierDetection.consecutiveErrors',
    ]);
    expect(warnings[0]?.message).toMatch(/^outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead/);
    expect(deprecatedFieldWarnings([ref(rule({ consecutiveErrors: 0 }))])).toEqual([]);
  });
});
