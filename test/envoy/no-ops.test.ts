import { describe, expect, it } from 'vitest';
import { resolveExtension } from '../../src/envoy/load/extensions.ts';
import type { Rule } from '../../src/envoy/load/rules.ts';
import * as schema from '../../src/envoy/load/schema.ts';
import { NO_OP_EXTENSIONS, NO_OP_FIELDS } from '../../src/envoy/no-ops.ts';

/** Every no-op key the schema reaches from the four resources. */
function usedNoOpKeys(): Set<string> {
  const used = new Set<string>();
  const seen = new Set<Rule>();
  const visit = (rule: Rule) => {
    if (seen.has(rule)) return;
    seen.add(rule);
    if (rule.kind === 'noop') used.add(rule.key);
    if (rule.kind === 'list' || rule.kind === 'map') visit(rule.of);
    if (rule.kind === 'message' || rule.kind === 'extension') Object.values(rule.fields()).forEach(visit);
  };
  const typedRules = [
    schema.httpConnectionManager,
    schema.tcpProxy,
    schema.networkRbac,
    schema.httpFault,
    schema.httpRbac,
    schema.rbacPerRoute,
    schema.localRateLimit,
    schema.jwtAuthentication,
    schema.router,
    schema.routeFilterConfig,
    schema.istioStats,
    schema.downstreamTlsContext,
    schema.upstreamTlsContext,
    schema.httpProtocolOptions,
  ];
  [schema.listener, schema.routeConfiguration, schema.cluster, schema.clusterLoadAssignment, ...typedRules].forEach(visit);
  return used;
}

describe('the no-op list (src/envoy/no-ops.ts) is the one place no-ops are decided', () => {
  it('every no-op field entry is used by the schema, so the list holds no stale claim', () => {
    expect([...usedNoOpKeys()].sort()).toEqual(Object.keys(NO_OP_FIELDS).sort());
  });

  it('every no-op extension resolves as a no-op in its place, with its reason', () => {
    for (const e of NO_OP_EXTENSIONS) {
      expect(resolveExtension(e.family, e.typeUrl, undefined)).toEqual({ executed: false, noOp: e.why });
    }
  });

  it('a no-op is matched by name only when the filter has no typed config (Envoy resolves by type first)', () => {
    expect(resolveExtension('http_filter', undefined, 'istio.alpn')).toMatchObject({ executed: false, noOp: expect.stringMatching(/ALPN/) });
    expect(resolveExtension('http_filter', 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm', 'istio.alpn')).toEqual({
      executed: false,
      refused: 'is not executed by the local data plane',
    });
  });
});
