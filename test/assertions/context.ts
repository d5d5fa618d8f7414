// Building blocks for assertion tests: expectations with defaults, a judge context around a fake observation.
import type { Experiment, Expectation, ResourceRef } from '../../src/spec/types.ts';
import type { CounterSample, ObservationView } from '../../src/observe/types.ts';
import type { JudgeContext } from '../../src/assertions/verdict.ts';

export const source = { file: 'experiments/test.yaml', line: 1, col: 1 };

export function experiment(apply: ResourceRef[] = []): Experiment {
  return {
    file: '/tmp/test.yaml',
    name: 'test',
    description: '',
    tags: [],
    scenario: 'bookinfo',
    apply,
    load: {
      driver: 'autocannon',
      requests: [],
      model: { kind: 'open', rate: 100 },
      warmupMs: 0,
      timeoutMs: 10_000,
      classifiers: [],
    },
    expect: [],
    warnings: [],
  };
}

export function contextOf(
  observation: ObservationView,
  options: {
    counters?: CounterSample[];
    sequential?: JudgeContext['sequential'];
    apply?: ResourceRef[];
    istioVersion?: string;
    inFlightAllowance?: number;
  } = {},
): JudgeContext {
  return {
    experiment: experiment(options.apply),
    observation,
    counters: options.counters ?? [],
    target: { kind: 'local', istioVersion: options.istioVersion ?? '1.28.0', context: 'local', description: 'test' },
    inFlightAllowance: options.inFlightAllowance ?? 0,
    ...(options.sequential ? { sequential: options.sequential } : {}),
  };
}

type Without<E> = E extends Expectation ? Omit<E, 'title' | 'source' | 'confidence'> & Partial<Pick<E, 'title' | 'confidence'>> : never;

/** An expectation with a title, a source position and confidence 0.99 unless given. */
export function expectation<E extends Without<Expectation>>(e: E): Expectation {
  return { title: `${e.kind} check`, source, confidence: 0.99, ...e } as unknown as Expectation;
}
