// One sentence per verdict, asserted verbatim for a few cases: the sentence is what an SRE reads first.
import { describe, expect, it } from 'vitest';
import { allConclusive, judge, judgeAll } from '../../src/assertions/index.ts';
import { detailsOf } from '../../src/assertions/verdict.ts';
import type { CounterSample } from '../../src/observe/types.ts';
import { FakeObservation } from './fake-observation.ts';
import { contextOf, expectation } from './context.ts';

const versions = (counts: Record<string, number>) => FakeObservation.fromCounts(Object.entries(counts).map(([v, n]) => [{ 'reviews.version': v }, n]));
const split = expectation({ kind: 'distribution', of: 'reviews.version', weights: { v1: 80, v3: 20 }, tolerance: 5 });

describe('distribution sentences', () => {
  it('pass', () => {
    const v = judge(split, contextOf(versions({ v1: 1612, v3: 388 })));
    expect(v.outcome).toBe('pass');
    expect(v.explanation).toBe(
      'v3 got 19.4 % (99 % interval 17.2–21.8 %) of 2,000 responses that carried reviews.version; expected 20 ± 5 points (every category within its band).',
    );
    expect(v.expected).toBe('v1 80 ± 5 %, v3 20 ± 5 %');
    expect(v.sampleSize).toBe(2000);
    expect(v.confidence).toBe(0.99);
    expect(v.pValue).toBeCloseTo(0.5023, 4);
    expect((v.observed as Record<string, number>).v3).toBeCloseTo(0.194, 12);
  });

  it('fail', () => {
    const v = judge(split, contextOf(versions({ v1: 1376, v3: 624 })));
    expect(v.outcome).toBe('fail');
    expect(v.explanation).toBe(
      'v1 got 68.8 % (99 % interval 66.1–71.4 %) of 2,000 responses that carried reviews.version; expected 80 ± 5 points, but the whole interval is below 75 %.',
    );
  });

  it('inconclusive, single look and sequential (anytime interval, wider)', () => {
    expect(judge(split, contextOf(versions({ v1: 231, v3: 69 }))).explanation).toBe(
      'v1 got 77.0 % (99 % interval 70.2–83.0 %) of 300 responses that carried reviews.version; expected 80 ± 5 points, but the interval crosses 75 %, so more requests are needed to tell.',
    );
    const sequential = judge(split, contextOf(versions({ v1: 231, v3: 69 }), { sequential: { looks: 3 } }));
    expect(sequential.outcome).toBe('inconclusive');
    expect(sequential.explanation).toBe(
      'v1 got 77.0 % (99 % anytime interval 68.6–85.0 %) of 300 responses that carried reviews.version; expected 80 ± 5 points, but the interval crosses 75 %, so more requests are needed to tell.',
    );
    expect(detailsOf(sequential, 'distribution')?.method).toBe('mixture-confidence-sequence');
  });

  it('counts only the responses that carried the label, and says so', () => {
    // 100 error pages carry no reviews.version: the share is of the 2,000 that do, not of all 2,100
    const observation = new FakeObservation([
      { labels: { 'reviews.version': 'v1' }, count: 1612 },
      { labels: { 'reviews.version': 'v3' }, count: 388 },
      { labels: { status: '503' }, count: 100 },
    ]);
    const v = judge(split, contextOf(observation));
    expect(v.sampleSize).toBe(2000);
    expect(v.explanation).toBe(
      'v3 got 19.4 % (99 % interval 17.2–21.8 %) of 2,000 responses that carried reviews.version; expected 20 ± 5 points (every category within its band).',
    );
  });

  it('a category that was not expected', () => {
    const v = judge(split, contextOf(versions({ v1: 1600, v3: 386, v2: 14 })));
    expect(v.outcome).toBe('fail');
    expect(v.explanation).toBe(
      'v2 appeared in 14 of 2,000 responses that carried reviews.version, 0.7 % (99 % interval 0.3–1.3 %), but it is not among the expected v1, v3.',
    );
  });

  it('three categories use simultaneous intervals', () => {
    const v = judge(
      expectation({ kind: 'distribution', of: 'reviews.version', weights: { v1: 50, v2: 30, v3: 20 }, tolerance: 5 }),
      contextOf(versions({ v1: 1000, v2: 600, v3: 400 })),
    );
    expect(v.explanation).toContain('(99 % simultaneous interval ');
    expect(detailsOf(v, 'distribution')?.comparisons).toBe(3);
  });

  it('nothing labelled', () => {
    const v = judge(split, contextOf(FakeObservation.fromCounts([[{ status: '503' }, 12]])));
    expect(v.outcome).toBe('inconclusive');
    expect(v.explanation).toBe('No response carried the label reviews.version (of 12 recorded responses), so nothing can be said about its distribution.');
  });
});

describe('other kinds', () => {
  it('status, derived from p^(n+1): the computation is shown', () => {
    const e = expectation({ kind: 'status', code: '503', ratio: { approx: 0, tolerance: 0.03, derived: { failing: 0.5, retries: 2 } } });
    const v = judge(
      e,
      contextOf(
        FakeObservation.fromCounts([
          [{ status: '503' }, 258],
          [{ status: '200' }, 1742],
        ]),
      ),
    );
    expect(v.outcome).toBe('pass');
    expect(v.explanation).toBe('12.9 % (99 % interval 11.0–14.9 %) of 2,000 responses were 503; expected 0.5^(2+1) = 12.5 ± 3 points.');
  });

  it('status class with a maximum', () => {
    const e = expectation({ kind: 'status', code: '5xx', ratio: { max: 0.01 } });
    const v = judge(
      e,
      contextOf(
        FakeObservation.fromCounts([
          [{ status: '503' }, 2],
          [{ status: '504' }, 1],
          [{ status: '200' }, 1997],
        ]),
      ),
    );
    // Upper end: Beta(0.995; 4, 1997) ≈ χ²(0.995; 8) / 2 / 2,000 = 10.98 / 2,000 = 0.55 %.
    expect(v.explanation).toBe('0.1 % (99 % interval 0.0–0.5 %) of 2,000 responses were 5xx; expected at most 1 %.');
  });

  it('retries over the bound', () => {
    const e = expectation({ kind: 'retries', service: 'ratings', from: 'reviews-v2', count: { max: 0 } });
    const counters: CounterSample[] = [
      {
        proxy: 'reviews-v2',
        name: 'envoy_cluster_upstream_rq_retry',
        labels: { cluster_name: 'outbound|9080|v1|ratings.default.svc.cluster.local' },
        value: 243,
      },
    ];
    const v = judge(e, contextOf(FakeObservation.fromCounts([[{}, 100]]), { counters }));
    expect(v.outcome).toBe('fail');
    expect(v.explanation).toBe("reviews-v2's sidecars retried ratings 243 times; expected at most 0, but 243 is above 0.");
  });

  it('latency percentile', () => {
    const e = expectation({ kind: 'latency', percentiles: { p99: { below: 500 } } });
    const obs = new FakeObservation([
      { labels: {}, count: 4, latencyMs: 640 },
      { labels: {}, count: 1996, latencyMs: 120 },
    ]);
    const v = judge(e, contextOf(obs));
    expect(v.outcome).toBe('pass');
    expect(v.explanation).toBe(
      'p99 is 120 ms: 0.2 % (99 % interval 0.0–0.6 %) of 2,000 requests took 500 ms or longer; expected p99 below 500 ms (at most 1 %).',
    );
  });

  it('reconcile mismatch', () => {
    const e = expectation({ kind: 'reconcile', proxy: 'istio-ingressgateway' });
    const counters: CounterSample[] = [{ proxy: 'istio-ingressgateway', name: 'istio_requests_total', labels: { reporter: 'source' }, value: 1850 }];
    const v = judge(e, contextOf(FakeObservation.fromCounts([[{ status: '200' }, 2000]]), { counters, inFlightAllowance: 4 }));
    expect(v.outcome).toBe('fail');
    expect(v.explanation).toBe(
      'Mismatch: the client recorded 2,000 responses but istio-ingressgateway counted 1,850 requests (difference -150, more than the 4 in flight allowed), so the observation cannot be trusted.',
    );
  });
});

describe('judgeAll and allConclusive', () => {
  it('judges every expectation in order and tells when none is inconclusive', () => {
    const ctx = contextOf(versions({ v1: 1612, v3: 388 }));
    const verdicts = judgeAll([split, expectation({ kind: 'status', code: '5xx', ratio: { max: 0.01 } })], ctx);
    expect(verdicts.map((v) => v.kind)).toEqual(['distribution', 'status']);
    expect(allConclusive(verdicts)).toBe(true);
    expect(allConclusive([...verdicts, judge(split, contextOf(versions({ v1: 8, v3: 2 })))])).toBe(false);
    expect(allConclusive([])).toBe(true);
  });
});
