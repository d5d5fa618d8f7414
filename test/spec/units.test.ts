import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/spec/units.ts';
import { loadExperimentText } from '../../src/spec/load.ts';
import type { SpecErrors } from '../../src/errors.ts';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['0.5s', 500],
    [3, 3000],
  ])('%s is %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['', '5', 'ten seconds', '-1s', '5 s', '1d', null, -2])('%s is rejected', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });

  it('formats back', () => {
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(120_000)).toBe('2m');
  });
});

describe("one convention for units in experiments (issue: the user's journey, item 3)", () => {
  const file = '/tmp/units.yaml';
  const experiment = (load: string, expect: string) => `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: units }
spec:
  load:
    request: { path: /productpage }
    rate: 100
${load}
  expect:
${expect}
`;
  const refusal = (text: string) => {
    try {
      loadExperimentText(text, file);
    } catch (error) {
      return (error as SpecErrors).message;
    }
    throw new Error('not refused');
  };

  it('a bare number as a duration is refused with the fix, in the load (seconds first) and in a latency bound (ms first)', () => {
    expect(refusal(experiment('    duration: 10', '    - status: { code: 200, ratio: { min: 0.9 } }'))).toContain(
      `${file}:8:15: spec.load.duration: a bare number is ambiguous as a duration: write "10s" (or "10ms"), with the unit`,
    );
    expect(refusal(experiment('    duration: 10s', '    - latency: { p99: { below: 500 } }'))).toContain(
      `${file}:10:32: spec.expect[0].latency.p99.below: a bare number is ambiguous as a duration: write "500ms" (or "500s"), with the unit`,
    );
    // 0 needs no unit.
    expect(loadExperimentText(experiment('    duration: 10s\n    warmup: 0', '    - latency: { p99: { below: 1s } }'), file)[0]!.load.warmupMs).toBe(0);
  });

  it('a distribution tolerance is a share like every share: 0.05 and "5%" are 5 points; 5 is refused saying to write "5%"', () => {
    const tolerance = (t: string) =>
      experiment('    duration: 10s', `    - distribution: { of: reviews.version, weights: { v1: 80, v3: 20 }, tolerance: ${t} }`);
    const points = (t: string) => (loadExperimentText(tolerance(t), file)[0]!.expect[0] as { tolerance: number }).tolerance;
    expect(points('0.05')).toBe(5);
    expect(points('"5%"')).toBe(5);
    expect(points('"12.5%"')).toBe(12.5);
    expect(refusal(tolerance('5'))).toMatch(
      /spec\.expect\[0\]\.distribution\.tolerance: expected a share like every share, .*found 5; for 5 percent write "5%"/,
    );
    // The same hint for any share written as a percentage number.
    expect(refusal(experiment('    duration: 10s', '    - status: { code: 200, ratio: { min: 99 } }'))).toMatch(
      /ratio\.min: expected a share: .*found 99; for 99 percent write "99%"/,
    );
  });
});
