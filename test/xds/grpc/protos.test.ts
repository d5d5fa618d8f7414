import { describe, expect, it } from 'vitest';
import { executedTypes } from '../../../src/envoy/load/extensions.ts';
import type { Family } from '../../../src/envoy/load/rules.ts';
import { ResourceType } from '../../../src/envoy/model/type-urls.ts';
import { NO_OP_EXTENSIONS } from '../../../src/envoy/no-ops.ts';
import { envoyProtos } from '../../../src/xds/grpc/protos.ts';

const FAMILIES: Family[] = [
  'listener_filter',
  'network_filter',
  'http_filter',
  'per_filter_config',
  'downstream_transport_socket',
  'upstream_transport_socket',
  'retry_host_predicate',
  'protocol_options',
];

const messageName = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf('/') + 1);

describe('the Envoy protos shipped by @grpc/grpc-js-xds', () => {
  it('hold every resource type and every typed config the loader executes, so none reaches it undecoded', () => {
    const root = envoyProtos();
    const wanted = [...Object.values(ResourceType).filter((t) => !t.endsWith('.Secret')), ...FAMILIES.flatMap(executedTypes)];
    const missing = wanted.filter((t) => root.lookup(messageName(t)) === null);
    expect(missing).toEqual([]);
  });

  it("hold the Envoy no-op filters too (Istio's own, such as istio.alpn and stats, are matched by type URL alone)", () => {
    const root = envoyProtos();
    const envoyNoOps = NO_OP_EXTENSIONS.filter((e) => e.typeUrl?.includes('/envoy.extensions.')).map((e) => e.typeUrl!);
    expect(envoyNoOps.filter((t) => root.lookup(messageName(t)) === null)).toEqual([]);
  });
});
