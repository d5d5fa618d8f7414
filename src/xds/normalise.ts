// Decoded protobuf messages → canonical proto3 JSON with Envoy's field names, once, at the gRPC edge. protobufjs'
// own toObject is not canonical (wrappers stay {value}, Durations {seconds, nanos}, Struct {fields}, int64 Long,
// Any undecoded); this walk follows the proto3 JSON mapping instead, with the original (snake_case) field names as
// Envoy's config_dump and istiod's /debug/config_dump print them. Written against the reflection protobufjs
// exposes (Type.fieldsArray, Field.resolvedType, Enum.valuesById, Root.lookup), described structurally below.
import type { JsonValue } from '../envoy/model/common.ts';
import { must } from '../must.ts';
import { valueText } from '../spec/untyped.ts';

export interface ReflectedEnum {
  valuesById: Record<number, string>;
}
export interface ReflectedField {
  name: string;
  /** Scalar type name (int64, bytes, …) or the message/enum name. */
  type: string;
  repeated: boolean;
  map: boolean;
  resolvedType: ReflectedType | ReflectedEnum | null;
  /** The oneof (a proto3 `optional` field's is synthetic) the field belongs to: such fields have presence. */
  partOf?: unknown;
}
export interface ReflectedType {
  /** With a leading dot, e.g. `.google.protobuf.Duration`. */
  fullName: string;
  fieldsArray: ReflectedField[];
  decode(bytes: Uint8Array): object;
}
/** Finds a message type by full name (without the leading dot); protobufjs' Root.lookup. */
export interface TypeRegistry {
  lookup(name: string): unknown;
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
export const WRAPPERS: ReadonlySet<string> = new Set(
  ['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map(
    (n) => `.google.protobuf.${n}`,
  ),
);

/** Well-known types whose JSON is not an object of fields: inside an Any they sit under "value". */
export const SPECIAL_JSON: ReadonlySet<string> = new Set([
  ...WRAPPERS,
  ...['Any', 'Duration', 'Timestamp', 'FieldMask', 'Struct', 'Value', 'ListValue'].map((n) => `.google.protobuf.${n}`),
]);

/** protobufjs computes fullName from the parent chain on every read; a type's name is read once per message here. */
const fullNames = new WeakMap<ReflectedType, string>();
function fullNameOf(type: ReflectedType): string {
  let name = fullNames.get(type);
  if (name === undefined) fullNames.set(type, (name = type.fullName));
  return name;
}

export function normaliseMessage(type: ReflectedType, message: object, registry: TypeRegistry): JsonValue {
  const m = message as Record<string, unknown>;
  const fullName = fullNameOf(type);
  switch (fullName) {
    case '.google.protobuf.Any':
      return normaliseAny(valueText(m.type_url ?? ''), asBytes(m.value), registry);
    case '.google.protobuf.Duration':
      return formatDuration(m.seconds, m.nanos);
    case '.google.protobuf.Timestamp':
      return formatTimestamp(m.seconds, m.nanos);
    case '.google.protobuf.Struct':
      return structToJson(m);
    case '.google.protobuf.Value':
      return valueToJson(m);
    case '.google.protobuf.ListValue':
      return ((m.values as object[] | undefined) ?? []).map((v) => valueToJson(v as Record<string, unknown>));
    case '.google.protobuf.FieldMask':
      return ((m.paths as string[] | undefined) ?? []).map(lowerCamel).join(',');
    case '.google.protobuf.Empty':
      return {};
  }
  if (WRAPPERS.has(fullName)) {
    const field = must(type.fieldsArray[0], `the value field of ${fullName}`);
    return scalar(field, Object.hasOwn(m, 'value') ? m.value : defaultOf(field));
  }
  const out: Record<string, JsonValue> = {};
  for (const field of type.fieldsArray) {
    if (!Object.hasOwn(m, field.name)) continue;
    const value = m[field.name];
    if (value === undefined || value === null) continue;
    // protobufjs' constructors set every repeated and map field to an empty own [] / {}; proto3 JSON omits them.
    if (field.repeated && (value as unknown[]).length === 0) continue;
    if (field.map && Object.keys(value as object).length === 0) continue;
    // proto3 JSON leaves out scalars at their zero value unless they have presence (oneof, `optional`); Go encoders
    // never send them, protobufjs does when they were set explicitly.
    if (!field.partOf && !field.repeated && !field.map && isZeroScalar(field, value)) continue;
    if (field.map) {
      const entries: Record<string, JsonValue> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) entries[k] = single(field, v, registry);
      out[field.name] = entries;
    } else if (field.repeated) {
      out[field.name] = (value as unknown[]).map((v) => single(field, v, registry));
    } else {
      out[field.name] = single(field, value, registry);
    }
  }
  return out;
}

/** An Any: the embedded message's fields beside "@type"; a well-known type goes under "value". A type missing from
 * the registry (Istio's own filter configs) keeps only "@type": the loader decides by type whether that matters. */
export function normaliseAny(typeUrl: string, value: Uint8Array, registry: TypeRegistry): JsonValue {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const type = registry.lookup(name);
  if (!isType(type)) return { '@type': typeUrl };
  const inner = normaliseMessage(type, type.decode(value), registry);
  if (SPECIAL_JSON.has(fullNameOf(type))) return { '@type': typeUrl, value: inner };
  return { '@type': typeUrl, ...(inner as Record<string, JsonValue>) };
}

function single(field: ReflectedField, value: unknown, registry: TypeRegistry): JsonValue {
  const resolved = field.resolvedType;
  if (resolved && 'fieldsArray' in resolved) return normaliseMessage(resolved, value as object, registry);
  if (resolved && 'valuesById' in resolved) {
    return typeof value === 'number' ? (resolved.valuesById[value] ?? value) : String(value);
  }
  return scalar(field, value);
}

function scalar(field: ReflectedField, value: unknown): JsonValue {
  if (LONG_TYPES.has(field.type)) return longToString(value);
  if (field.type === 'bytes') return Buffer.from(asBytes(value)).toString('base64');
  if ((field.type === 'double' || field.type === 'float') && typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return value as JsonValue;
}

function isZeroScalar(field: ReflectedField, value: unknown): boolean {
  const resolved = field.resolvedType;
  if (resolved && 'fieldsArray' in resolved) return false; // messages have presence
  if (value === false || value === 0 || value === '') return true;
  if (value instanceof Uint8Array) return value.length === 0;
  if (LONG_TYPES.has(field.type)) return longToString(value) === '0';
  return false;
}

function defaultOf(field: ReflectedField): unknown {
  if (field.type === 'bool') return false;
  if (field.type === 'string') return '';
  if (field.type === 'bytes') return new Uint8Array();
  return 0;
}

/** int64 arrives as a number or a Long (protobufjs with the `long` package); both print their decimal value. */
function longToString(value: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the object is a Long, whose toString() is its decimal value
  return typeof value === 'object' && value !== null ? value.toString() : valueText(value ?? 0);
}

function toBigInt(value: unknown): bigint {
  return BigInt(longToString(value));
}

function formatDuration(secondsValue: unknown, nanosValue: unknown): string {
  const seconds = toBigInt(secondsValue);
  const nanos = Number(nanosValue ?? 0);
  const negative = seconds < 0n || nanos < 0;
  const abs = `${seconds < 0n ? -seconds : seconds}${fraction(Math.abs(nanos))}`;
  return `${negative ? '-' : ''}${abs}s`;
}

function formatTimestamp(secondsValue: unknown, nanosValue: unknown): string {
  const iso = new Date(Number(toBigInt(secondsValue)) * 1000).toISOString().replace('.000Z', '');
  return `${iso}${fraction(Number(nanosValue ?? 0))}Z`;
}

/** proto3 JSON prints 0, 3, 6 or 9 fractional digits (Go protojson: 1.5 s is "1.500s"). */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  if (nanos % 1_000_000 === 0) return `.${digits.slice(0, 3)}`;
  if (nanos % 1_000 === 0) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

function structToJson(m: Record<string, unknown>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries((m.fields as Record<string, unknown> | undefined) ?? {})) {
    out[k] = valueToJson(v as Record<string, unknown>);
  }
  return out;
}

/** google.protobuf.Value; protobufjs' bundled struct.proto names its fields in camelCase (nullValue, …) even with
 * keepCase, a struct.proto loaded from disk with keepCase in snake_case: both are read. */
function valueToJson(v: Record<string, unknown>): JsonValue {
  const field = (snake: string) => {
    const camel = lowerCamel(snake);
    return Object.hasOwn(v, camel) ? { value: v[camel] } : Object.hasOwn(v, snake) ? { value: v[snake] } : undefined;
  };
  if (field('null_value')) return null;
  for (const name of ['number_value', 'string_value', 'bool_value']) {
    const f = field(name);
    if (f) return f.value as JsonValue;
  }
  const struct = field('struct_value');
  if (struct) return structToJson(struct.value as Record<string, unknown>);
  const list = field('list_value');
  if (list) return (((list.value as Record<string, unknown>).values as object[] | undefined) ?? []).map((x) => valueToJson(x as Record<string, unknown>));
  return null;
}

function isType(value: unknown): value is ReflectedType {
  return typeof value === 'object' && value !== null && 'fieldsArray' in value && 'decode' in value;
}

function asBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  return new Uint8Array();
}

function lowerCamel(path: string): string {
  return path.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
