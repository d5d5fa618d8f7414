// Canonical proto3 JSON (Envoy's field names) → the plain object protobufjs' Type.fromObject takes, so requests can be
// encoded and a test server can send real protobuf. The inverse of ./normalise.ts, over the same reflection.
import type { JsonValue } from '../envoy/model/common.ts';
import { SPECIAL_JSON, WRAPPERS, type ReflectedField, type ReflectedType, type TypeRegistry } from './normalise.ts';

/** What encoding needs beyond decoding: protobufjs' Type.fromObject and Type.encode. */
export interface EncodableType extends ReflectedType {
  fromObject(object: Record<string, unknown>): object;
  encode(message: object): { finish(): Uint8Array };
}

export interface DenormaliseOptions {
  /** An Any whose type the registry lacks: 'throw' (default), or send it with empty bytes (test doubles only). */
  unknownAny?: 'throw' | 'empty';
}

export function denormalise(type: ReflectedType, json: JsonValue, registry: TypeRegistry, options: DenormaliseOptions = {}): Record<string, unknown> {
  switch (type.fullName) {
    case '.google.protobuf.Any':
      return anyFromJson(json, registry, options);
    case '.google.protobuf.Duration':
      return parseDuration(json);
    case '.google.protobuf.Struct':
      return structFromJson(json as Record<string, JsonValue>);
    case '.google.protobuf.Value':
      return valueFromJson(json);
    case '.google.protobuf.ListValue':
      return { values: (json as JsonValue[]).map(valueFromJson) };
  }
  if (WRAPPERS.has(type.fullName)) return { value: json };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${type.fullName.slice(1)}: expected an object, got ${JSON.stringify(json)}`);
  }
  const fields = new Map(type.fieldsArray.map((f) => [f.name, f]));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fields.get(key);
    if (!field) throw new Error(`${type.fullName.slice(1)} has no field ${key}`);
    if (value === null) continue;
    if (field.map) {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, JsonValue>).map(([k, v]) => [k, single(field, v, registry, options)]));
    } else if (field.repeated) {
      out[key] = (value as JsonValue[]).map((v) => single(field, v, registry, options));
    } else {
      out[key] = single(field, value, registry, options);
    }
  }
  return out;
}

/** Type.fromObject + encode for a canonical-JSON message. */
export function encodeJson(type: EncodableType, json: JsonValue, registry: TypeRegistry, options?: DenormaliseOptions): Uint8Array {
  return type.encode(type.fromObject(denormalise(type, json, registry, options))).finish();
}

/** google.protobuf.Struct as protobufjs' bundled struct.proto names its fields (camelCase Value fields). */
export function structFromJson(json: Record<string, JsonValue>): { fields: Record<string, object> } {
  const fields: Record<string, object> = {};
  for (const [k, v] of Object.entries(json)) fields[k] = valueFromJson(v);
  return { fields };
}

function valueFromJson(v: JsonValue): Record<string, unknown> {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(valueFromJson) } };
  return { structValue: structFromJson(v) };
}

function single(field: ReflectedField, value: JsonValue, registry: TypeRegistry, options: DenormaliseOptions): unknown {
  const resolved = field.resolvedType;
  if (resolved && 'fieldsArray' in resolved) return denormalise(resolved, value, registry, options);
  if (field.type === 'bytes' && typeof value === 'string') return Buffer.from(value, 'base64');
  return value; // scalars, enum names and int64 strings are taken by fromObject as they are
}

function anyFromJson(json: JsonValue, registry: TypeRegistry, options: DenormaliseOptions): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof json['@type'] !== 'string') {
    throw new Error(`google.protobuf.Any: expected {"@type": …}, got ${JSON.stringify(json)}`);
  }
  const typeUrl = json['@type'];
  const type = registry.lookup(typeUrl.slice(typeUrl.lastIndexOf('/') + 1)) as EncodableType | null;
  if (!type || !('fieldsArray' in type)) {
    if (options.unknownAny === 'empty') return { type_url: typeUrl, value: new Uint8Array() };
    throw new Error(`google.protobuf.Any: ${typeUrl} is not in the loaded protos`);
  }
  const { '@type': _t, ...body } = json;
  const inner = SPECIAL_JSON.has(type.fullName) ? (body.value ?? null) : body;
  return { type_url: typeUrl, value: encodeJson(type, inner, registry, options) };
}

function parseDuration(json: JsonValue): { seconds: string; nanos: number } {
  const m = typeof json === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
  if (!m) throw new Error(`google.protobuf.Duration: expected "1.5s", got ${JSON.stringify(json)}`);
  const sign = m[1] ? -1 : 1;
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  return { seconds: `${m[1] ?? ''}${m[2]}`, nanos: sign * nanos };
}
