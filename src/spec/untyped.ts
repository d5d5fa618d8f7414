// Readers for values nothing has checked yet (resources as the user wrote them, parsed YAML): a field that should be
// an object or a list may be anything, so every read narrows instead of assuming.

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value when it is an object, else an empty one (a missing or malformed field reads as absent). */
export function record(value: unknown): Json {
  return isRecord(value) ? value : {};
}

/** The value when it is a list, else an empty one. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

/** The field at `path` below `value`, or undefined as soon as a step is not an object (like `a?.b?.c`). */
export function field(value: unknown, ...path: string[]): unknown {
  let at = value;
  for (const key of path) {
    if (!isRecord(at)) return undefined;
    at = at[key];
  }
  return at;
}

/** The field at `path` when it is a string. */
export function stringField(value: unknown, ...path: string[]): string | undefined {
  const at = field(value, ...path);
  return typeof at === 'string' ? at : undefined;
}

/** JSON.stringify's text, or undefined for undefined, a function or a symbol (which lib.d.ts types as a string). */
export function jsonText(value: unknown): string | undefined {
  return JSON.stringify(value) as string | undefined;
}

/**
 * A value as text for a message or a key: a scalar as String() writes it, a list or an object as its JSON (String()
 * would write `a,b` or `[object Object]`).
 */
export function valueText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    case 'symbol':
      return value.toString();
    case 'function':
      return '[function]';
    default:
      try {
        return jsonText(value) ?? '[object]';
      } catch {
        return '[object]'; // a cycle
      }
  }
}
