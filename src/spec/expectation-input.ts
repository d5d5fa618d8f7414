// What a kind's parser gets (src/assertions/kind.ts KindHandler.parse) and the helpers parsers share: `where`
// filters, default-title pieces, count bounds. The Normaliser gives positions and units.
import type { Bound, SourcePos } from './types.ts';
import type { Normaliser } from './normalise.ts';
import type { PathSegment } from './yaml-source.ts';

/** Distribution tolerance when none is given, in percentage points. */
export const DEFAULT_TOLERANCE_POINTS = 5;

// The shapes below are what schema/experiment.schema.json admits ($defs): a kind's parser reads the object only after
// the schema accepted it, so it may rely on them.

/** $defs/share: 0..1 or "25%". */
export type RawShare = number | string;
/** $defs/duration and durationMs: "500ms", "2s", or 0. */
export type RawDuration = number | string;
/** $defs/where. */
export type RawWhere = Record<string, string | number>;

/** $defs/shareBound. */
export interface RawShareBound {
  min?: RawShare;
  max?: RawShare;
  approx?: RawShare;
  tolerance?: RawShare;
  derived?: { failing: RawShare; retries: number };
}

/** $defs/countBound, and the inline count bound of retries and counter. */
export interface RawCountBound {
  min?: number;
  max?: number;
  approx?: number;
  tolerance?: number;
}

/** What every kind's object may hold ($defs/common). */
export interface RawCommon {
  confidence?: number;
  title?: string;
}

export interface ParseInput<Raw extends RawCommon = RawCommon> {
  n: Normaliser;
  /** The schema-valid object under the kind's key (`status: {...}`). */
  raw: Raw;
  /** spec.expect[i].<kind>, for errors. */
  path: PathSegment[];
  /** What every expectation has: its position and confidence. */
  common: { source: SourcePos; confidence: number };
}

export function where(raw: RawWhere | undefined): Record<string, string> | undefined {
  if (!raw) return undefined;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
}

/** The population a `where` selects, for default titles: two expectations that differ only by it get different names. */
export function population(raw: Record<string, unknown> | undefined): string {
  if (!raw || Object.keys(raw).length === 0) return '';
  return ` for ${Object.entries(raw)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ')}`;
}

export function percentText(bound: Bound & { derived?: { failing: number; retries: number } }): string {
  const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;
  const parts: string[] = [];
  if (bound.derived) parts.push(`≈ ${pct(bound.derived.failing)}^${bound.derived.retries + 1}`);
  if (bound.approx !== undefined) parts.push(`≈ ${pct(bound.approx)}`);
  if (bound.min !== undefined) parts.push(`≥ ${pct(bound.min)}`);
  if (bound.max !== undefined) parts.push(`≤ ${pct(bound.max)}`);
  return parts.join(', ');
}

/** A count bound written inline (min, max, approx, tolerance), with at least one of min, max or approx. */
export function countOf(n: Normaliser, raw: RawCountBound, path: PathSegment[], kind: string): Bound {
  const count = n.countBound({ min: raw.min, max: raw.max, approx: raw.approx, tolerance: raw.tolerance }, path);
  for (const k of Object.keys(count) as (keyof Bound)[]) if (count[k] === undefined) delete count[k];
  if (Object.keys(count).length === 0) throw n.error(path, `${kind} needs min, max or approx`);
  return count;
}
