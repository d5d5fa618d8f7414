import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadExperimentText } from '../../src/spec/load.ts';
import { SpecErrors } from '../../src/errors.ts';

const file = fileURLToPath(new URL('../fixtures/good/sweep.yaml', import.meta.url));
const experiment = (matrix: string) => `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: sweep }
spec:
${matrix}
  apply:
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: ratings }
        spec:
          hosts: [ratings]
          http:
            - route: [{ destination: { host: ratings } }]
              retries: { attempts: "\${matrix.attempts}", retryOn: "\${matrix.retryOn}" }
  load:
    request: { path: /productpage }
    connections: 4
    total: 100
  expect:
    - status: { code: 503, ratio: { derived: { failing: 0.5, retries: "\${matrix.attempts}" }, tolerance: 0.07 } }
`;

describe('matrix', () => {
  it('a grid runs every combination, first key slowest', () => {
    const runs = loadExperimentText(experiment('  matrix:\n    attempts: [1, 2]\n    retryOn: [5xx, gateway-error]'), file);
    expect(runs.map((r) => r.name)).toEqual([
      'sweep[attempts=1,retryOn=5xx]',
      'sweep[attempts=1,retryOn=gateway-error]',
      'sweep[attempts=2,retryOn=5xx]',
      'sweep[attempts=2,retryOn=gateway-error]',
    ]);
  });

  it('explicit points run exactly as listed, values keeping their types (attempts 0 without a retryOn)', () => {
    const runs = loadExperimentText(experiment('  matrix:\n    points:\n      - { attempts: 0, retryOn: "" }\n      - { attempts: 2, retryOn: 5xx }'), file);
    expect(runs.map((r) => r.sweep?.params)).toEqual([
      { attempts: 0, retryOn: '' },
      { attempts: 2, retryOn: '5xx' },
    ]);
    expect(runs.map((r) => (r.apply[0]?.object.spec as { http: { retries: unknown }[] } | undefined)?.http[0]?.retries)).toEqual([
      { attempts: 0, retryOn: '' },
      { attempts: 2, retryOn: '5xx' },
    ]);
    expect(runs.map((r) => (r.expect[0] as { ratio: { derived?: { retries: number } } }).ratio.derived?.retries)).toEqual([0, 2]);
  });

  it('points that set different parameters are refused at the point that differs', () => {
    try {
      loadExperimentText(experiment('  matrix:\n    points:\n      - { attempts: 0, retryOn: "" }\n      - { attempts: 2 }'), file);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SpecErrors);
      const [e] = (error as SpecErrors).errors;
      expect(e?.format()).toMatch(
        /sweep\.yaml:8:\d+: spec\.matrix\.points\[1\]: every point must set the same parameters \(attempts, retryOn\); this one sets attempts/,
      );
    }
  });
});
