// The order of several local-rate-limit EnvoyFilters in a chain, as istiod applies them: sorted by priority, root
// namespace first, then age (pilot/pkg/model/push_context.go PushContext.EnvoyFilters), each patch applied in turn, where
// INSERT_FIRST (and INSERT_BEFORE without a subFilter) prepends (networking/core/envoyfilter/listener_patch.go
// patchHTTPFilters), so the last one applied runs first and is the one that refuses once both buckets are empty.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAndWait, mesh, restoreBaseline, yamlObject, type MeshHandle } from './helpers.ts';
import { must } from '../../src/must.ts';

const limitFilter = (name: string, status: number, priority?: number) =>
  yamlObject(`
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: ${name} }
spec:
  workloadSelector: { labels: { app: productpage } }
${priority === undefined ? '' : `  priority: ${priority}\n`}  configPatches:
  - applyTo: HTTP_FILTER
    match: { context: SIDECAR_INBOUND, listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } } }
    patch:
      operation: INSERT_FIRST
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/udpa.type.v1.TypedStruct
          type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          value:
            stat_prefix: ${name}
            status: { code: ${status} }
            token_bucket: { max_tokens: 1, tokens_per_fill: 1, fill_interval: 3600s }
            filter_enabled: { runtime_key: e, default_value: { numerator: 100, denominator: HUNDRED } }
            filter_enforced: { runtime_key: f, default_value: { numerator: 100, denominator: HUNDRED } }
`);

let m: MeshHandle;
beforeAll(async () => {
  m = await mesh({ seed: 41 });
});
afterAll(async () => m?.close());

async function secondStatus(): Promise<number> {
  const statuses: number[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${m.gatewayUrl}/productpage`);
    await r.arrayBuffer();
    statuses.push(r.status);
  }
  const [first, second] = statuses;
  expect(first).toBe(200);
  return must(second, 'the second status');
}

describe('several INSERT_FIRST rate limits on one chain', () => {
  it('the newer filter runs first at equal priority; a higher priority number is applied later, so it runs first', async () => {
    const older = limitFilter('older', 409);
    const newer = limitFilter('newer', 429);
    await applyAndWait(m, [older]);
    await applyAndWait(m, [newer]);
    expect(await secondStatus()).toBe(429);
    await restoreBaseline(m, [older, newer]);
    const olderLast = limitFilter('older', 409, 10);
    await applyAndWait(m, [olderLast]);
    await applyAndWait(m, [newer]);
    expect(await secondStatus()).toBe(409);
  });
});
