// Subset names are DNS-1123 labels, as istio/istio pkg/config/validation validateSubsetName requires of a
// DestinationRule's subsets (validateSubset) and of a route's destination.subset (validateDestination).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecErrors } from '../../src/errors.ts';
import { loadExperimentText } from '../../src/spec/load.ts';
import { tempDir } from '../support/temp-dir.ts';

const destinationRule = (subset: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
    - name: v1
      labels: { version: v1 }
    - name: ${subset}
      labels: { version: v3 }
`;

function experiment(apply: string): string {
  return `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: subsets }
spec:
  apply:
${apply}
  load:
    request: { path: /productpage }
    rate: 10
    total: 10
  expect:
    - status: { code: 200, ratio: { min: 0.9 } }
`;
}

function loaderErrors(text: string, path = 'subsets.yaml'): string[] {
  try {
    loadExperimentText(text, path);
    return [];
  } catch (error) {
    if (error instanceof SpecErrors) return error.errors.map((e) => e.format());
    throw error;
  }
}

describe('subset names (istio/istio validateSubsetName: a DNS-1123 label)', () => {
  it('a DestinationRule subset named with upper case, "_", a dot or an escape character is refused at its name, in a referenced file', () => {
    const dir = tempDir('meshproof-subsets-');
    for (const bad of ['V3', 'v_3', 'v3.1', '"v3\\e[2J"', '-v3', 'v3-', `a${'b'.repeat(63)}`, '""']) {
      writeFileSync(join(dir, 'dr.yaml'), destinationRule(bad));
      const errors = loaderErrors(experiment('    - file: dr.yaml'), join(dir, 'experiment.yaml'));
      expect(errors, bad).toEqual([
        expect.stringMatching(/dr\.yaml:9:7: DestinationRule reviews: spec\.subsets\[1\]\.name: subset name (cannot be empty|.* is not a DNS-1123 label)/),
      ]);
    }
    for (const good of ['v3', 'v-3', '"3"', `a${'b'.repeat(62)}`]) {
      writeFileSync(join(dir, 'dr.yaml'), destinationRule(good));
      expect(loaderErrors(experiment('    - file: dr.yaml'), join(dir, 'experiment.yaml')), good).toEqual([]);
    }
  });

  it('the escape character is shown escaped, never written raw to the terminal', () => {
    const dir = tempDir('meshproof-subsets-');
    writeFileSync(join(dir, 'dr.yaml'), destinationRule('"v3\\e[2J"'));
    const [error] = loaderErrors(experiment('    - file: dr.yaml'), join(dir, 'experiment.yaml'));
    expect(error).toContain('"v3\\u001b[2J"');
    expect(error).not.toContain('\u001b');
  });

  it('an inline VirtualService naming a malformed subset is refused at destination.subset, once (not also as undefined)', () => {
    const apply = `    - file: ${new URL('../../scenarios/bookinfo/destination-rule-all.yaml', import.meta.url).pathname}
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route:
                - { destination: { host: reviews, subset: V1 } }`;
    expect(loaderErrors(experiment(apply))).toEqual([
      expect.stringMatching(
        /subsets\.yaml:15:\d+: VirtualService reviews: spec\.http\[0\]\.route\[0\]\.destination\.subset: subset name "V1" is not a DNS-1123 label/,
      ),
    ]);
  });
});

describe('subsets of wildcard DestinationRules (model/config.go MostSpecificHostMatch)', () => {
  const inline = (host: string, subset: string) => `    - inline:
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: wide }
        spec:
          host: "${host}"
          subsets: [{ name: ${subset}, labels: { version: v2 } }]
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: ratings }
        spec:
          hosts: [ratings]
          http: [{ route: [{ destination: { host: ratings, subset: wide-v2 } }] }]
`;
  it('a subset a wildcard rule defines for the host is defined; one of a wildcard that does not cover it is not', () => {
    expect(loaderErrors(experiment(inline('*.default.svc.cluster.local', 'wide-v2')))).toEqual([]);
    expect(loaderErrors(experiment(inline('*.other.svc.cluster.local', 'wide-v2'))).join('\n')).toMatch(/subset "wide-v2" of host ratings is not defined/);
  });
});
