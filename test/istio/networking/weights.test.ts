// Istio's destination-weight rules in one place (src/istio/networking/weights.ts): istio/istio pkg/config/validation
// validateWeight and validateHTTPRouteDestinations; pilot route.go for how weights route.
import { describe, expect, it } from 'vitest';
import { isValidWeight, MAX_WEIGHT, routedWeights, weightShares } from '../../../src/istio/networking/weights.ts';

describe('destination weights', () => {
  it('accepts a left-out weight and int32 values >= 0, nothing else (validateWeight)', () => {
    expect([undefined, 0, 1, 100, MAX_WEIGHT].map(isValidWeight)).toEqual([true, true, true, true, true]);
    expect([-1, 1.5, MAX_WEIGHT + 1, '50', null].map(isValidWeight)).toEqual([false, false, false, false, false]);
  });

  it('a single destination takes every request whatever its weight; several route by their weights, left out = 0 (route.go)', () => {
    expect(routedWeights([undefined])).toEqual([100]);
    expect(routedWeights([0])).toEqual([100]);
    expect(routedWeights([30])).toEqual([100]);
    expect(routedWeights([80, undefined, 20])).toEqual([80, 0, 20]);
  });

  it('weights are relative shares of their total; several adding up to 0 are refused (total destination weight = 0)', () => {
    expect(weightShares([1, 3])).toEqual([25, 75]);
    expect(weightShares([80, 20])).toEqual([80, 20]);
    expect(weightShares([undefined])).toEqual([100]);
    expect(weightShares([0, 0])).toBeUndefined();
    expect(weightShares([undefined, undefined])).toBeUndefined();
  });
});
