import type { Experiment, K8sObject } from '../../src/spec/types.ts';

export function vs(name: string): K8sObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name },
    spec: { hosts: [name], http: [{ route: [{ destination: { host: name } }] }] },
  };
}

/** A typed experiment built directly (bypassing YAML), for runner tests. */
export function makeExperiment(overrides: Partial<Experiment> = {}): Experiment {
  const resources = [vs('reviews'), vs('ratings')];
  return {
    file: '/tmp/exp.yaml',
    name: 'test-experiment',
    description: 'for tests',
    tags: [],
    scenario: 'bookinfo',
    apply: resources.map((object) => ({ object, source: { file: 'exp.yaml', line: 1, col: 1 }, origin: 'inline' })),
    load: {
      driver: 'autocannon',
      requests: [{ name: 'r0', method: 'GET', path: '/productpage', headers: {}, weight: 1 }],
      model: { kind: 'open', rate: 100 },
      totalRequests: 50,
      warmupMs: 0,
      timeoutMs: 1000,
      classifiers: ['status'],
    },
    expect: [{ kind: 'status', title: 'mostly 200', source: { file: 'exp.yaml', line: 9, col: 5 }, confidence: 0.99, code: '200', ratio: { min: 0.9 } }],
    warnings: [],
    ...overrides,
  };
}
