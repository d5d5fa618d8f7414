// The built-in inbound listener (src/istio/xds/inbound-listener.ts) against istiod's own config dumps of
// test/fixtures/envoy/istiod (ratings with a RequestAuthentication, a local-rate-limit EnvoyFilter and
// AuthorizationPolicies, whose RBAC filters come from src/istio/xds/authorization-filters.ts), and its bad input.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../../src/errors.ts';
import { loadEnvoyConfig } from '../../../src/envoy/load/index.ts';
import { inboundHttpFilters } from '../../../src/envoy/runtime/listeners.ts';
import { compareConfigs, formatDrift } from '../../../src/fidelity/compare.ts';
import { onlyInboundListener, withoutNetworkAuthzFilters } from '../../../src/fidelity/listener-view.ts';
import { localRateLimitEnvoyFilter } from '../../../src/istio/ratelimit/envoy-filter.ts';
import { buildInboundListener } from '../../../src/istio/xds/inbound-listener.ts';
import type { EnvoyConfig } from '../../../src/envoy/model/index.ts';
import { bookinfoInput, bookinfoProxy } from './bookinfo-input.ts';

const dump = (app: string) => loadEnvoyConfig(readFileSync(new URL(`../../fixtures/envoy/istiod/${app}-config-dump.json`, import.meta.url), 'utf8')).config;
const inboundOnly = (listeners: EnvoyConfig['listeners']) =>
  withoutNetworkAuthzFilters(onlyInboundListener({ listeners, routes: [], clusters: [], endpoints: [] }));

describe('buildInboundListener', () => {
  it.each(['productpage', 'ratings'] as const)("equals istiod's virtualInbound of the %s fixture dump, RBAC filters included", (app) => {
    const ours = buildInboundListener(bookinfoInput(), bookinfoProxy(app));
    const drifts = compareConfigs(app, inboundOnly(ours), inboundOnly(dump(app).listeners)).map(formatDrift);
    expect(drifts).toEqual([]);
    if (app === 'ratings') {
      const names = (inboundHttpFilters(inboundOnly(ours).listeners, 9080, true) ?? []).map((f) => f.name);
      expect(names).toEqual([
        'envoy.filters.http.local_ratelimit',
        'envoy.filters.http.jwt_authn',
        'envoy.filters.http.rbac',
        'envoy.filters.http.rbac',
        'envoy.filters.http.fault',
        'envoy.filters.http.cors',
        'envoy.filters.http.router',
      ]);
    }
  });

  it('has no inbound listener for a router', () => {
    expect(buildInboundListener(bookinfoInput(), { ...bookinfoProxy('ratings'), type: 'router' })).toEqual([]);
  });

  it('refuses an EnvoyFilter patch inserting a filter the data plane does not run, naming the EnvoyFilter field', () => {
    const filter = localRateLimitEnvoyFilter({ name: 'lua', app: 'ratings', maxTokens: 1, tokensPerFill: 1, fillInterval: '1s' });
    const patch = (filter.spec as { configPatches: { patch: { value: unknown } }[] }).configPatches[0];
    if (patch)
      patch.patch.value = { name: 'envoy.filters.http.lua', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua' } };
    const input = { ...bookinfoInput(), envoyFilters: [filter] };
    let error: unknown;
    try {
      buildInboundListener(input, bookinfoProxy('ratings'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).format()).toMatch(/^EnvoyFilter lua: spec\.configPatches\[0\]\.patch\.value.*: .*not executed by the local data plane/);
  });
});
