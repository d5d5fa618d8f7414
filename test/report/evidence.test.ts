// Reporters render a verdict from its evidence and never re-derive it from the expectation (issue 17 item 3): each
// test gives a verdict evidence that disagrees with what its expectation would give, and finds the evidence rendered.
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/report/html.ts';
import { renderJunit } from '../../src/report/junit.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { renderRunSummary } from '../../src/report/run-summary.ts';
import { distributionChart, latencyCharts } from '../../src/report/charts/specs.ts';
import { detailsOf } from '../../src/assertions/verdict.ts';
import type { ExperimentResult, JudgedVerdict } from '../../src/runner/result.ts';
import { judge } from '../../src/assertions/index.ts';
import type { StatusExpectation } from '../../src/spec/types.ts';
import { FakeObservation } from '../assertions/fake-observation.ts';
import { contextOf, expectation } from '../assertions/context.ts';
import { localRateLimitFilter } from '../support/ratelimit-filter.ts';
import { buildRunResult } from './fixtures.ts';

function experimentNamed(name: string) {
  const run = buildRunResult();
  const experiment = run.experiments.find((e) => e.name === name)!;
  return { run, experiment };
}

/** The values of a chart's layer that holds `field`. */
function layerValues(spec: unknown, field: string): Record<string, unknown>[] {
  const layers = (spec as { layer: { data?: { values: Record<string, unknown>[] } }[] }).layer;
  return layers.flatMap((l) => l.data?.values ?? []).filter((row) => field in row);
}

describe('reporters render the unit the evidence says', () => {
  // ratings-no-retries' "status 503" verdict: observed 0.114, a share by its kind; its evidence says count.
  const { run, experiment } = experimentNamed('ratings-no-retries');
  const verdict = experiment.verdicts[1]!;
  verdict.evidence = { ...verdict.evidence, unit: 'count' };
  verdict.explanation = 'Too many 503s.';

  it('HTML, JUnit, Markdown and the terminal summary show 0.114, not 11.4 %', async () => {
    const page = await renderHtml(run);
    const card = page.slice(page.indexOf(verdict.explanation), page.indexOf('</dl>', page.indexOf(verdict.explanation)));
    expect(card).toContain('<dd>0.114</dd>');
    expect(card).toContain('<dd>[0.082, 0.153]</dd>');
    expect(renderJunit(run)).toContain('observed: 0.114\nexpected: ≤ 5 %\ninterval: [0.082, 0.153]');
    expect(renderMarkdown(run)).toContain('observed 0.114, expected ≤ 5 %, interval \\[0.082, 0.153\\]');
    expect(renderRunSummary(run, 100)).toMatch(/\(observed\s+0\.114, expected ≤ 5 %\)/);
    for (const text of [card, renderJunit(run), renderMarkdown(run), renderRunSummary(run, 100)]) expect(text).not.toContain('11.4 %');
  });
});

describe('charts draw the band the evidence says', () => {
  it("distribution: the evidence's expected share and band, not the weights (v1 80 ± 5 %)", () => {
    const { experiment } = experimentNamed('reviews-shift-80-20');
    const verdict = experiment.verdicts[0]!;
    verdict.evidence = { ...verdict.evidence, expected: { v1: { value: 0.7, min: 0.6, max: 0.8 }, v3: { value: 0.3, min: 0.2, max: 0.4 } } };
    const rows = (distributionChart(verdict) as unknown as { data: { values: Record<string, unknown>[] } }).data.values;
    expect(rows.find((r) => r.category === 'v1')).toMatchObject({ expected: 0.7, emin: 0.6, emax: 0.8 });
    expect(rows.find((r) => r.category === 'v3')).toMatchObject({ expected: 0.3, emin: 0.2, emax: 0.4 });
  });

  it("latency: the limits in the verdict's details and the population in its evidence, not the expectation's", () => {
    const { experiment } = experimentNamed('reviews-shift-80-20');
    const verdict = experiment.verdicts[2]! as JudgedVerdict;
    const details = detailsOf(verdict, 'latency')!;
    details.limits = [{ percentile: 'p90', direction: 'above', thresholdMs: 20 }];
    // The expectation (p99 below 500, p50 below 50, no where) says otherwise.
    let [all] = latencyCharts(experiment);
    expect(layerValues(all!.spec, 'limit')).toEqual([{ percentile: 'p90', ms: 20, limit: 'must stay above' }]);

    verdict.evidence = { ...verdict.evidence, population: { ...verdict.evidence.population, where: { 'reviews.version': 'v3' } } };
    const charts = latencyCharts(experiment as ExperimentResult);
    [all] = charts;
    expect(layerValues(all!.spec, 'limit')).toEqual([]);
    expect(charts[1]).toMatchObject({ population: { 'reviews.version': 'v3' }, title: 'latency' });
    expect(layerValues(charts[1]!.spec, 'limit')).toEqual([{ percentile: 'p90', ms: 20, limit: 'must stay above' }]);
  });
});

// Bands that version 1 re-derived wrongly from the expectation, and that the judges' evidence now gives right. The
// catalogue's sweeps (experiments/bookinfo/40-*, 41-*) have none of these: their charts are unchanged.
describe('expected bands that changed, because version 1 re-derived them wrongly', () => {
  const observation = FakeObservation.fromCounts([
    [{ status: '503' }, 30],
    [{ status: '200' }, 970],
  ]);
  const status = (ratio: StatusExpectation['ratio']) => judge(expectation({ kind: 'status', code: '503', ratio }), contextOf(observation));

  it("a share band stops at 0 % as the judge's does (version 1 drew 2 ± 5 points from −3 %)", () => {
    expect(status({ approx: 0.02 }).evidence.expected).toEqual({ '': { value: 0.02, min: 0, max: 0.02 + 0.05 } });
  });

  it('min and max narrow an approx band as they narrowed the judgement (version 1 drew 50 ± 10 points, min 45 %, from 40 %)', () => {
    expect(status({ approx: 0.5, tolerance: 0.1, min: 0.45 }).evidence.expected).toEqual({ '': { value: 0.5, min: 0.45, max: 0.5 + 0.1 } });
  });

  it("reconcile verdicts carry the mesh counts that agree with the client's (version 1 gave their sweep curves none)", () => {
    const counters = [{ proxy: 'istio-ingressgateway-x', name: 'istio_requests_total', labels: { reporter: 'source' }, value: 1000 }];
    const v = judge(expectation({ kind: 'reconcile', proxy: 'istio-ingressgateway', slack: 3 }), contextOf(observation, { counters }));
    expect(v.evidence).toEqual({ unit: 'count', expected: { mesh: { min: 997, max: 1003 } }, population: { source: 'client', of: 'responses' } });
  });

  it('rateLimited verdicts carry the allowed 429 counts, their interval (version 1 gave their sweep curves none)', () => {
    const filter = localRateLimitFilter({ app: 'productpage', name: 'bucket', namespace: 'istio-system', maxTokens: 4, tokensPerFill: 4, fillInterval: '10s' });
    // 10 requests in the first second: 4 allowed, 6 limited.
    const sent = FakeObservation.fromRequests(
      Array.from({ length: 10 }, (_, i) => ({ sentAtMs: i * 100, labels: i < 4 ? { status: '200', flag: '-' } : { status: '429', flag: 'RL' } })),
    );
    const v = judge(
      expectation({ kind: 'rateLimited', slack: 0 }),
      contextOf(sent, { apply: [{ object: filter, source: { file: 'f.yaml', line: 1, col: 1 }, origin: 'inline' }] }),
    );
    expect(v.interval).toEqual([expect.any(Number), expect.any(Number)]);
    const [lowest, highest] = v.interval as [number, number];
    expect(v.evidence).toEqual({ unit: 'count', expected: { '': { min: lowest, max: highest } }, population: { source: 'client', of: 'requests' } });
    expect(lowest).toBeLessThanOrEqual(6);
    expect(highest).toBeGreaterThanOrEqual(6);
  });

  it('latency verdicts carry the band of each check (version 1 gave their sweep curves none)', () => {
    const v = judge(expectation({ kind: 'latency', percentiles: { p99: { below: 500 }, max: { below: 900 } } }), contextOf(observation));
    expect(v.evidence).toEqual({
      unit: 'share',
      expected: { 'p99 below 500': { max: 1 - 0.99 }, 'max below 900': { max: 0 } },
      population: { source: 'client', of: 'requests' },
    });
  });
});
