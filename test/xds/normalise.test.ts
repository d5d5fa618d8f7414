// The normaliser's proto3-JSON rules over a minimal stand-in for protobufjs' reflection (the shapes
// src/xds/normalise.ts reads). The same rules on real protobuf messages: test/xds/grpc/normalise.test.ts.
import { describe, expect, it } from 'vitest';
import { denormalise } from '../../src/xds/denormalise.ts';
import { normaliseAny, normaliseMessage, type ReflectedField, type ReflectedType } from '../../src/xds/normalise.ts';

type FieldSpec = [name: string, type: string, opts?: { repeated?: boolean; map?: boolean; ref?: () => ReflectedType | { valuesById: Record<number, string> } }];

const decoders = new Map<string, object>();
function type(fullName: string, specs: FieldSpec[]): ReflectedType {
  const t: ReflectedType = {
    fullName,
    fieldsArray: [],
    decode: (bytes) => decoders.get(Buffer.from(bytes).toString('hex'))!,
  };
  t.fieldsArray = specs.map(([name, typeName, o]) => {
    const f: ReflectedField = { name, type: typeName, repeated: o?.repeated ?? false, map: o?.map ?? false, resolvedType: null };
    Object.defineProperty(f, 'resolvedType', { get: () => o?.ref?.() ?? null });
    return f;
  });
  return t;
}

const Duration = type('.google.protobuf.Duration', [
  ['seconds', 'int64'],
  ['nanos', 'int32'],
]);
const UInt32Value = type('.google.protobuf.UInt32Value', [['value', 'uint32']]);
const BoolValue = type('.google.protobuf.BoolValue', [['value', 'bool']]);
const Value: ReflectedType = type('.google.protobuf.Value', []);
const Struct = type('.google.protobuf.Struct', [['fields', 'Value', { map: true, ref: () => Value }]]);
const Any = type('.google.protobuf.Any', [
  ['type_url', 'string'],
  ['value', 'bytes'],
]);
const Denominator = { valuesById: { 0: 'HUNDRED', 1: 'TEN_THOUSAND', 2: 'MILLION' } };
const Percent = type('.envoy.type.v3.FractionalPercent', [
  ['numerator', 'uint32'],
  ['denominator', 'DenominatorType', { ref: () => Denominator }],
]);
const Retry = type('.envoy.config.route.v3.RetryPolicy', [
  ['num_retries', 'UInt32Value', { ref: () => UInt32Value }],
  ['per_try_timeout', 'Duration', { ref: () => Duration }],
  ['host_selection_retry_max_attempts', 'int64'],
  ['retriable_status_codes', 'uint32', { repeated: true }],
]);
const Route = type('.envoy.config.route.v3.Route', [
  ['name', 'string'],
  ['retry', 'RetryPolicy', { ref: () => Retry }],
  ['metadata', 'Struct', { ref: () => Struct }],
  ['typed_per_filter_config', 'Any', { map: true, ref: () => Any }],
  ['percent', 'FractionalPercent', { ref: () => Percent }],
  ['flag', 'BoolValue', { ref: () => BoolValue }],
]);
const registry = {
  lookup: (name: string) => ({ 'envoy.config.route.v3.RetryPolicy': Retry, 'google.protobuf.Duration': Duration })[name] ?? null,
};

/** A protobufjs-like decoded message: repeated and map fields always own ([] / {}), scalars only when on the wire. */
const long = (n: string) => ({ low: 0, high: 0, toString: () => n });

describe('normaliseMessage: proto3 JSON mapping', () => {
  it('durations, wrappers, int64 (Long) and enums; empty repeated and map fields left out', () => {
    const retry = {
      num_retries: { value: 2 },
      per_try_timeout: { seconds: long('1'), nanos: 500_000_000 },
      host_selection_retry_max_attempts: long('5'),
      retriable_status_codes: [],
    };
    expect(normaliseMessage(Retry, retry, registry)).toEqual({ num_retries: 2, per_try_timeout: '1.500s', host_selection_retry_max_attempts: '5' });
    expect(normaliseMessage(Route, { percent: { numerator: 5, denominator: 2 }, flag: {}, typed_per_filter_config: {} }, registry)).toEqual({
      percent: { numerator: 5, denominator: 'MILLION' },
      flag: false,
    });
  });

  it('durations print 0, 3, 6 or 9 fractional digits and carry the sign', () => {
    const d = (seconds: number, nanos: number) => normaliseMessage(Duration, { seconds, nanos }, registry);
    expect([d(0, 0), d(15, 0), d(0, 250_000_000), d(0, 250_000), d(1, 1), d(-1, -500_000_000)]).toEqual([
      '0s',
      '15s',
      '0.250s',
      '0.000250s',
      '1.000000001s',
      '-1.500s',
    ]);
  });

  it('Struct (camelCase Value fields as protobufjs bundles them) to plain JSON', () => {
    const metadata = {
      fields: {
        a: { stringValue: 'x' },
        b: { listValue: { values: [{ numberValue: 1 }, { nullValue: 0 }, { boolValue: true }] } },
        c: { structValue: { fields: { d: { string_value: 'snake' } } } },
      },
    };
    expect(normaliseMessage(Route, { metadata }, registry)).toEqual({ metadata: { a: 'x', b: [1, null, true], c: { d: 'snake' } } });
  });

  it('Any: known types decoded beside "@type", well-known types under "value", unknown types keep "@type" only', () => {
    decoders.set('0a01', { num_retries: { value: 3 } });
    decoders.set('0b02', { seconds: 2, nanos: 0 });
    const any = {
      typed_per_filter_config: {
        retry: { type_url: 'type.googleapis.com/envoy.config.route.v3.RetryPolicy', value: Buffer.from('0a01', 'hex') },
        duration: { type_url: 'type.googleapis.com/google.protobuf.Duration', value: Buffer.from('0b02', 'hex') },
      },
    };
    expect(normaliseMessage(Route, any, registry)).toEqual({
      typed_per_filter_config: {
        retry: { '@type': 'type.googleapis.com/envoy.config.route.v3.RetryPolicy', num_retries: 3 },
        duration: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '2s' },
      },
    });
    expect(normaliseAny('type.googleapis.com/io.istio.http.peer_metadata.Config', new Uint8Array([1]), registry)).toEqual({
      '@type': 'type.googleapis.com/io.istio.http.peer_metadata.Config',
    });
  });
});

describe('denormalise: canonical JSON back to protobufjs object form', () => {
  it('durations, wrappers and Struct', () => {
    expect(denormalise(Retry, { num_retries: 2, per_try_timeout: '0.250s' }, registry)).toEqual({
      num_retries: { value: 2 },
      per_try_timeout: { seconds: '0', nanos: 250_000_000 },
    });
    expect(denormalise(Route, { metadata: { a: ['x', 1, null] } }, registry)).toEqual({
      metadata: { fields: { a: { listValue: { values: [{ stringValue: 'x' }, { numberValue: 1 }, { nullValue: 0 }] } } } },
    });
  });

  it('refuses a field the message does not have, and an Any whose type is not loaded unless told to send it empty', () => {
    expect(() => denormalise(Retry, { retry_on: '5xx' }, registry)).toThrow('envoy.config.route.v3.RetryPolicy has no field retry_on');
    const any = { typed_per_filter_config: { x: { '@type': 'type.googleapis.com/stats.PluginConfig' } } };
    expect(() => denormalise(Route, any, registry)).toThrow('stats.PluginConfig is not in the loaded protos');
    expect(denormalise(Route, any, registry, { unknownAny: 'empty' })).toEqual({
      typed_per_filter_config: { x: { type_url: 'type.googleapis.com/stats.PluginConfig', value: new Uint8Array() } },
    });
  });
});
