// The Envoy API protos, from the npm package @grpc/grpc-js-xds (its deps/: envoy-api, xds, googleapis,
// protoc-gen-validate), loaded with protobufjs keeping Envoy's field names (keepCase). Only the files the model
// needs: ADS, the four resource types, and every typed config the loader executes or lists as a no-op (a type
// missing here would reach the loader as a bare {"@type"}; test/xds/grpc/protos.test.ts checks none is).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import type { Root } from 'protobufjs';

const require = createRequire(import.meta.url);

export const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/network/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/grpc_stats/v3/config.proto',
  'envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/request_id/uuid/v3/uuid.proto',
  'udpa/type/v1/typed_struct.proto',
  'xds/type/v3/typed_struct.proto',
];

/** Where imports are looked up: the four proto trees of @grpc/grpc-js-xds, then protobufjs' own google/protobuf
 * (descriptor.proto; the other well-known types are bundled in protobufjs). */
export function protoIncludeDirs(): string[] {
  const xds = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const pbjs = path.dirname(require.resolve('protobufjs/package.json'));
  return [...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(xds, 'deps', d)), pbjs];
}

/**
 * Istio's stats filter config (istio.io/api envoy/extensions/stats/config.proto, package `stats`), which
 * @grpc/grpc-js-xds does not ship: the messages and field numbers istiod writes (model/telemetry.go
 * generateStatsConfig) and the ones the loader refuses by name, so none arrives as a bare {"@type"}.
 */
const ISTIO_STATS_PROTO = {
  stats: {
    nested: {
      MetricConfig: {
        fields: {
          dimensions: { keyType: 'string', type: 'string', id: 1 },
          name: { type: 'string', id: 2 },
          tags_to_remove: { rule: 'repeated', type: 'string', id: 3 },
          match: { type: 'string', id: 4 },
          drop: { type: 'bool', id: 5 },
        },
      },
      MetricType: { values: { COUNTER: 0, GAUGE: 1, HISTOGRAM: 2 } },
      Reporter: { values: { UNSPECIFIED: 0, SERVER_GATEWAY: 1 } },
      MetricDefinition: {
        fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 }, type: { type: 'MetricType', id: 3 } },
      },
      PluginConfig: {
        fields: {
          debug: { type: 'bool', id: 1 },
          max_peer_cache_size: { type: 'int32', id: 2 },
          stat_prefix: { type: 'string', id: 3 },
          field_separator: { type: 'string', id: 4 },
          value_separator: { type: 'string', id: 5 },
          disable_host_header_fallback: { type: 'bool', id: 6 },
          tcp_reporting_duration: { type: 'google.protobuf.Duration', id: 7 },
          metrics: { rule: 'repeated', type: 'MetricConfig', id: 8 },
          definitions: { rule: 'repeated', type: 'MetricDefinition', id: 9 },
          reporter: { type: 'Reporter', id: 10 },
          rotation_interval: { type: 'google.protobuf.Duration', id: 11 },
          graceful_deletion_interval: { type: 'google.protobuf.Duration', id: 12 },
        },
      },
    },
  },
};

let cached: Root | undefined;

export function envoyProtos(): Root {
  if (cached) return cached;
  const dirs = protoIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string) => {
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target; // protobufjs then fails naming the file, rather than skipping the import
  };
  root.loadSync(PROTO_FILES, { keepCase: true });
  root.addJSON(ISTIO_STATS_PROTO);
  root.resolveAll();
  cached = root;
  return root;
}
