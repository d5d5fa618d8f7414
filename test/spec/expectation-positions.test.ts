// An expectation that names something the experiment cannot observe points at the field itself
// (spec.expect[i].<kind>.<field> and its file:line:col), not at the start of the list item.
import { describe, expect, it } from 'vitest';
import { SpecErrors } from '../../src/errors.ts';
import { loadExperimentText } from '../../src/spec/load.ts';

function errorsOf(text: string) {
  try {
    loadExperimentText(text, 'positions.yaml');
  } catch (error) {
    if (error instanceof SpecErrors) return error.errors;
    throw error;
  }
  throw new Error('loaded without error');
}

const head = `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: positions }
spec:
  load:
    request: { path: /productpage }
    rate: 10
    total: 10
  expect:
`;

describe('expectation errors name the field and its position', () => {
  it('a label in where: points at the label key; the index counts expectations that failed other checks', () => {
    const errors = errorsOf(`${head}    - status: { code: 200, flag: UO, ratio: { min: 0.5 } }
    - status:
        code: 200
        ratio: { min: 0.5 }
        where: { reviews.colour: red }
`);
    expect(errors.some((e) => e.path === 'spec.expect[0].status' && e.message.includes('exactly one of code'))).toBe(true);
    const label = errors.find((e) => e.message.includes('reviews.colour'));
    expect(label?.path).toBe('spec.expect[1].status.where["reviews.colour"]');
    expect(label?.source).toMatchObject({ line: 14, col: 18 });
  });

  it('a service of retries points at its value', () => {
    const errors = errorsOf(`${head}    - retries: { service: ratingz, max: 0 }
`);
    expect(errors.map((e) => e.format())).toEqual([
      expect.stringMatching(/positions\.yaml:10:27: spec\.expect\[0\]\.retries\.service: service "ratingz" is not part of scenario bookinfo/),
    ]);
  });

  it('a value of the wrong type where the schema allows several types is refused at the field (found by the loader fuzz: it crashed)', () => {
    const errors = errorsOf(`${head}    - status: { code: 200, ratio: { min: 0.5 }, where: { request: [a, b] } }
`);
    expect(errors.map((e) => e.format())).toEqual([
      expect.stringMatching(/positions\.yaml:10:\d+: spec\.expect\[0\]\.status\.where\.request: expected string or number, found /),
    ]);
  });

  it('a version no workload of the service carries cannot be expected; a Deployment the experiment applies adds its version', () => {
    const expectV4 = `    - distribution: { of: reviews.version, weights: { v1: 50, v4: 50 } }\n`;
    expect(errorsOf(`${head}${expectV4}`).map((e) => e.format())).toEqual([
      expect.stringMatching(
        /positions\.yaml:10:\d+: spec\.expect\[0\]\.distribution\.weights\.v4: reviews\.version "v4" cannot be observed: .* version v1, v2, v3$/,
      ),
    ]);
    const withV4 = head.replace(
      'spec:\n',
      `spec:
  apply:
    - inline:
        apiVersion: apps/v1
        kind: Deployment
        metadata: { name: reviews-v4 }
        spec:
          selector: { matchLabels: { app: reviews, version: v4 } }
          template:
            metadata: { labels: { app: reviews, version: v4 } }
            spec: { containers: [{ name: reviews, image: reviews-v3 }] }
`,
    );
    expect(() => loadExperimentText(`${withV4}${expectV4}`, 'positions.yaml')).not.toThrow();
  });
});
