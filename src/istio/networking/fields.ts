// Strict reading of Istio resource fields: every field is either understood or refused with its path.
import { SpecError } from '../../errors.ts';
import { suggest } from '../../spec/suggest.ts';
import { valueText } from '../../spec/untyped.ts';

/** Where we are inside a resource, for error messages: `VirtualService reviews: spec.http[0].route`. */
export class FieldPath {
  constructor(
    readonly resource: string,
    readonly path: string,
  ) {}

  static of(kind: string, name: string): FieldPath {
    return new FieldPath(`${kind} ${name}`, '');
  }

  key(name: string): FieldPath {
    return new FieldPath(this.resource, this.path ? `${this.path}.${name}` : name);
  }

  /** A map entry by its key, written as src/spec/yaml-source.ts formatPath writes it: `.x-user` or `[":path"]`. */
  entry(name: string): FieldPath {
    return new FieldPath(this.resource, `${this.path}${/^[A-Za-z_][-A-Za-z0-9_]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`}`);
  }

  index(i: number): FieldPath {
    return new FieldPath(this.resource, `${this.path}[${i}]`);
  }

  toString(): string {
    return `${this.resource}: ${this.path}`;
  }

  error(message: string): SpecError {
    return new SpecError(message, undefined, this.toString());
  }
}

export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `at`, refusing any key not in `known` (with the reason the emulator gives for unsupported ones). */
export function readObject(value: unknown, at: FieldPath, known: readonly string[], unsupported: Record<string, string> = {}): Obj {
  if (!isObj(value)) throw at.error(`expected an object, found ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const why = unsupported[key];
    if (why !== undefined) throw at.key(key).error(`not supported by the local target: ${why}`);
    const hint = suggest(key, [...known, ...Object.keys(unsupported)]);
    throw at.key(key).error(`unknown or unsupported field${hint ? `; did you mean "${hint}"?` : ''} (supported here: ${known.join(', ')})`);
  }
  return value;
}

export function readArray(value: unknown, at: FieldPath): unknown[] {
  if (!Array.isArray(value)) throw at.error(`expected a list, found ${describe(value)}`);
  return value;
}

export function readString(value: unknown, at: FieldPath): string {
  if (typeof value !== 'string') throw at.error(`expected a string, found ${describe(value)}`);
  return value;
}

export function readOptionalString(value: unknown, at: FieldPath): string | undefined {
  return value === undefined ? undefined : readString(value, at);
}

export function readNumber(value: unknown, at: FieldPath, options: { min?: number; max?: number; integer?: boolean } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw at.error(`expected a number, found ${describe(value)}`);
  if (options.integer && !Number.isInteger(value)) throw at.error(`expected an integer, found ${value}`);
  if (options.min !== undefined && value < options.min) throw at.error(`must be at least ${options.min}, found ${value}`);
  if (options.max !== undefined && value > options.max) throw at.error(`must be at most ${options.max}, found ${value}`);
  return value;
}

export function readBoolean(value: unknown, at: FieldPath): boolean {
  if (typeof value !== 'boolean') throw at.error(`expected true or false, found ${describe(value)}`);
  return value;
}

/** Protobuf Duration as Istio writes it (`0.5s`, `100ms`, `1m`, `1h`), in milliseconds. */
export function readDuration(value: unknown, at: FieldPath, options: { min?: number } = {}): number {
  const text = readString(value, at);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw at.error(`expected a duration such as 500ms or 2s, found ${JSON.stringify(text)}`);
  const ms = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[m[2] as 'ms' | 's' | 'm' | 'h'];
  if (options.min !== undefined && ms < options.min) throw at.error(`must be at least ${options.min}ms, found ${text}`);
  return ms;
}

export function readStringMap(value: unknown, at: FieldPath): Record<string, string> {
  if (!isObj(value)) throw at.error(`expected a map of strings, found ${describe(value)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = readString(v, at.key(k));
  return out;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  return valueText(value);
}
