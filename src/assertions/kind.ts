// What one expectation kind provides: judging, whether it may be judged while load runs (sequential mode), and how
// reports show its values. Each kind's module exports one `KindHandler`; src/assertions/kinds.ts lists them.
import type { Bound, Expectation } from '../spec/types.ts';
import type { JudgeContext, Verdict } from './verdict.ts';
import type { ParseInput, RawCommon } from '../spec/expectation-input.ts';

/** The unit of a verdict's observed value: share 0..1, count, or ms. */
export type ValueUnit = 'share' | 'count' | 'ms';

/** Expected value of a verdict as numbers, for charts: a point estimate and/or a [min, max] band. */
export interface ExpectedNumbers {
  value?: number;
  min?: number;
  max?: number;
}

/** `Raw` is the kind's object as its schema fragment admits it. */
export interface KindHandler<E extends { kind: string }, Raw extends RawCommon = RawCommon> {
  /** From the schema-valid object under the kind's key to the typed expectation: defaults, units, cross-field rules. */
  parse(input: ParseInput<Raw>): E;
  judge(expectation: E, context: JudgeContext): Verdict;
  /** Sequential capability: judged from client data alone, so it may be looked at while load runs and stop it. */
  judgedFromClient(expectation: E): boolean;
  /** The unit reports show the observed value in (the expectation is missing when a result file lacks it). */
  unit(expectation: E | undefined): ValueUnit;
  /** Expected numbers per series key (`''` for a scalar verdict), in the verdict's unit, for charts. */
  expectedNumbers(verdict: Verdict, expectation: E): Map<string, ExpectedNumbers>;
}

/** One handler per kind name: a kind of `E` without its handler is a compile error. */
export type KindRegistry<E extends { kind: string } = Expectation> = { [K in E['kind']]: KindHandler<Extract<E, { kind: K }>> };

/** A min / max / approx ± tolerance bound as chart numbers (undefined when it bounds nothing). */
export function boundNumbers(bound: Bound | undefined): ExpectedNumbers | undefined {
  if (!bound) return undefined;
  if (bound.approx !== undefined) {
    const t = bound.tolerance;
    return t === undefined ? { value: bound.approx } : { value: bound.approx, min: bound.approx - t, max: bound.approx + t };
  }
  if (bound.min === undefined && bound.max === undefined) return undefined;
  return { min: bound.min, max: bound.max };
}

/** Chart numbers of a single bound, keyed `''` (none when it bounds nothing). */
export function scalarNumbers(numbers: ExpectedNumbers | undefined): Map<string, ExpectedNumbers> {
  return numbers ? new Map([['', numbers]]) : new Map();
}

export const noExpectedNumbers = (): Map<string, ExpectedNumbers> => new Map();
