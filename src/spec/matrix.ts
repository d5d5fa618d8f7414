// Sweeps: `matrix:` expands one experiment into one run per combination of values.
import { SpecError } from '../errors.ts';
import { formatPath, positionOf, type PathSegment, type YamlDoc } from './yaml-source.ts';

export type MatrixPoint = Record<string, string | number>;

const placeholder = /\$\{\s*matrix\.([A-Za-z_][A-Za-z0-9_]*)\s*\}/g;
const wholePlaceholder = /^\$\{\s*matrix\.([A-Za-z_][A-Za-z0-9_]*)\s*\}$/;

/** A matrix written as explicit points: `matrix: { points: [{ attempts: 0, retryOn: "" }, ...] }`. */
function isPointList(matrix: Record<string, unknown>): matrix is { points: MatrixPoint[] } {
  return (
    Object.keys(matrix).length === 1 && Array.isArray(matrix.points) && matrix.points.every((p) => p !== null && typeof p === 'object' && !Array.isArray(p))
  );
}

/**
 * The runs of a sweep: every combination of the matrix values, in the order written (first key varies slowest), or
 * the explicit `points` list (for parameters that must change together, e.g. attempts 0 cannot carry a retryOn).
 */
export function matrixPoints(matrix: Record<string, unknown> | undefined, source?: YamlDoc): MatrixPoint[] {
  if (!matrix) return [{}];
  const where = source ? positionOf(source, ['spec', 'matrix']) : undefined;
  let points: MatrixPoint[] = [{}];
  if (isPointList(matrix)) {
    points = matrix.points;
    const [first] = points;
    if (first === undefined) throw new SpecError('spec.matrix.points lists no point; give at least one', where, 'spec.matrix.points');
    const keys = Object.keys(first).sort().join(', ');
    points.forEach((point, i) => {
      if (Object.keys(point).sort().join(', ') !== keys) {
        throw new SpecError(
          `every point must set the same parameters (${keys}); this one sets ${Object.keys(point).sort().join(', ') || 'none'}`,
          source ? positionOf(source, ['spec', 'matrix', 'points', i]) : where,
          `spec.matrix.points[${i}]`,
        );
      }
    });
  } else {
    for (const [key, values] of Object.entries(matrix as Record<string, (string | number)[]>)) {
      points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
    }
  }
  if (points.length > 200) throw new SpecError(`matrix expands to ${points.length} runs; at most 200 are allowed`, where, 'spec.matrix');
  return points;
}

/** Replace `${matrix.x}` in every string below `value`; a string that is only the placeholder takes the value's type. */
export function substitute(value: unknown, point: MatrixPoint, source: YamlDoc, path: PathSegment[]): unknown {
  if (typeof value === 'string') {
    const lookup = (name: string) => {
      if (!(name in point)) {
        throw new SpecError(
          `\${matrix.${name}} is not defined in spec.matrix (defined: ${Object.keys(point).join(', ') || 'none'})`,
          positionOf(source, path),
          formatPath(path),
        );
      }
      return point[name];
    };
    const whole = wholePlaceholder.exec(value)?.[1];
    if (whole !== undefined) return lookup(whole);
    return value.replace(placeholder, (_, name: string) => String(lookup(name)));
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, point, source, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, point, source, [...path, k])]));
  }
  return value;
}

export function pointLabel(point: MatrixPoint): string {
  return Object.entries(point)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
