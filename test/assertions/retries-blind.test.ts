// A retries bound that zero meets (max: 0) does not pass when no cluster counter of the service moved: the callers
// may simply not export them (proxyStatsMatcher), and "no retry" cannot be told from "no counter".
import { describe, expect, it } from 'vitest';
import { judgeRetries } from '../../src/assertions/retries.ts';
import type { JudgeContext } from '../../src/assertions/verdict.ts';
import type { CounterSample } from '../../src/observe/types.ts';
import type { RetriesExpectation } from '../../src/spec/types.ts';

const expectation = { kind: 'retries', service: 'inventory', count: { max: 0 }, confidence: 0.99, title: 'no retries' } as unknown as RetriesExpectation;
const context = (counters: CounterSample[]) => ({ counters, observation: { total: 100 } }) as unknown as JudgeContext;
const cluster = 'outbound|3001||inventory.shop.svc.cluster.local';

describe('retries max 0', () => {
  it("passes when the service's cluster counters moved and no retry did", () => {
    const v = judgeRetries(
      expectation,
      context([{ proxy: 'frontend-v1-x', name: 'envoy_cluster_upstream_rq_total', labels: { cluster_name: cluster }, value: 100 }]),
    );
    expect(v.outcome).toBe('pass');
  });

  it('is inconclusive, saying why, when no cluster counter of the service moved at all', () => {
    const v = judgeRetries(expectation, context([]));
    expect(v.outcome).toBe('inconclusive');
    expect(v.explanation).toMatch(/cannot be told apart from counters that are not there.*proxyStatsMatcher/);
  });

  it('fails when the counters show retries', () => {
    const v = judgeRetries(
      expectation,
      context([{ proxy: 'frontend-v1-x', name: 'envoy_cluster_upstream_rq_retry', labels: { cluster_name: cluster }, value: 3 }]),
    );
    expect(v.outcome).toBe('fail');
  });
});
