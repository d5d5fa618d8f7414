// The built-in sidecar outbound HTTP listeners (src/istio/xds/outbound-listeners.ts) against istiod's own config dumps
// of test/fixtures/envoy/istiod, and the bad input of the gateway and outbound listeners: an EnvoyFilter patch whose
// filter the data plane does not run is refused naming the EnvoyFilter's field, in every patch context.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../../src/errors.ts';
import { loadEnvoyConfig } from '../../../src/envoy/load/index.ts';
import type { EnvoyConfig } from '../../../src/envoy/model/index.ts';
import { compareConfigs, formatDrift } from '../../../src/fidelity/compare.ts';
import { comparedListeners } from '../../../src/fidelity/listener-view.ts';
import { parseGateway } from '../../../src/istio/networking/gateway.ts';
import { localRateLimitEnvoyFilter } from '../../../src/istio/ratelimit/envoy-filter.ts';
import { buildGatewayListeners } from '../../../src/istio/xds/gateway-listeners.ts';
import { buildSidecarOutboundListeners } from '../../../src/istio/xds/outbound-listeners.ts';
import { bookinfoInput, bookinfoProxy } from './bookinfo-input.ts';

const dump = (app: string) => loadEnvoyConfig(readFileSync(new URL(`../../fixtures/envoy/istiod/${app}-config-dump.json`, import.meta.url), 'utf8')).config;
/** The outbound-direction HTTP listeners of a configuration (the compared view without virtualInbound). */
const outboundHttp = (listeners: EnvoyConfig['listeners']) =>
  comparedListeners({ listeners: listeners.filter((l) => l.name !== 'virtualInbound'), routes: [], clusters: [], endpoints: [] });
const router = {
  type: 'router' as const,
  podName: 'istio-ingressgateway-0',
  namespace: 'istio-system',
  ip: '10.244.0.250',
  labels: { istio: 'ingressgateway' },
  serviceAccount: 'gw',
};
const bookinfoGateway = parseGateway({
  apiVersion: 'networking.istio.io/v1',
  kind: 'Gateway',
  metadata: { name: 'bookinfo-gateway', namespace: 'default' },
  spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
});

describe('the outbound HTTP and gateway listeners', () => {
  it.each(['productpage', 'ratings'] as const)("buildSidecarOutboundListeners: the HTTP listeners equal istiod's of the %s fixture dump", (app) => {
    const theirs = outboundHttp(dump(app).listeners);
    expect(theirs.listeners.map((l) => l.name)).toEqual(['0.0.0.0_9080']);
    const drifts = compareConfigs(app, outboundHttp(buildSidecarOutboundListeners(bookinfoInput(), bookinfoProxy(app))), theirs).map(formatDrift);
    expect(drifts).toEqual([]);
  });

  it.each([
    ['GATEWAY', 'istio-system'],
    ['SIDECAR_OUTBOUND', 'default'],
  ] as const)('refuses a %s patch inserting a filter the data plane does not run, naming the EnvoyFilter field', (context, namespace) => {
    const filter = localRateLimitEnvoyFilter({ name: 'lua', namespace, app: 'none', maxTokens: 1, tokensPerFill: 1, fillInterval: '1s' });
    const spec = filter.spec as { workloadSelector?: unknown; configPatches: { match: { context: string }; patch: { value: unknown } }[] };
    delete spec.workloadSelector;
    const [patch] = spec.configPatches;
    if (patch) {
      patch.match.context = context;
      patch.patch.value = { name: 'envoy.filters.http.lua', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua' } };
    }
    const input = { ...bookinfoInput(), gateways: [bookinfoGateway], envoyFilters: [filter] };
    let error: unknown;
    try {
      if (context === 'GATEWAY') buildGatewayListeners(input, router);
      else buildSidecarOutboundListeners(input, bookinfoProxy('ratings'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).format()).toMatch(
      /^EnvoyFilter (istio-system\/)?lua: spec\.configPatches\[0\]\.patch\.value.*: .*not executed by the local data plane/,
    );
  });
});
