// What one expectation kind provides: parsing, judging (a verdict with its evidence) and whether it may be judged while
// load runs (sequential mode). Each kind's module exports one `KindHandler`; src/assertions/kinds.ts lists them.
import type { Expectation } from '../spec/types.ts';
import type { ExpectedBand, JudgeContext, Population, Verdict } from './verdict.ts';
import type { Band } from './stats/band.ts';
import type { ParseInput, RawCommon } from '../spec/expectation-input.ts';

/** `Raw` is the kind's object as its schema fragment admits it. */
export interface KindHandler<E extends { kind: string }, Raw extends RawCommon = RawCommon> {
  /** From the schema-valid object under the kind's key to the typed expectation: defaults, units, cross-field rules. */
  parse(input: ParseInput<Raw>): E;
  /** The verdict, carrying its evidence (unit, expected band, population): reports render it, they derive nothing. */
  judge(expectation: E, context: JudgeContext): Verdict;
  /** Sequential capability: judged from client data alone, so it may be looked at while load runs and stop it. */
  judgedFromClient(expectation: E): boolean;
}

/** One handler per kind name: a kind of `E` without its handler is a compile error. */
export type KindRegistry<E extends { kind: string } = Expectation> = { [K in E['kind']]: KindHandler<Extract<E, { kind: K }>> };

/**
 * The band a judge compared with, as evidence: its edges (clamped to `limits`, e.g. [0, 1] for shares, so a share
 * band never reads below 0 %) and the point it was built around (`approx`), if any.
 */
export function bandEvidence(band: Band, value?: number, limits?: [number, number]): ExpectedBand {
  const clamp = (x: number) => (limits ? Math.min(limits[1], Math.max(limits[0], x)) : x);
  return {
    ...(value !== undefined ? { value } : {}),
    ...(band.lower !== undefined ? { min: clamp(band.lower) } : {}),
    ...(band.upper !== undefined ? { max: clamp(band.upper) } : {}),
  };
}

/** The sample size of a verdict on a mesh counter: the client's responses over the load the counter rose during. */
export const LOAD_RESPONSES = 'responses of the load the counters were read around';

/** Responses the client recorded, narrowed by the expectation's `where` (kept only when it narrows anything). */
export function clientPopulation(of: string, where: Record<string, string> | undefined): Population {
  return { source: 'client', of, ...(where && Object.keys(where).length > 0 ? { where } : {}) };
}

/** A scalar verdict's expected band, keyed `''`; nothing when the band bounds nothing. */
export function scalarBand(band: ExpectedBand): Record<string, ExpectedBand> {
  return Object.keys(band).length > 0 ? { '': band } : {};
}
