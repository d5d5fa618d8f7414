// Reading result.json of schema version 1 (schema/result-v1.schema.json): its verdicts carry no evidence and do not
// name their expectation, so both are recovered here, once, the way the version-1 reports recovered them when
// rendering. The set of kinds is closed (those version 1 knew), so this module never grows with new kinds.
import type { Bound, Expectation, SourcePos } from '../spec/types.ts';
import type { PathSegment } from '../spec/yaml-source.ts';
import type { Evidence, ExpectedBand, Population, ValueUnit, Verdict, VerdictDetails } from '../assertions/verdict.ts';
import type { ExperimentResult, JudgedVerdict, RunResult } from '../runner/result.ts';
import { RESULT_SCHEMA_VERSION } from '../runner/result.ts';
import { SpecError } from '../errors.ts';
import type { LatencyLimit } from '../assertions/latency.ts';
import { bandOf } from '../assertions/stats/band.ts';
import { DEFAULT_SHARE_TOLERANCE } from '../assertions/share.ts';

/** A version-1 verdict: no evidence, no expectation index, untyped details. */
export type VerdictV1 = Omit<Verdict, 'evidence' | 'details'> & { details?: Record<string, unknown> };
export type ExperimentResultV1 = Omit<ExperimentResult, 'verdicts'> & { verdicts: VerdictV1[] };
export type RunResultV1 = Omit<RunResult, 'schemaVersion' | 'experiments'> & { schemaVersion: 1; experiments: ExperimentResultV1[] };

/** The version-2 form of a schema-valid version-1 result; `locate` places a field of the file for errors. */
export function upgradeV1(result: RunResultV1, locate: (path: PathSegment[]) => SourcePos): RunResult {
  return {
    ...result,
    schemaVersion: RESULT_SCHEMA_VERSION,
    experiments: result.experiments.map((experiment, e) => ({
      ...experiment,
      verdicts: experiment.verdicts.map((verdict, v): JudgedVerdict => {
        const [expectationIndex, expectation] = paired(experiment, verdict, v) ?? [];
        if (expectationIndex === undefined || expectation === undefined) {
          throw new SpecError(
            `verdict "${verdict.title}" (${verdict.kind}) judged none of the experiment's expectations: no expectation of that kind at its position or with its title`,
            locate(['experiments', e, 'verdicts', v]),
            `experiments[${e}].verdicts[${v}]`,
          );
        }
        const { details, ...rest } = verdict;
        const upgraded = detailsV1(details, expectation);
        return { ...rest, evidence: evidenceV1(verdict, expectation), ...(upgraded ? { details: upgraded } : {}), expectationIndex };
      }),
    })),
  };
}

/**
 * Version-1 details as written (the same shapes, untyped then), with what version 2 added that charts read: a latency
 * verdict's limits, which the version-1 report took from the expectation's percentiles.
 */
function detailsV1(details: Record<string, unknown> | undefined, e: Expectation): VerdictDetails | undefined {
  if (e.kind !== 'latency') return details as unknown as VerdictDetails | undefined;
  const limits: LatencyLimit[] = Object.entries(e.percentiles).flatMap(([percentile, bound]) => [
    ...(bound.below !== undefined ? [{ percentile, direction: 'below' as const, thresholdMs: bound.below }] : []),
    ...(bound.above !== undefined ? [{ percentile, direction: 'above' as const, thresholdMs: bound.above }] : []),
  ]);
  return { percentilesMs: {}, ...details, limits } as unknown as VerdictDetails;
}

/**
 * The expectation a version-1 verdict judged: runners judged expectations in order, so the same index with the same
 * kind; otherwise the first expectation with the same kind and title.
 */
function paired(experiment: ExperimentResultV1, verdict: VerdictV1, verdictIndex: number): [number, Expectation] | undefined {
  const atSamePosition = experiment.expectations[verdictIndex];
  if (atSamePosition?.kind === verdict.kind) return [verdictIndex, atSamePosition];
  const found = experiment.expectations.findIndex((e) => e.kind === verdict.kind && e.title === verdict.title);
  const expectation = experiment.expectations[found];
  return expectation ? [found, expectation] : undefined;
}

/** The evidence the version-1 reports derived: the unit and expected numbers from the expectation. */
export function evidenceV1(verdict: VerdictV1, expectation: Expectation): Evidence {
  return { unit: unitV1(verdict, expectation), expected: expectedV1(verdict, expectation), population: populationV1(verdict, expectation) };
}

function unitV1(verdict: VerdictV1, e: Expectation): ValueUnit {
  const declared = verdict.details?.unit;
  if (declared === 'share' || declared === 'count' || declared === 'ms') return declared;
  switch (e.kind) {
    case 'distribution':
    case 'status':
    case 'denied':
    case 'latency':
    case 'sticky': // no version-1 file has one (the kind came later)
      return 'share';
    case 'flags':
      return e.ratio ? 'share' : 'count';
    case 'retries':
    case 'rateLimited':
    case 'reconcile':
    case 'counter':
      return 'count';
  }
}

function expectedV1(verdict: VerdictV1, e: Expectation): Record<string, ExpectedBand> {
  const declared = verdict.details?.expectedValue;
  if (typeof declared === 'number') return { '': { value: declared } };
  const scalar = (band: ExpectedBand | undefined): Record<string, ExpectedBand> => (band ? { '': band } : {});
  switch (e.kind) {
    case 'distribution': {
      const total = Object.values(e.weights).reduce((a, b) => a + b, 0);
      if (total <= 0) return {};
      const tolerance = e.tolerance / 100;
      return Object.fromEntries(
        Object.entries(e.weights).map(([category, weight]) => {
          const share = weight / total;
          return [category, { value: share, min: Math.max(0, share - tolerance), max: Math.min(1, share + tolerance) }];
        }),
      );
    }
    case 'status':
      return scalar(e.ratio.derived ? derivedBand(verdict, e.ratio, e.ratio.derived) : boundBand(e.ratio));
    case 'denied':
    case 'sticky':
      return scalar(boundBand(e.ratio));
    case 'flags':
      return scalar(boundBand(e.ratio ?? e.count));
    case 'retries':
    case 'counter':
      return scalar(boundBand(e.count));
    case 'latency':
    case 'rateLimited':
    case 'reconcile':
      return {};
  }
}

/** Version 1's chart numbers of a bound: approx ± tolerance, else min / max. */
function boundBand(bound: Bound | undefined): ExpectedBand | undefined {
  if (!bound) return undefined;
  if (bound.approx !== undefined) {
    const t = bound.tolerance;
    return t === undefined ? { value: bound.approx } : { value: bound.approx, min: bound.approx - t, max: bound.approx + t };
  }
  if (bound.min === undefined && bound.max === undefined) return undefined;
  return { min: bound.min, max: bound.max };
}

/** A derived share failing^(retries+1) (the verdict's when it recorded one) ∓ tolerance, narrowed and within [0, 1]. */
function derivedBand(verdict: VerdictV1, ratio: Bound, derived: { failing: number; retries: number }): ExpectedBand {
  const judged = (verdict.details?.derived as { share?: unknown } | undefined)?.share;
  const share = typeof judged === 'number' && Number.isFinite(judged) ? judged : derived.failing ** (derived.retries + 1);
  const band = bandOf({ ...ratio, approx: share }, DEFAULT_SHARE_TOLERANCE);
  return { value: share, min: Math.max(0, band.lower ?? 0), max: Math.min(1, band.upper ?? 1) };
}

/** Version 1 recorded no population: where each kind counts, its `where`, and the reporter flags counted. */
function populationV1(verdict: VerdictV1, e: Expectation): Population {
  const where = 'where' in e && e.where && Object.keys(e.where).length > 0 ? { where: e.where } : {};
  switch (e.kind) {
    case 'distribution':
      return { source: 'client', of: `responses that carried ${e.of}`, ...where };
    case 'status':
      return { source: 'client', of: 'responses', ...where };
    case 'latency':
    case 'rateLimited':
      return { source: 'client', of: 'requests', ...where };
    case 'denied':
      return e.service === undefined ? { source: 'client', of: 'responses', ...where } : { source: 'mesh', of: `requests ${e.service} received` };
    case 'flags': {
      const reporter = verdict.details?.reporter;
      return e.from === 'mesh'
        ? {
            source: 'mesh',
            of: `requests${e.service ? ` to ${e.service}` : ''} in istio_requests_total${typeof reporter === 'string' ? ` (reporter=${reporter})` : ''}`,
          }
        : { source: 'client', of: 'responses' };
    }
    case 'reconcile':
    case 'sticky':
      return { source: 'client', of: 'responses' };
    case 'retries':
    case 'counter':
      return { source: 'mesh', of: 'responses of the load the counters were read around' };
  }
}
