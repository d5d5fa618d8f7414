// Numbers that must not contradict each other (issue: the user's journey, item 4): a verdict says its population when
// a `where` narrows it, a latency chart shows the population of the verdict beside it, the live rate of bursty arrivals
// is not "0 req/s" between bursts, and the denied sentence does not pass the mesh's whole-load count off as the client's.
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/assertions/index.ts';
import { renderHtml } from '../../src/report/html.ts';
import { TerminalReporter } from '../../src/report/index.ts';
import type { ExperimentResult } from '../../src/runner/result.ts';
import { FakeObservation } from '../assertions/fake-observation.ts';
import { contextOf, expectation } from '../assertions/context.ts';
import { buildPassingRun } from './fixtures.ts';

const byRequest = FakeObservation.fromRequests([
  ...Array.from({ length: 200 }, () => ({ labels: { request: 'jason', status: '200', denied: '-' }, latencyMs: 6013 })),
  ...Array.from({ length: 31 }, () => ({ labels: { request: 'anonymous', status: '200', denied: '-' }, latencyMs: 129 })),
]);

describe('a verdict says its population', () => {
  it('status, distribution and latency sentences name the where filter', () => {
    const status = judge(expectation({ kind: 'status', code: '200', ratio: { min: 0.9 }, where: { request: 'jason' } }), contextOf(byRequest));
    expect(status.explanation).toContain('of 200 responses with request=jason were 200');
    const latency = judge(expectation({ kind: 'latency', percentiles: { p50: { below: 3000 } }, where: { request: 'anonymous' } }), contextOf(byRequest));
    expect(latency.explanation).toContain('of 31 requests with request=anonymous took 3 s or longer');
    expect((latency.details as { percentilesMs: { p50: number } }).percentilesMs.p50).toBeLessThan(200);
  });

  it("denied: the RBAC filters' count is said to be the whole load's, apart from the client's population", () => {
    const counters = [{ proxy: 'ratings-v1', name: 'envoy_http_rbac_denied', labels: {}, value: 57 }];
    const v = judge(expectation({ kind: 'denied', ratio: { max: 0.01 }, where: { request: 'jason' } }), contextOf(byRequest, { counters }));
    expect(v.explanation).toMatch(
      /of 200 responses with request=jason were RBAC denials \(403 RBAC: access denied\); expected at most 1 %.*; over the whole load, the RBAC filters counted \d+ denials in the mesh\.$/,
    );
  });
});

describe('a latency chart shows the population of its verdict', () => {
  it('a latency expectation with where gets a chart of its own population and limits; the all-requests chart leaves its limits out', async () => {
    const run = buildPassingRun();
    const template = run.experiments[0]!;
    const e = expectation({ kind: 'latency', percentiles: { p50: { below: 3000 } }, where: { request: 'anonymous' } });
    const verdict = judge(e, contextOf(byRequest));
    const experiment: ExperimentResult = { ...template, expectations: [e], verdicts: [{ ...verdict, expectationIndex: 0 }], outcome: 'pass' };
    const page = await renderHtml({ ...run, experiments: [experiment] });
    const latencyFigures = page.split('data-chart="latency"').slice(1);
    expect(latencyFigures).toHaveLength(2);
    expect(latencyFigures[0]).toContain('of every recorded request; ticks mark the limits of latency expectations about all requests');
    expect(latencyFigures[1]).toContain('of the requests with request=anonymous (the population of “latency check”); ticks mark its limits');
  });
});

describe('the live load rate', () => {
  it('bursts once a second at 100 req/s read as about 100 req/s, never 0 between bursts', () => {
    const stream = {
      text: '',
      isTTY: false,
      write(s: string) {
        this.text += s;
      },
    };
    const reporter = new TerminalReporter({ stream, stdout: { write: () => true }, env: { NO_COLOR: '1' }, live: false, now: () => 0 });
    const experiment = { name: 'burst', sweep: undefined } as never;
    reporter.onExperimentStart(experiment, 0, 1);
    reporter.onPhase(experiment, 'load', 'start');
    const rates: number[] = [];
    for (let t = 250; t <= 6000; t += 250) {
      const sent = 100 * Math.ceil(t / 1000); // autocannon releases each second's budget at its start
      reporter.onLoadProgress(experiment, { elapsedMs: t, sent, answered: sent, errored: 0, byStatus: { '200': sent } });
      rates.push((reporter as unknown as { current: { rate: number } }).current.rate);
    }
    for (const rate of rates.slice(8)) {
      expect(rate).toBeGreaterThan(50);
      expect(rate).toBeLessThan(200);
    }
  });
});
