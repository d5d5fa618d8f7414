// xDS resources for the tests: the istiod-shaped sidecar dump in test/fixtures/envoy, as DiscoveryResponse resources.
import { readFileSync } from 'node:fs';

const T = 'type.googleapis.com/';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export function fixtureResources() {
  const dump = JSON.parse(readFileSync(new URL('../fixtures/envoy/sidecar-config-dump.json', import.meta.url), 'utf8'));
  const section = (type: string) => dump.configs.find((c: Json) => c['@type'] === `${T}envoy.admin.v3.${type}`);
  return {
    clusters: section('ClustersConfigDump').dynamic_active_clusters.map((c: Json) => c.cluster) as Json[],
    endpoints: section('EndpointsConfigDump').dynamic_endpoint_configs.map((e: Json) => e.endpoint_config) as Json[],
    listeners: section('ListenersConfigDump').dynamic_listeners.map((l: Json) => l.active_state.listener) as Json[],
    routes: section('RoutesConfigDump').dynamic_route_configs.map((r: Json) => r.route_config) as Json[],
  };
}

export const wasmFilter = {
  name: 'envoy.filters.http.wasm',
  typed_config: { '@type': `${T}envoy.extensions.filters.http.wasm.v3.Wasm`, config: {} },
};
