// Judging expectations: one module per kind, dispatched here. Statistics helpers live in ./stats.
import type { Expectation } from '../spec/types.ts';
import type { JudgeContext, Verdict } from './verdict.ts';
import { judgeDistribution } from './distribution.ts';
import { judgeStatus } from './status.ts';
import { judgeRetries } from './retries.ts';
import { judgeRateLimited } from './rate-limited.ts';
import { judgeDenied } from './denied.ts';
import { judgeLatency } from './latency.ts';
import { judgeFlags } from './flags.ts';
import { judgeReconcile } from './reconcile.ts';
import { judgeCounter } from './counter.ts';

export type { JudgeContext, Verdict, Outcome, Judge } from './verdict.ts';

export function judge(expectation: Expectation, context: JudgeContext): Verdict {
  switch (expectation.kind) {
    case 'distribution':
      return judgeDistribution(expectation, context);
    case 'status':
      return judgeStatus(expectation, context);
    case 'retries':
      return judgeRetries(expectation, context);
    case 'rateLimited':
      return judgeRateLimited(expectation, context);
    case 'denied':
      return judgeDenied(expectation, context);
    case 'latency':
      return judgeLatency(expectation, context);
    case 'flags':
      return judgeFlags(expectation, context);
    case 'reconcile':
      return judgeReconcile(expectation, context);
    case 'counter':
      return judgeCounter(expectation, context);
  }
}

export function judgeAll(expectations: Expectation[], context: JudgeContext): Verdict[] {
  return expectations.map((e) => judge(e, context));
}

/** Sequential mode stops load when this is true: no verdict is inconclusive any more. */
export function allConclusive(verdicts: Verdict[]): boolean {
  return verdicts.every((v) => v.outcome !== 'inconclusive');
}
