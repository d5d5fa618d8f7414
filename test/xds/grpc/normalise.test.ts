// The normaliser on real protobuf: messages built and encoded with protobufjs from the Envoy protos, decoded, and
// compared with Envoy's canonical JSON (what istiod's /debug/config_dump prints).
import { describe, expect, it } from 'vitest';
import { loadEnvoyResource } from '../../../src/envoy/load/index.ts';
import { ResourceType } from '../../../src/envoy/model/type-urls.ts';
import { encodeJson, type EncodableType } from '../../../src/xds/denormalise.ts';
import { envoyProtos } from '../../../src/xds/grpc/protos.ts';
import { normaliseAny, normaliseMessage } from '../../../src/xds/normalise.ts';
import { fixtureResources } from '../fixture.ts';

const T = 'type.googleapis.com/';
const root = envoyProtos();
const type = (name: string) => root.lookupType(name) as unknown as EncodableType;

/** Encodes with protobufjs from its own object form (not through denormalise), decodes, normalises. */
function viaProtobuf(name: string, object: Record<string, unknown>) {
  const t = root.lookupType(name);
  const bytes = t.encode(t.fromObject(object)).finish();
  return { decoded: t.decode(bytes), json: normaliseMessage(t as unknown as EncodableType, t.decode(bytes), root) };
}

describe('normaliseMessage: protobufjs messages → canonical proto3 JSON', () => {
  it('Duration as protojson prints it: "1.500s", "0s", "0.000250s"', () => {
    const { decoded, json } = viaProtobuf('envoy.config.route.v3.RouteAction', {
      cluster: 'c',
      timeout: { seconds: 1, nanos: 500_000_000 },
      idle_timeout: { seconds: 0, nanos: 0 },
      retry_policy: { per_try_timeout: { seconds: 0, nanos: 250_000 } },
    });
    expect(json).toEqual({ cluster: 'c', timeout: '1.500s', idle_timeout: '0s', retry_policy: { per_try_timeout: '0.000250s' } });
    // What the normaliser exists for: protobufjs' own object form is not canonical.
    expect(root.lookupType('envoy.config.route.v3.RouteAction').toObject(decoded).timeout).toMatchObject({ nanos: 500_000_000 });
  });

  it('wrappers unwrapped (UInt32Value, BoolValue), uint32 at its maximum, int64 as a decimal string, enums by name', () => {
    const { json } = viaProtobuf('envoy.config.cluster.v3.Cluster', {
      name: 'outbound|9080||reviews.default.svc.cluster.local',
      type: 'EDS',
      lb_policy: 'LEAST_REQUEST',
      circuit_breakers: { thresholds: [{ max_retries: { value: 4294967295 }, track_remaining: true }] },
      outlier_detection: { consecutive_5xx: { value: 0 }, split_external_local_origin_errors: false },
    });
    expect(json).toEqual({
      name: 'outbound|9080||reviews.default.svc.cluster.local',
      type: 'EDS',
      lb_policy: 'LEAST_REQUEST',
      circuit_breakers: { thresholds: [{ max_retries: 4294967295, track_remaining: true }] },
      outlier_detection: { consecutive_5xx: 0 },
    });
    const retry = viaProtobuf('envoy.config.route.v3.RetryPolicy', { host_selection_retry_max_attempts: '5', num_retries: { value: 2 } });
    expect(retry.json).toEqual({ host_selection_retry_max_attempts: '5', num_retries: 2 });
  });

  it('Struct metadata as plain JSON (nested structs, lists, numbers, null)', () => {
    const { json } = viaProtobuf('envoy.config.core.v3.Metadata', {
      filter_metadata: {
        istio: {
          fields: {
            workload: { stringValue: 'reviews-v1;default;reviews;v1;Kubernetes' },
            ports: { listValue: { values: [{ numberValue: 9080 }, { nullValue: 0 }] } },
            nested: { structValue: { fields: { ok: { boolValue: true } } } },
          },
        },
      },
    });
    expect(json).toEqual({ filter_metadata: { istio: { workload: 'reviews-v1;default;reviews;v1;Kubernetes', ports: [9080, null], nested: { ok: true } } } });
  });

  it('Any with the embedded message\'s fields beside "@type", nested Anys too; a type not loaded keeps only "@type"', () => {
    const fault = type('envoy.extensions.filters.http.fault.v3.HTTPFault');
    const faultBytes = encodeJson(fault, { abort: { http_status: 503, percentage: { numerator: 500000, denominator: 'MILLION' } } }, root);
    const { json } = viaProtobuf('envoy.config.route.v3.Route', {
      match: { prefix: '/' },
      direct_response: { status: 200 },
      typed_per_filter_config: { 'envoy.filters.http.fault': { type_url: `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`, value: faultBytes } },
    });
    expect(json).toEqual({
      match: { prefix: '/' },
      direct_response: { status: 200 },
      typed_per_filter_config: {
        'envoy.filters.http.fault': {
          '@type': `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`,
          abort: { http_status: 503, percentage: { numerator: 500000, denominator: 'MILLION' } },
        },
      },
    });
    expect(normaliseAny(`${T}io.istio.http.peer_metadata.Config`, new Uint8Array([8, 1]), root)).toEqual({ '@type': `${T}io.istio.http.peer_metadata.Config` });
    // Istio's stats config is defined in src/xds/grpc/protos.ts: field 6 (disable_host_header_fallback) decodes.
    expect(normaliseAny(`${T}stats.PluginConfig`, new Uint8Array([48, 1]), root)).toEqual({
      '@type': `${T}stats.PluginConfig`,
      disable_host_header_fallback: true,
    });
  });

  it('a TypedStruct arrives with its Struct as JSON (what the loader converts, as Envoy does)', () => {
    const ts = type('udpa.type.v1.TypedStruct');
    const value = {
      type_url: `${T}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
      value: { stat_prefix: 'rl', token_bucket: { max_tokens: 10, fill_interval: '60s' } },
    };
    const bytes = encodeJson(ts, value, root);
    expect(normaliseAny(`${T}udpa.type.v1.TypedStruct`, bytes, root)).toEqual({ '@type': `${T}udpa.type.v1.TypedStruct`, ...value });
  });

  it('every fixture resource loads to the same model from JSON and from protobuf (encode → decode → normalise)', () => {
    const r = fixtureResources();
    const cases: [string, Record<string, unknown>[]][] = [
      [ResourceType.cluster, r.clusters],
      [ResourceType.clusterLoadAssignment, r.endpoints],
      [ResourceType.listener, r.listeners],
      [ResourceType.routeConfiguration, r.routes],
    ];
    for (const [typeUrl, resources] of cases) {
      const t = type(typeUrl.slice(T.length));
      for (const resource of resources) {
        const { '@type': _t, ...body } = resource;
        const decoded = normaliseMessage(t, t.decode(encodeJson(t, body as never, root, { unknownAny: 'empty' })), root);
        const fromProtobuf = loadEnvoyResource(typeUrl as never, decoded);
        const fromJson = loadEnvoyResource(typeUrl as never, resource);
        expect(fromProtobuf.issues).toEqual([]);
        expect(fromProtobuf.resource).toEqual(fromJson.resource);
      }
    }
  });
});
