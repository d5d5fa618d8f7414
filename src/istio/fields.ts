// Strict readers for Istio/Envoy resource fields: every error names the resource and the exact field path.
import { SpecError } from '../errors.ts';
import type { SourcePos } from '../spec/types.ts';

export type Json = Record<string, unknown>;

export class FieldReader {
  constructor(
    /** e.g. `EnvoyFilter istio-system/filter-local-ratelimit-svc` */
    readonly resource: string,
    readonly source?: SourcePos,
  ) {}

  error(path: string, message: string): SpecError {
    return new SpecError(message, this.source, `${this.resource}: ${path}`);
  }

  object(value: unknown, path: string): Json {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw this.error(path, 'must be an object');
    return value as Json;
  }

  optionalObject(value: unknown, path: string): Json | undefined {
    return value === undefined || value === null ? undefined : this.object(value, path);
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) throw this.error(path, 'must be a list');
    return value;
  }

  /** Refuses any key not in `allowed`; `why` explains what is emulated. */
  onlyKeys(obj: Json, path: string, allowed: readonly string[], why = 'not emulated by meshproof'): void {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) throw this.error(`${path}.${k}`, `unsupported field (${why}; understood: ${allowed.join(', ')})`);
    }
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string') throw this.error(path, 'must be a string');
    return value;
  }

  stringList(value: unknown, path: string): string[] {
    return this.array(value, path).map((v, i) => this.string(v, `${path}[${i}]`));
  }

  optionalStringList(value: unknown, path: string): string[] | undefined {
    return value === undefined || value === null ? undefined : this.stringList(value, path);
  }

  /** A non-negative integer given as a number or a numeric string (protobuf JSON allows both for uint32). */
  uint(value: unknown, path: string): number {
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw this.error(path, 'must be a non-negative integer (uint32)');
    }
    return n;
  }

  bool(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') throw this.error(path, 'must be true or false');
    return value;
  }
}

/** `tokensPerFill` → `tokens_per_fill`: protobuf JSON accepts both spellings of Envoy fields. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A copy of an Envoy proto JSON object with top-level keys in snake_case (keys starting with `@` kept), refusing an
 * object that gives the same field in both spellings.
 */
export function envoyKeys(obj: Json, reader: FieldReader, path: string): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = k.startsWith('@') ? k : snakeCase(k);
    if (key in out) throw reader.error(`${path}.${k}`, `field given twice (as ${key} and ${k})`);
    out[key] = v;
  }
  return out;
}

/**
 * A google.protobuf.Duration in JSON form (`"60s"`, `"0.25s"`) or object form (`{seconds, nanos}`), in ms.
 * Protobuf JSON only accepts seconds with an `s` suffix: `"500ms"` or `"1m"` are rejected by Envoy/istiod, so here too.
 */
export function protoDurationMs(value: unknown, reader: FieldReader, path: string): number {
  if (typeof value === 'string') {
    const [, seconds, fraction] = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(value.trim()) ?? [];
    if (seconds === undefined)
      throw reader.error(path, `not a protobuf Duration: ${JSON.stringify(value)} (write seconds with an "s" suffix, e.g. "60s" or "0.5s")`);
    const frac = fraction ? Number(`0.${fraction}`) : 0;
    return (Number(seconds) + (seconds.startsWith('-') ? -frac : frac)) * 1000;
  }
  const obj = reader.object(value, path);
  reader.onlyKeys(obj, path, ['seconds', 'nanos'], 'a Duration has seconds and nanos');
  const seconds = obj.seconds === undefined ? 0 : Number(obj.seconds);
  const nanos = obj.nanos === undefined ? 0 : Number(obj.nanos);
  if (!Number.isFinite(seconds) || !Number.isFinite(nanos)) throw reader.error(path, 'seconds and nanos must be numbers');
  return seconds * 1000 + nanos / 1e6;
}
