// Route weights as Istio reads them (istio/istio pkg/config/validation: validateWeight "weight %d < 0",
// validateHTTPRouteDestinations "total destination weight = 0"; the CRD's weight is an int32), for every target, and the
// relative-weights warning never shows a negative or made-up share.
import { describe, expect, it } from 'vitest';
import { SpecError, SpecErrors } from '../../src/errors.ts';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import { loadExperimentText } from '../../src/spec/load.ts';
import { weightWarnings } from '../../src/spec/semantics.ts';
import type { K8sObject, ResourceRef } from '../../src/spec/types.ts';

function virtualService(route: unknown[]): K8sObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews' }, spec: { hosts: ['reviews'], http: [{ route }] } };
}
const ref = (object: K8sObject): ResourceRef => ({ object, source: { file: 'e.yaml', line: 1, col: 1 }, origin: 'inline' });
const to = (subset: string, weight?: unknown) => ({ destination: { host: 'reviews', subset }, ...(weight === undefined ? {} : { weight }) });

function experimentWith(weights: string[]): string {
  return `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: weights }
spec:
  apply:
    - file: ${new URL('../../scenarios/bookinfo/destination-rule-all.yaml', import.meta.url).pathname}
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route:
${weights.map((w, i) => `                - { destination: { host: reviews, subset: v${i + 1} }${w ? `, ${w}` : ''} }`).join('\n')}
  load:
    request: { path: /productpage }
    rate: 10
    total: 10
  expect:
    - status: { code: 200, ratio: { min: 0.9 } }
`;
}

function loaderErrors(weights: string[]): string[] {
  try {
    loadExperimentText(experimentWith(weights), 'weights.yaml');
    return [];
  } catch (error) {
    if (error instanceof SpecErrors) return error.errors.map((e) => e.format());
    throw error;
  }
}

describe('route weights', () => {
  it('a negative, fractional, string or all-zero weight is bad input at the field, whatever the target', () => {
    expect(loaderErrors(['weight: -80', 'weight: 20'])).toEqual([
      expect.stringMatching(/weights\.yaml:15:\d+: VirtualService reviews: spec\.http\[0\]\.route\[0\]\.weight: must be 0 or more, found -80/),
    ]);
    expect(loaderErrors(['weight: 80.5', 'weight: 20'])).toEqual([expect.stringMatching(/:15:\d+: .*route\[0\]\.weight: expected an integer, found 80\.5/)]);
    expect(loaderErrors(['weight: "80"', 'weight: 20'])).toEqual([expect.stringMatching(/:15:\d+: .*route\[0\]\.weight: expected an integer, found "80"/)]);
    expect(loaderErrors(['weight: 0', ''])).toEqual([expect.stringMatching(/:14:\d+: .*spec\.http\[0\]\.route: .*total destination weight = 0/)]);
    expect(loaderErrors(['weight: 80', 'weight: 20'])).toEqual([]);
    expect(loaderErrors(['weight: 30', ''])).toEqual([]); // a left-out weight is 0, as proto3 reads it
  });

  it('the relative-weights warning shows the shares Istio gives, never a negative one', () => {
    expect(weightWarnings([ref(virtualService([to('v1', -80), to('v3', 20)]))])).toEqual([]);
    expect(weightWarnings([ref(virtualService([to('v1', '80'), to('v3', 20)]))])).toEqual([]);
    const [warning] = weightWarnings([ref(virtualService([to('v1', 30), to('v3')]))]);
    expect(warning?.message).toContain('traffic goes v1 100.0 %, v3 0.0 %');
  });

  it('the local mesh reads a left-out weight as 0 (pilot route.go skips 0-weight clusters when there are others)', () => {
    const model = parseVirtualService(virtualService([to('v1', 30), to('v3')]));
    expect(model.http[0]?.route.map((d) => d.weight)).toEqual([30, 0]);
    expect(() => parseVirtualService(virtualService([to('v1'), to('v3')]))).toThrow(/total destination weight = 0/);
  });

  it('an unknown field of a resource suggests the field meant', () => {
    const refusal = (route: unknown[]) => {
      try {
        parseVirtualService(virtualService(route));
      } catch (error) {
        return (error as SpecError).format();
      }
      return 'accepted';
    };
    expect(refusal([{ destination: { hostz: 'reviews' }, weight: 100 }])).toMatch(
      /spec\.http\[0\]\.route\[0\]\.destination\.hostz: unknown or unsupported field; did you mean "host"\?/,
    );
    expect(refusal([{ ...to('v1'), weigth: 100 }])).toMatch(/route\[0\]\.weigth: .*did you mean "weight"\?/);
    expect(refusal([{ ...to('v1'), colour: 'red' }])).toMatch(
      /route\[0\]\.colour: unknown or unsupported field \(supported here: destination, weight, headers\)$/,
    );
  });
});
