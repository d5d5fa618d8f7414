// A small rule language for Envoy's canonical JSON: each message lists the fields the model executes (typed rules)
// and the fields that are accepted no-ops (named in ../no-ops.ts). Anything else is refused with its path. The walk
// returns the value normalised (uint64 strings to numbers, TypedStructs resolved, no-ops dropped).
import { noOpField } from '../no-ops.ts';
import { jsonText } from '../../spec/untyped.ts';

export type Family =
  | 'listener_filter'
  | 'network_filter'
  | 'http_filter'
  | 'per_filter_config'
  | 'downstream_transport_socket'
  | 'upstream_transport_socket'
  | 'retry_host_predicate'
  | 'protocol_options';

export type Rule =
  | { kind: 'string' }
  | { kind: 'bool' }
  | { kind: 'uint' }
  | { kind: 'int' }
  | { kind: 'double' }
  | { kind: 'duration' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'enumNumber'; numbers: Readonly<Record<string, number>> }
  | { kind: 'struct' }
  | { kind: 'list'; of: Rule }
  | { kind: 'map'; of: Rule }
  | { kind: 'message'; message: string; fields: () => Record<string, Rule>; check?: MessageCheck }
  | { kind: 'noop'; key: string; why: string }
  | { kind: 'any'; family: Family }
  | { kind: 'extension'; family: Family; message: string; fields: () => Record<string, Rule> };

/** A cross-field check on a message (one-ofs, sums); returns problems as [field or '', message]. */
export type MessageCheck = (value: Record<string, unknown>) => [string, string][];

export interface Issue {
  path: string;
  message: string;
}
export interface Ignored {
  path: string;
  why: string;
}
export interface WalkContext {
  issues: Issue[];
  ignored: Ignored[];
  /** Accept protoc's lowerCamelCase json names beside the proto names, as protobuf's JSON parser does: istiod's
   * /debug/config_dump prints json names (Go protojson defaults), Envoy's admin /config_dump proto names, and a
   * TypedStruct written by hand either. The loaded model always has the proto (snake_case) names. */
  jsonNames: boolean;
  resolveExtension: (family: Family, typeUrl: string | undefined, name: string | undefined) => ExtensionResolution;
}

export type ExtensionResolution = { executed: true; rule: Rule | undefined } | { executed: false; noOp: string } | { executed: false; refused: string };

/** Marks a list element or field that was a no-op and is left out of the loaded model. */
export const DROPPED = Symbol('dropped');

export const str: Rule = { kind: 'string' };
export const bool: Rule = { kind: 'bool' };
export const uint: Rule = { kind: 'uint' };
export const int: Rule = { kind: 'int' };
export const double: Rule = { kind: 'double' };
export const duration: Rule = { kind: 'duration' };
export const struct: Rule = { kind: 'struct' };
export const enumOf = (...values: string[]): Rule => ({ kind: 'enum', values });
/** An enum the model keeps as its number: proto3 JSON writes the value's name (Go's protojson does) or accepts the number. */
export const enumNumber = (numbers: Readonly<Record<string, number>>): Rule => ({ kind: 'enumNumber', numbers });
export const list = (of: Rule): Rule => ({ kind: 'list', of });
export const map = (of: Rule): Rule => ({ kind: 'map', of });
export const any = (family: Family): Rule => ({ kind: 'any', family });
export const message = (name: string, fields: () => Record<string, Rule>, check?: MessageCheck): Rule => ({
  kind: 'message',
  message: name,
  fields: once(fields),
  check,
});

/** Field tables are built lazily (messages refer to each other) and then kept. */
export function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}
export const empty = (name: string): Rule => message(name, () => ({}));
/** A field the data plane does not need; the reason lives in ../no-ops.ts under `key`. */
export const noop = (key: string): Rule => ({ kind: 'noop', key, why: noOpField(key) });

const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const INTEGER = /^-?\d+$/;

export function walk(rule: Rule, value: unknown, path: string, ctx: WalkContext): unknown {
  const fail = (message: string) => {
    ctx.issues.push({ path, message });
    return DROPPED;
  };
  switch (rule.kind) {
    case 'string':
      return typeof value === 'string' ? value : fail(`expected a string, got ${show(value)}`);
    case 'bool':
      return typeof value === 'boolean' ? value : fail(`expected true or false, got ${show(value)}`);
    case 'uint':
    case 'int': {
      // proto3 JSON writes 64-bit integers as strings and accepts either form for 32-bit ones.
      const n = typeof value === 'string' && INTEGER.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || (rule.kind === 'uint' && n < 0)) {
        return fail(`expected ${rule.kind === 'uint' ? 'a non-negative integer' : 'an integer'}, got ${show(value)}`);
      }
      return n;
    }
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? value : fail(`expected a number, got ${show(value)}`);
    case 'duration':
      return typeof value === 'string' && DURATION.test(value) ? value : fail(`expected a duration such as "1.5s" (proto3 JSON), got ${show(value)}`);
    case 'enum':
      return typeof value === 'string' && rule.values.includes(value) ? value : fail(`expected one of ${rule.values.join(', ')}, got ${show(value)}`);
    case 'enumNumber': {
      if (typeof value === 'string' && Object.hasOwn(rule.numbers, value)) return rule.numbers[value];
      const known = Object.values(rule.numbers);
      const n = typeof value === 'string' && INTEGER.test(value) ? Number(value) : value;
      return typeof n === 'number' && known.includes(n) ? n : fail(`expected one of ${Object.keys(rule.numbers).join(', ')} or its number, got ${show(value)}`);
    }
    case 'struct':
      return isObject(value) ? value : fail(`expected an object, got ${show(value)}`);
    case 'list': {
      if (!Array.isArray(value)) return fail(`expected a list, got ${show(value)}`);
      const out: unknown[] = [];
      value.forEach((item, i) => {
        const v = walk(rule.of, item, `${path}[${i}]`, ctx);
        if (v !== DROPPED) out.push(v);
      });
      return out;
    }
    case 'map': {
      if (!isObject(value)) return fail(`expected an object, got ${show(value)}`);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const w = walk(rule.of, v, `${path}[${JSON.stringify(k)}]`, ctx);
        if (w !== DROPPED) out[k] = w;
      }
      return out;
    }
    case 'noop':
      ctx.ignored.push({ path, why: rule.why });
      return DROPPED;
    case 'message':
      return walkMessage(rule.message, rule.fields(), rule.check, value, path, ctx);
    case 'any':
      return walkAny(rule.family, value, path, ctx);
    case 'extension':
      return walkExtension(rule, value, path, ctx);
  }
}

function walkMessage(name: string, fields: Record<string, Rule>, check: MessageCheck | undefined, value: unknown, path: string, ctx: WalkContext): unknown {
  if (!isObject(value)) {
    ctx.issues.push({ path, message: `expected a ${name} object, got ${show(value)}` });
    return DROPPED;
  }
  const out: Record<string, unknown> = {};
  const byJsonName = ctx.jsonNames ? jsonNames(fields) : undefined;
  for (const [rawKey, v] of Object.entries(value)) {
    const key = Object.hasOwn(fields, rawKey) ? rawKey : (byJsonName?.get(rawKey) ?? rawKey);
    const fieldPath = path ? `${path}.${key}` : key;
    if (v === null || v === undefined) continue; // proto3 JSON: null is the field's default
    const rule = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (!rule) {
      const protoName = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      ctx.issues.push({ path: path ? `${path}.${protoName}` : protoName, message: `${name}.${protoName} is not executed by the local data plane` });
      continue;
    }
    const w = walk(rule, v, fieldPath, ctx);
    if (w !== DROPPED) out[key] = w;
  }
  for (const [field, message] of check?.(out) ?? []) {
    ctx.issues.push({ path: field ? (path ? `${path}.${field}` : field) : path, message });
  }
  return out;
}

/** `{"@type": …}`; a TypedStruct is replaced by the message it carries, as Envoy's config loader does. */
function unwrapTypedStruct(value: Record<string, unknown>, path: string, ctx: WalkContext) {
  const type = value['@type'];
  if (type !== 'type.googleapis.com/udpa.type.v1.TypedStruct' && type !== 'type.googleapis.com/xds.type.v3.TypedStruct') {
    return { typeUrl: typeof type === 'string' ? type : undefined, body: value, jsonNames: ctx.jsonNames };
  }
  const inner = value.type_url ?? value.typeUrl;
  if (typeof inner !== 'string') {
    ctx.issues.push({ path: `${path}.type_url`, message: 'a TypedStruct needs type_url' });
    return undefined;
  }
  const body = value.value === undefined ? {} : value.value;
  if (!isObject(body)) {
    ctx.issues.push({ path: `${path}.value`, message: `expected an object, got ${show(body)}` });
    return undefined;
  }
  return { typeUrl: inner, body: { '@type': inner, ...body }, jsonNames: true };
}

function walkAny(family: Family, value: unknown, path: string, ctx: WalkContext): unknown {
  if (!isObject(value)) {
    ctx.issues.push({ path, message: `expected a typed config ({"@type": …}), got ${show(value)}` });
    return DROPPED;
  }
  const unwrapped = unwrapTypedStruct(value, path, ctx);
  if (!unwrapped) return DROPPED;
  const { typeUrl, body, jsonNames } = unwrapped;
  if (!typeUrl) {
    ctx.issues.push({ path, message: 'a typed config needs "@type"' });
    return DROPPED;
  }
  const resolution = ctx.resolveExtension(family, typeUrl, undefined);
  if (!resolution.executed) {
    if ('noOp' in resolution) {
      ctx.ignored.push({ path, why: resolution.noOp });
      return DROPPED;
    }
    ctx.issues.push({ path, message: `${typeUrl} ${resolution.refused}` });
    return DROPPED;
  }
  return walkTyped(resolution.rule, typeUrl, body, path, { ...ctx, jsonNames });
}

function walkTyped(rule: Rule | undefined, typeUrl: string, body: Record<string, unknown>, path: string, ctx: WalkContext) {
  const { '@type': _type, ...fields } = body;
  const inner = rule ? walk(rule, fields, path, ctx) : {};
  return inner === DROPPED ? DROPPED : { '@type': typeUrl, ...(inner as object) };
}

/** A filter-like element `{name, typed_config, …}`: the extension is chosen by typed_config's type (Envoy looks up
 * extensions by type URL first, by name only without a typed config). No-op extensions leave the list. */
function walkExtension(rule: Extract<Rule, { kind: 'extension' }>, value: unknown, path: string, ctx: WalkContext): unknown {
  if (!isObject(value)) {
    ctx.issues.push({ path, message: `expected a ${rule.message} object, got ${show(value)}` });
    return DROPPED;
  }
  const name = typeof value.name === 'string' ? value.name : undefined;
  const { typed_config: snakeConfig, typedConfig: camelConfig, ...rest } = value;
  const typedConfig = snakeConfig ?? (ctx.jsonNames ? camelConfig : undefined);
  if (camelConfig !== undefined && !ctx.jsonNames) rest.typedConfig = camelConfig;
  const typed = isObject(typedConfig) ? unwrapTypedStruct(typedConfig, `${path}.typed_config`, ctx) : undefined;
  if (isObject(typedConfig) && !typed) return DROPPED;
  const typeUrl = typed?.typeUrl;
  const resolution = ctx.resolveExtension(rule.family, typeUrl, name);
  const label = `${name ?? '(unnamed)'}${typeUrl ? ` (${typeUrl})` : ''}`;
  if (!resolution.executed) {
    if ('noOp' in resolution) {
      ctx.ignored.push({ path, why: `${label}: ${resolution.noOp}` });
      return DROPPED;
    }
    ctx.issues.push({ path, message: `${label} ${resolution.refused}` });
    return DROPPED;
  }
  const out = walkMessage(rule.message, rule.fields(), undefined, rest, path, ctx) as Record<string, unknown> | typeof DROPPED;
  if (out === DROPPED) return DROPPED;
  if (typed && typeUrl) {
    const config = walkTyped(resolution.rule, typeUrl, typed.body, `${path}.typed_config`, { ...ctx, jsonNames: typed.jsonNames });
    if (config !== DROPPED) out.typed_config = config;
  }
  return out;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** protoc's json_name for each field (`consecutive_5xx` → `consecutive5xx`, `route_config` → `routeConfig`). */
const jsonNameCache = new WeakMap<Record<string, Rule>, Map<string, string>>();
function jsonNames(fields: Record<string, Rule>): Map<string, string> {
  let names = jsonNameCache.get(fields);
  if (!names) {
    names = new Map(Object.keys(fields).map((f) => [protoJsonName(f), f]));
    jsonNameCache.set(fields, names);
  }
  return names;
}

export function protoJsonName(field: string): string {
  return field.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function show(value: unknown): string {
  const text = jsonText(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
