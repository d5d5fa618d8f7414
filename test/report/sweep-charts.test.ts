import { describe, expect, it } from 'vitest';
import { sweepCharts } from '../../src/report/charts/specs.ts';
import { sweepGroups } from '../../src/report/base.ts';
import { renderHtml } from '../../src/report/html.ts';
import { loadExperimentFile } from '../../src/spec/load.ts';
import { judgeStatus } from '../../src/assertions/status.ts';
import type { StatusExpectation } from '../../src/spec/types.ts';
import type { ExperimentResult } from '../../src/runner/result.ts';
import { FakeObservation } from '../assertions/fake-observation.ts';
import { contextOf } from '../assertions/context.ts';
import { buildRunResult } from './fixtures.ts';
import { must } from '../../src/must.ts';

describe('sweep charts', () => {
  it('plot the i-th expectation of every point together even when its title names the swept value', () => {
    const result = buildRunResult();
    // as experiments/bookinfo/40-sweep-abort-percent does: the title carries ${matrix.abortPercent}
    for (const e of result.experiments) {
      if (!e.sweep) continue;
      e.verdicts = e.verdicts.map((v) => ({ ...v, title: `share of 500 ≈ ${e.sweep!.params.percent} %` }));
    }
    const group = sweepGroups(result).find((g) => g.points.length === 5)!;
    const charts = sweepCharts(group);
    expect(charts).toHaveLength(1);
    expect(charts[0]?.title).toBe('status (expectation 1)');
    const rows = (must(charts[0], 'charts[0]').spec as { data: { values: { x: number }[] } }).data.values;
    expect(rows.map((r) => r.x)).toEqual([10, 20, 30, 40, 50]);
  });
});

describe("sweep charts ring the points that did not pass (issue: the user's journey, item 8)", () => {
  it('a failing point gets a red ring and the caption says so; an all-pass sweep has none', async () => {
    const result = buildRunResult();
    const group = sweepGroups(result).find((g) => g.points.length === 5)!;
    const failing = group.points.filter((p) => p.verdicts.some((v) => v.outcome === 'fail'));
    expect(failing.length).toBeGreaterThan(0);
    const [chart] = sweepCharts(group);
    expect(chart!.rings).toContain('fail');
    const page = await renderHtml(result);
    const figure = page.slice(page.indexOf('data-chart="sweep"'), page.indexOf('</figure>', page.indexOf('data-chart="sweep"')));
    expect(figure).toContain('red ring = that point failed');
    // One red ring per failing point (the ring layer's marks carry its stroke colour).
    expect(figure.match(/stroke="#cf222e"/g)?.length).toBe(failing.length);
    for (const p of group.points) p.verdicts = p.verdicts.map((v) => ({ ...v, outcome: 'pass' }));
    expect(sweepCharts(group)[0]!.rings).toEqual([]);
  });
});

describe('sweep charts of a derived ratio (experiments/bookinfo/41-sweep-retry-attempts.yaml)', () => {
  // The catalogue's retry sweep: status 503 ≈ 0.5^(attempts+1) ± 7 points, judged by the real status judge.
  const points = loadExperimentFile('experiments/bookinfo/41-sweep-retry-attempts.yaml');
  const template = buildRunResult().experiments.find((e) => e.sweep)!;
  const results: ExperimentResult[] = points.map((point, i) => {
    const expectations = point.expect;
    const share = 0.5 ** (i + 1);
    const failed = Math.round(1300 * share);
    const observation = FakeObservation.fromCounts([
      [{ status: '503' }, failed],
      [{ status: '200' }, 1300 - failed],
    ]);
    const expectation = must(expectations[0], `the expectation of ${point.name}`);
    const verdict = judgeStatus(expectation as StatusExpectation, contextOf(observation));
    return { ...template, name: point.name, sweep: point.sweep, expectations: [expectation], verdicts: [{ ...verdict, expectationIndex: 0 }] };
  });
  const run = { ...buildRunResult(), experiments: results };

  it('carry the derived share as the dashed expected line and share ∓ tolerance (clipped to [0, 1]) as the band', () => {
    const group = sweepGroups(run).find((g) => g.baseName === 'sweep-retry-attempts')!;
    expect(group.points).toHaveLength(4);
    const chart = must(sweepCharts(group)[0], 'the chart of the sweep');
    const rows = (chart.spec as { data: { values: { x: number; expected: number; emin: number; emax: number }[] } }).data.values;
    expect(rows.map((r) => r.x)).toEqual([0, 1, 2, 3]);
    expect(rows.map((r) => r.expected)).toEqual([0.5, 0.25, 0.125, 0.0625]);
    expect(rows[3]?.emin).toBe(0);
    for (const r of rows) {
      expect(r.emin).toBeCloseTo(Math.max(0, r.expected - 0.07), 12);
      expect(r.emax).toBeCloseTo(r.expected + 0.07, 12);
    }
  });

  it('the rendered sweep chart draws the expected line dashed and the band shaded', async () => {
    const page = await renderHtml(run);
    const figure = page.slice(page.indexOf('data-chart="sweep"'), page.indexOf('</figure>', page.indexOf('data-chart="sweep"')));
    const dashed = figure.match(/<path aria-label="attempts: 0; expected: 0\.5"[^>]*\sd="([^"]*)"[^>]*stroke-dasharray="6,4"/);
    expect(dashed?.[1]?.match(/[ML]/g)).toHaveLength(4);
    const band = figure.match(/<path aria-label="attempts: 0; emin: 0\.43; emax: 0\.57"[^>]*\sd="([^"]*)"[^>]*opacity="0\.3"/);
    expect(band?.[1]?.match(/[ML]/g)).toHaveLength(8);
  });

  it("the judge puts the derived share and its band in the verdict's evidence", () => {
    const { expected } = results[1]!.verdicts[0]!.evidence;
    expect(expected['']!.value).toBe(0.25);
    expect(expected['']!.min).toBeCloseTo(0.18, 12);
    expect(expected['']!.max).toBeCloseTo(0.32, 12);
  });

  it('draw the expected line and band the evidence says, not what the expectation would give (0.25 ∓ 0.07)', () => {
    const points = results.map((r, i) =>
      i === 1
        ? { ...r, verdicts: [{ ...r.verdicts[0]!, evidence: { ...r.verdicts[0]!.evidence, expected: { '': { value: 0.3, min: 0.23, max: 0.37 } } } }] }
        : r,
    );
    const group = sweepGroups({ ...run, experiments: points }).find((g) => g.baseName === 'sweep-retry-attempts')!;
    const rows = (sweepCharts(group)[0]!.spec as { data: { values: { expected: number; emin: number; emax: number }[] } }).data.values;
    expect(rows[1]).toMatchObject({ expected: 0.3, emin: 0.23, emax: 0.37 });
  });
});
