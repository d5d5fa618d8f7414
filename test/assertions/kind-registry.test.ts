// The registry of expectation kinds (src/assertions/kinds.ts): a kind is its handler and one registry line. This test
// adds a kind of its own (the share of responses answered 200) and runs it through parse → judge → sequential
// capability → report, touching nothing else: the report renders the verdict from its evidence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bound, Expectation } from '../../src/spec/types.ts';
import { Normaliser, normaliseExpectation, type RawExpectationItem } from '../../src/spec/normalise.ts';
import { parseYamlDocuments } from '../../src/spec/yaml-source.ts';
import { judge } from '../../src/assertions/index.ts';
import { kinds, registerKind } from '../../src/assertions/kinds.ts';
import { clientPopulation, scalarBand, type KindHandler, type KindRegistry } from '../../src/assertions/kind.ts';
import type { RawCommon, RawShareBound } from '../../src/spec/expectation-input.ts';
import { DEFAULT_SHARE_TOLERANCE, judgeShare, shareBand, shareOptions, shareText } from '../../src/assertions/share.ts';
import { bandOf } from '../../src/assertions/stats/band.ts';
import { STATUS_LABEL } from '../../src/assertions/labels.ts';
import { judgedFromClient } from '../../src/runner/sequential-stop.ts';
import { renderJunit } from '../../src/report/junit.ts';
import { buildPassingRun } from '../report/fixtures.ts';
import { contextOf } from './context.ts';
import { FakeObservation } from './fake-observation.ts';

interface OkShareExpectation {
  kind: 'okShare';
  title: string;
  source: Expectation['source'];
  confidence: number;
  ratio: Bound;
}

const okShareKind: KindHandler<OkShareExpectation, RawCommon & { ratio: RawShareBound }> = {
  parse: ({ n, raw, path, common }) => ({
    kind: 'okShare',
    ...common,
    title: raw.title ?? 'share answered 200',
    ratio: n.shareBound(raw.ratio, [...path, 'ratio']),
  }),
  judge(e, context) {
    const trials = context.observation.count();
    const ok = context.observation.count({ [STATUS_LABEL]: '200' });
    const band = bandOf(e.ratio, DEFAULT_SHARE_TOLERANCE);
    const j = judgeShare(ok, trials, band, shareOptions(e.confidence, context));
    return {
      kind: 'okShare' as Expectation['kind'],
      title: e.title,
      outcome: j.outcome,
      observed: j.share,
      expected: 'at least 90 %',
      interval: j.interval,
      confidence: e.confidence,
      sampleSize: trials,
      explanation: `${shareText(j)} answered 200.`,
      evidence: { unit: 'share', expected: scalarBand(shareBand(band)), population: clientPopulation('responses', undefined) },
      source: e.source,
    };
  },
  judgedFromClient: () => true,
};

function parse(yaml: string): Expectation {
  const [doc] = parseYamlDocuments(yaml, 'experiments/ok-share.yaml');
  const item = (doc!.value as { spec: { expect: RawExpectationItem[] } }).spec.expect[0]!;
  return normaliseExpectation(new Normaliser(doc!), item, 0);
}

describe('a kind added through the registry', () => {
  let unregister: () => void;
  beforeAll(() => {
    unregister = registerKind('okShare', okShareKind);
  });
  afterAll(() => unregister());

  it('is parsed, judged, looked at while load runs, and reported, from its handler alone', () => {
    const e = parse('spec:\n  expect:\n    - okShare: { ratio: { min: 0.9 } }\n');
    expect(e).toMatchObject({ kind: 'okShare', title: 'share answered 200', confidence: 0.99, ratio: { min: 0.9 }, source: { line: 3 } });

    const observation = FakeObservation.fromCounts([
      [{ [STATUS_LABEL]: '200' }, 980],
      [{ [STATUS_LABEL]: '503' }, 20],
    ]);
    const verdict = judge(e, contextOf(observation));
    expect(verdict).toMatchObject({ kind: 'okShare', outcome: 'pass', observed: 0.98, sampleSize: 1000 });
    expect(judgedFromClient(e)).toBe(true);

    expect(verdict.evidence).toEqual({ unit: 'share', expected: { '': { min: 0.9 } }, population: { source: 'client', of: 'responses' } });
    const run = buildPassingRun();
    run.experiments[0]!.expectations = [e];
    run.experiments[0]!.verdicts = [{ ...verdict, expectationIndex: 0 }];
    const junit = renderJunit(run);
    expect(junit).toContain('share answered 200');
    expect(junit).toContain('98 %');
  });

  it('refuses a second handler for a kind that has one', () => {
    expect(() => registerKind('status', okShareKind as unknown as KindHandler<{ kind: 'status' }>)).toThrow(/already registered/);
  });

  it('an unknown kind in an experiment is bad input at its key', () => {
    expect(() => parse('spec:\n  expect:\n    - nosuchKind: {}\n')).toThrow(/unknown expectation kind "nosuchKind"/);
  });
});

// The registry's type: leaving a kind without its handler does not compile.
// @ts-expect-error — 'counter' has no handler
export const incomplete: KindRegistry = { ...kinds, counter: undefined };
