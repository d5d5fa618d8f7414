import { describe, expect, it } from 'vitest';
import { sweepCharts } from '../../src/report/charts/specs.ts';
import { sweepGroups } from '../../src/report/base.ts';
import { buildRunResult } from './fixtures.ts';

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
    expect(charts[0].title).toBe('status (expectation 1)');
    const rows = (charts[0].spec as { data: { values: { x: number }[] } }).data.values;
    expect(rows.map((r) => r.x)).toEqual([10, 20, 30, 40, 50]);
  });
});
