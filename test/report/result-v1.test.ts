// Reading result.json of schema version 1 (src/report/result-v1.ts). test/fixtures/report/result-v1.json is what
// meshproof wrote for test/report/fixtures.ts's run before version 2 (the same run, before verdicts carried evidence).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseResultJson, readResultJson } from '../../src/report/json.ts';
import { renderHtml } from '../../src/report/html.ts';
import { renderJunit } from '../../src/report/junit.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { renderRunSummary } from '../../src/report/run-summary.ts';
import { detailsOf } from '../../src/assertions/verdict.ts';
import { SpecErrors } from '../../src/errors.ts';
import { buildRunResult } from './fixtures.ts';

const v1File = fileURLToPath(new URL('../fixtures/report/result-v1.json', import.meta.url));
const v1Text = readFileSync(v1File, 'utf8');

describe('a result.json of schema version 1', () => {
  it('is read as version 2: each verdict paired with its expectation, with the evidence version 1 derived when rendering', async () => {
    const result = await readResultJson(v1File);
    expect(result.schemaVersion).toBe(2);
    const shift = result.experiments.find((e) => e.name === 'reviews-shift-80-20')!;
    expect(shift.verdicts.map((v) => v.expectationIndex)).toEqual([0, 1, 2]);
    // distribution: the weights' bands, within [0, 1]; status: its min; latency: a share (version 1 drew no band)
    expect(shift.verdicts[0]!.evidence).toEqual({
      unit: 'share',
      expected: { v1: { value: 0.8, min: 0.8 - 0.05, max: 0.8 + 0.05 }, v3: { value: 0.2, min: 0.2 - 0.05, max: 0.2 + 0.05 } },
      population: { source: 'client', of: 'responses that carried reviews.version' },
    });
    expect(shift.verdicts[1]!.evidence.expected).toEqual({ '': { min: 0.99, max: undefined } });
    expect(shift.verdicts[2]!.evidence).toMatchObject({ unit: 'share', expected: {} });
    // the latency chart's limits, which version 1 took from the expectation's percentiles
    expect(detailsOf(shift.verdicts[2]!, 'latency')?.limits).toEqual([
      { percentile: 'p99', direction: 'below', thresholdMs: 500 },
      { percentile: 'p50', direction: 'below', thresholdMs: 50 },
    ]);
    const retries = result.experiments.find((e) => e.name === 'ratings-no-retries')!;
    expect(retries.verdicts[0]!.evidence).toEqual({
      unit: 'count',
      expected: { '': { min: undefined, max: 0 } },
      population: { source: 'mesh', of: 'responses of the load the counters were read around' },
    });
  });

  it('renders exactly as the same run of version 2 does (which renders as version 1 did)', async () => {
    const v1 = await readResultJson(v1File);
    const v2 = JSON.parse(JSON.stringify(buildRunResult())) as typeof v1;
    expect((await renderHtml(v1)) === (await renderHtml(v2))).toBe(true);
    expect(renderJunit(v1)).toBe(renderJunit(v2));
    expect(renderMarkdown(v1)).toBe(renderMarkdown(v2));
    expect(renderRunSummary(v1, 100)).toBe(renderRunSummary(v2, 100));
  });

  it('a version-1 derived ratio keeps the share its judge recorded in details', () => {
    const json = JSON.parse(v1Text) as { experiments: { name: string; expectations: Record<string, unknown>[]; verdicts: Record<string, unknown>[] }[] };
    const point = json.experiments.find((e) => e.name === 'ratings-abort-sweep[percent=10]')!;
    point.expectations[0]!.ratio = { tolerance: 0.07, derived: { failing: 0.5, retries: 1 } };
    point.verdicts[0]!.details = { derived: { failing: 0.5, retries: 1, share: 0.3 } };
    const read = parseResultJson(JSON.stringify(json), 'result.json').experiments.find((e) => e.name === point.name)!;
    const band = read.verdicts[0]!.evidence.expected['']!;
    expect(band.value).toBe(0.3);
    expect(band.min).toBeCloseTo(0.23, 12);
    expect(band.max).toBeCloseTo(0.37, 12);
  });

  it('is checked against the version-1 schema: a broken field is bad input at its line', () => {
    const broken = v1Text.replace('"explanation": "All ', '"explanations": "All ');
    let error: unknown;
    try {
      parseResultJson(broken, 'old/result.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecErrors);
    expect(String((error as Error).message)).toMatch(/old\/result\.json:\d+:\d+: experiments\[0\]\.verdicts\[1\]/);
  });

  it('a verdict of a kind no expectation has is bad input naming it', () => {
    const json = JSON.parse(v1Text) as { experiments: { verdicts: Record<string, unknown>[] }[] };
    json.experiments[0]!.verdicts[0]!.kind = 'counter';
    const text = JSON.stringify(json, null, 2);
    // the line of the first verdict's opening brace
    const line = text.split('\n').findIndex((l) => l.includes('"verdicts": [')) + 2;
    expect(() => parseResultJson(text, 'old/result.json')).toThrow(
      expect.objectContaining({
        path: 'experiments[0].verdicts[0]',
        source: expect.objectContaining({ file: 'old/result.json', line }),
        message: expect.stringMatching(/judged none of the experiment's expectations/),
      }),
    );
  });

  it('an unknown version is refused, naming the versions read', () => {
    expect(() => parseResultJson(v1Text.replace('"schemaVersion": 1', '"schemaVersion": 3'), 'new/result.json')).toThrow(
      /not a meshproof result\.json of schema version 1 or 2 \(found schemaVersion 3\)/,
    );
  });
});
