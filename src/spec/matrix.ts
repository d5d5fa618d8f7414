// Sweeps: `matrix:` expands one experiment into one run per combination of values.
import { SpecError } from '../errors.ts';
import { formatPath, positionOf, type PathSegment, type YamlDoc } from './yaml-source.ts';

export type MatrixPoint = Record<string, string | number>;

const placeholder = /\$\{\s*matrix\.([A-Za-z_][A-Za-z0-9_]*)\s*\}/g;
const wholePlaceholder = /^\$\{\s*matrix\.([A-Za-z_][A-Za-z0-9_]*)\s*\}$/;

/** Every combination of the matrix values, in the order written (first key varies slowest). */
export function matrixPoints(matrix: Record<string, (string | number)[]> | undefined): MatrixPoint[] {
  if (!matrix) return [{}];
  let points: MatrixPoint[] = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  if (points.length > 200) throw new Error(`matrix expands to ${points.length} runs; at most 200 are allowed`);
  return points;
}

/** Replace `${matrix.x}` in every string below `value`; a string that is only the placeholder takes the value's type. */
export function substitute(value: unknown, point: MatrixPoint, source: YamlDoc, path: PathSegment[]): unknown {
  if (typeof value === 'string') {
    const lookup = (name: string) => {
      if (!(name in point)) {
        throw new SpecError(`\${matrix.${name}} is not defined in spec.matrix (defined: ${Object.keys(point).join(', ') || 'none'})`, positionOf(source, path), formatPath(path));
      }
      return point[name];
    };
    const whole = wholePlaceholder.exec(value);
    if (whole) return lookup(whole[1]);
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
