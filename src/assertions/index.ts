// Judging expectations: one module per kind, dispatched through the registry (./kinds.ts). Statistics helpers live in ./stats.
import type { Expectation } from '../spec/types.ts';
import type { JudgeContext, Verdict } from './verdict.ts';
import { handlerOf } from './kinds.ts';

export type { JudgeContext, Verdict } from './verdict.ts';

export function judge(expectation: Expectation, context: JudgeContext): Verdict {
  return handlerOf(expectation).judge(expectation, context);
}

export function judgeAll(expectations: Expectation[], context: JudgeContext): Verdict[] {
  return expectations.map((e) => judge(e, context));
}

/** Sequential mode stops load when this is true: no verdict is inconclusive any more. */
export function allConclusive(verdicts: Verdict[]): boolean {
  return verdicts.every((v) => v.outcome !== 'inconclusive');
}
