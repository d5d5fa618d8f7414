// The built-in gateway listeners (src/istio/xds/gateway-listeners.ts) and sidecar outbound HTTP listeners
// (src/istio/xds/outbound-listeners.ts) against istiod's own (tools/istio-translate), for what the generated corpus
// does not reach: a gateway's authorization (CUSTOM, DENY, ALLOW), RequestAuthentication and GATEWAY EnvoyFilter
// patches, several Gateways and ports, SIDECAR_OUTBOUND patches, and ServiceEntry ports (sniffed without an address,
// HTTP next to TCP). test/fidelity/corpus-routes.test.ts compares the same listeners over 60 corpus sets.
import { afterAll, describe, expect, it } from 'vitest';
import { bookinfoProxies, bookinfoRegistry, ingressGateway } from '../../src/fidelity/bookinfo.ts';
import { IstiodTranslator } from '../../src/fidelity/istiod-translator.ts';
import { serviceClusterIp, type Registry } from '../../src/fidelity/kube-objects.ts';
import { comparedListeners, withoutNetworkAuthzFilters } from '../../src/fidelity/listener-view.ts';
import { runFidelity, translationInput, withMeshConfig } from '../../src/fidelity/run.ts';
import { TypedConfigType, type Listener } from '../../src/envoy/model/index.ts';
import { gatewayHttpFilters, inboundHttpFilters, outboundHttpFilters } from '../../src/envoy/runtime/listeners.ts';
import { localRateLimitEnvoyFilter } from '../../src/istio/ratelimit/envoy-filter.ts';
import { buildListeners } from '../../src/istio/xds/listeners.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { parseServiceEntry } from '../../src/istio/networking/service-entry.ts';
import type { ServiceInput } from '../../src/istio/xds/input.ts';
import { k8sObject } from '../support/k8s-object.ts';

const translator = IstiodTranslator.start();
afterAll(async () => translator.close());

const JWKS =
  '{"keys":[{"e":"AQAB","kid":"k1","kty":"RSA","n":"xAE7eB6qugXyCAG3yhh7pkDkT65pHymX-P7KfIupjf59vsdo91bSP9C8H07pSAGQO1MV_xFj9VswgsCg4R6otmg5PV2He95lZdHtOcU5DXIg_pbhLdKXbi66GlVeK6ABZOUW3WYtnNHD-91gVuoeJT_DwtGGcp4ignkgXfkiEm4sw-4sfb4qdt5oLbyVpmW6x9cfa7vs2WTfURiCrBoUqgBo_-4WTiULmmHSGZHOjzwa8WtrtOQGsAFjIbno85jp6MnGGGZPYZbDAa_b3y5u-YpW7ypZrvD8BgtKVjgtQgZhLAGezMt0ua3DRrWnKqTZ0BJ_EyxOGuHJrLsn00fnMQ"}]}';
const EXT_AUTHZ_MESH_CONFIG =
  'extensionProviders:\n- name: ext-authz\n  envoyExtAuthzGrpc:\n    service: ext-authz.default.svc.cluster.local\n    port: 9191\n';
const L = 'envoy.filters.http.local_ratelimit';

/** Compares every proxy's listeners of the set (the compared view, listener-view.ts); returns how many listeners the view held. */
async function compare(
  name: string,
  objects: K8sObject[],
  options: { registry?: Registry; meshConfig?: string; external?: ServiceInput[]; withRoutes?: boolean } = {},
) {
  const registry = options.registry ?? bookinfoRegistry();
  const proxies = bookinfoProxies(registry);
  const lines: string[] = [];
  let viewed = 0;
  const result = await runFidelity({
    sets: [{ name, registry, proxies, objects, ...(options.meshConfig ? { meshConfig: options.meshConfig } : {}) }],
    istiod: translator,
    parts: options.withRoutes ? ['listeners', 'routes'] : ['listeners'],
    view: (c) => {
      const v = withoutNetworkAuthzFilters(comparedListeners(c));
      viewed += v.listeners.length;
      return v;
    },
    log: (line) => lines.push(line),
    builtin: (input, proxy) => ({
      listeners: buildListeners({ ...input, services: [...input.services, ...(options.external ?? [])] }, proxy),
      routes: options.withRoutes ? buildRoutes(input, proxy) : [],
      clusters: [],
      endpoints: [],
    }),
  });
  expect(result.invalid).toEqual([]);
  expect(result.refused).toEqual([]);
  expect(result.builtinErrors).toEqual([]);
  expect(lines.slice(0, 20)).toEqual([]);
  expect(result.compared).toBe(proxies.length);
  return viewed;
}

/** ServiceEntry hosts as the local mesh hands them to the built-in control plane (builtin-control-plane.ts serviceInput). */
function externalServices(objects: K8sObject[]): ServiceInput[] {
  return objects
    .filter((o) => o.kind === 'ServiceEntry')
    .map((o) => parseServiceEntry(o))
    .flatMap((e) =>
      e.hosts.map((host) => ({
        name: host,
        namespace: e.namespace,
        fqdn: host,
        selector: {},
        ports: e.ports.map((p) => ({ port: p.number, name: p.name, ...(p.protocol ? { appProtocol: p.protocol } : {}), targetPort: p.number })),
        external: { resolution: e.resolution, entry: e.name },
      })),
    );
}

/** The built-in listeners of the first proxy whose pod name starts with `pod` (equal to istiod's once compare() passed). */
function builtin(objects: K8sObject[], pod: string, registry = bookinfoRegistry(), meshConfig?: string): Listener[] {
  const proxy = bookinfoProxies(registry).find((p) => p.podName.startsWith(pod));
  if (!proxy) throw new Error(`no proxy ${pod}`);
  return buildListeners(withMeshConfig(translationInput(registry, objects), meshConfig), proxy);
}

const gateway = (name: string, servers: { number: number; hosts: string[] }[]): K8sObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace: 'default' },
  spec: {
    selector: { istio: 'ingressgateway' },
    servers: servers.map((s) => ({ port: { number: s.number, name: `http-${s.number}`, protocol: 'HTTP' }, hosts: s.hosts })),
  },
});
const virtualService = (name: string, gateways: string[], host: string): K8sObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name, namespace: 'default' },
  spec: { hosts: [host], gateways, http: [{ route: [{ destination: { host: 'productpage', port: { number: 9080 } } }] }] },
});

/** A local rate limit patched into `context` at `operation` (before the router unless told). */
function rateLimit(
  name: string,
  context: string,
  labels: Record<string, string> | undefined,
  namespace: string,
  operation = 'INSERT_BEFORE',
  subFilter?: string,
) {
  const filter = localRateLimitEnvoyFilter({ name, app: 'none', namespace, maxTokens: 10, tokensPerFill: 10, fillInterval: '1s' });
  const spec = filter.spec as { workloadSelector?: unknown; configPatches: { match: Record<string, unknown>; patch: Record<string, unknown> }[] };
  if (labels) spec.workloadSelector = { labels };
  else delete spec.workloadSelector;
  const [patch] = spec.configPatches;
  if (!patch) throw new Error('no patch');
  patch.match.context = context;
  patch.patch.operation = operation;
  const listener = patch.match.listener as { filterChain: { filter: Record<string, unknown> } };
  listener.filterChain.filter.subFilter = { name: subFilter ?? 'envoy.filters.http.router' };
  return filter;
}

const policy = (name: string, spec: Record<string, unknown>): K8sObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace: 'istio-system' },
  spec: { selector: { matchLabels: { istio: 'ingressgateway' } }, ...spec },
});

describe('the built-in gateway and outbound HTTP listeners against istiod', () => {
  it('a gateway (buildGatewayListeners): one listener per server port, several Gateways on one port in one listener, a Service port (80) at its target port (8080)', async () => {
    const objects = [
      gateway('web', [{ number: 8080, hosts: ['*'] }]),
      gateway('web-too', [{ number: 8080, hosts: ['bookinfo.example'] }]),
      virtualService('web', ['web', 'web-too'], '*'),
    ];
    expect(await compare('gateway-one-port', objects)).toBeGreaterThan(0);
    expect(builtin(objects, ingressGateway.podName).map((l) => l.name)).toEqual(['0.0.0.0_8080']);
    const servicePort = [gateway('service-port', [{ number: 80, hosts: ['*'] }]), virtualService('web', ['service-port'], '*')];
    // model/gateway.go gatewayRDSRouteName names the routes by the resolved port: the listener and its routes agree.
    await compare('gateway-service-port', servicePort, { withRoutes: true });
    const [listener] = builtin(servicePort, ingressGateway.podName);
    const hcm = listener?.filter_chains?.[0]?.filters[0]?.typed_config;
    expect([listener?.name, hcm?.['@type'] === TypedConfigType.httpConnectionManager ? hcm.rds?.route_config_name : undefined]).toEqual([
      '0.0.0.0_8080',
      'http.8080',
    ]);
  }, 30_000);

  it("a gateway's filters in istiod's order (buildHTTPConnectionManager): CUSTOM, jwt_authn, DENY, ALLOW, fault, CORS, GATEWAY EnvoyFilter patches; a SIDECAR_INBOUND patch does not reach it", async () => {
    const registry = bookinfoRegistry();
    registry.services.push({
      name: 'ext-authz',
      namespace: 'default',
      fqdn: 'ext-authz.default.svc.cluster.local',
      selector: { app: 'ext-authz' },
      ports: [{ port: 9191, name: 'grpc', targetPort: 9191 }],
      clusterIp: serviceClusterIp(registry.services.length),
    });
    const objects: K8sObject[] = [
      ...[gateway('web', [{ number: 8080, hosts: ['*'] }]), virtualService('web', ['web'], '*')],
      policy('custom', { action: 'CUSTOM', provider: { name: 'ext-authz' }, rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }),
      policy('deny', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] }),
      policy('allow', { action: 'ALLOW', rules: [{ from: [{ source: { remoteIpBlocks: ['10.0.0.0/8'] } }] }] }),
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'RequestAuthentication',
        metadata: { name: 'jwt', namespace: 'istio-system' },
        spec: { selector: { matchLabels: { istio: 'ingressgateway' } }, jwtRules: [{ issuer: 'issuer', jwks: JWKS }] },
      },
      rateLimit('gateway-limit', 'GATEWAY', { istio: 'ingressgateway' }, 'istio-system'),
      rateLimit('gateway-first', 'GATEWAY', { istio: 'ingressgateway' }, 'istio-system', 'INSERT_FIRST'),
      rateLimit('gateway-after-cors', 'GATEWAY', { istio: 'ingressgateway' }, 'istio-system', 'INSERT_AFTER', 'envoy.filters.http.cors'),
      rateLimit('inbound-only', 'SIDECAR_INBOUND', { istio: 'ingressgateway' }, 'istio-system'),
    ];
    await compare('gateway-filters', objects, { registry, meshConfig: EXT_AUTHZ_MESH_CONFIG });
    expect((gatewayHttpFilters(builtin(objects, ingressGateway.podName, registry, EXT_AUTHZ_MESH_CONFIG), 8080) ?? []).map((f) => f.name)).toEqual([
      L,
      'envoy.filters.http.rbac',
      'envoy.filters.http.ext_authz',
      'envoy.filters.http.jwt_authn',
      'envoy.filters.http.rbac',
      'envoy.filters.http.rbac',
      'envoy.filters.http.fault',
      'envoy.filters.http.cors',
      L,
      L,
      'envoy.filters.http.router',
    ]);
  }, 30_000);

  it('a gateway without a bound Gateway has no listener; a Gateway selecting other pods binds nothing', async () => {
    const other = { ...gateway('elsewhere', [{ number: 8080, hosts: ['*'] }]) };
    (other.spec as { selector: Record<string, string> }).selector = { istio: 'egressgateway' };
    await compare('gateway-unbound', [other]);
    expect(builtin([other], ingressGateway.podName)).toEqual([]);
  }, 30_000);

  it('sidecar outbound HTTP listeners (buildSidecarOutboundHTTPListenerOpts): SIDECAR_OUTBOUND patches by port and workload, mesh-wide; a gateway patch does not reach them', async () => {
    const objects = [
      rateLimit('outbound-reviews', 'SIDECAR_OUTBOUND', { app: 'reviews' }, 'default'),
      rateLimit('outbound-mesh', 'SIDECAR_OUTBOUND', undefined, 'istio-system', 'INSERT_FIRST'),
      (() => {
        const f = rateLimit('outbound-9080', 'SIDECAR_OUTBOUND', { app: 'productpage' }, 'default', 'REPLACE', 'envoy.filters.http.cors');
        const spec = f.spec as { configPatches: { match: { listener: Record<string, unknown> } }[] };
        const [patch] = spec.configPatches;
        if (patch) patch.match.listener.portNumber = 9080;
        return f;
      })(),
      rateLimit('gateway-only', 'GATEWAY', undefined, 'default'),
    ];
    await compare('outbound-patches', objects);
    const names = (pod: string, port: number) => (outboundHttpFilters(builtin(objects, pod), port) ?? []).map((f) => f.name);
    expect(names('reviews-v1', 9080)).toEqual([L, 'envoy.filters.http.fault', 'envoy.filters.http.cors', L, 'envoy.filters.http.router']);
    expect(names('productpage', 9080)).toEqual([L, 'envoy.filters.http.fault', L, 'envoy.filters.http.router']);
    expect(names('productpage', 80)).toEqual([L, 'envoy.filters.http.fault', 'envoy.filters.http.cors', 'envoy.filters.http.router']);
  }, 30_000);

  it('ServiceEntry ports (buildSidecarOutboundListener): HTTP with DNS and NONE resolution on one port, TCP, TLS and TCP next to HTTP (mergeTCPFilterChains: the SNI chain joins the HTTP listener, a match-all TCP chain is its default); REGISTRY_ONLY', async () => {
    const entry = (name: string, hosts: string[], ports: Record<string, unknown>[], resolution = 'DNS'): K8sObject => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name, namespace: 'default' },
      spec: { hosts, ports, location: 'MESH_EXTERNAL', resolution },
    });
    const objects = [
      entry('http-api', ['api.example.com'], [{ number: 8081, name: 'http', protocol: 'HTTP' }]),
      entry('http-none', ['none.example.com'], [{ number: 8081, name: 'http', protocol: 'HTTP' }], 'NONE'),
      entry('tcp', ['tcp.example.com'], [{ number: 8082, name: 'tcp', protocol: 'TCP' }]),
      entry('tcp-on-8081', ['raw.example.com'], [{ number: 8081, name: 'tcp', protocol: 'TCP' }], 'NONE'),
      entry('tls-and-http', ['secure.example.com'], [{ number: 8083, name: 'tls', protocol: 'TLS' }]),
      entry('http-on-8083', ['plain.example.com'], [{ number: 8083, name: 'http', protocol: 'HTTP' }]),
    ];
    const external = externalServices(objects);
    await compare('service-entries', objects, { external });
    await compare('service-entries-registry-only', objects, { external, meshConfig: 'outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n' });
  }, 60_000);

  it('Telemetry metrics overrides (telemetry.go mergeMetrics + generateStatsConfig): the istio.stats filter per class, CLIENT on gateways and outbound listeners, SERVER inbound, the Host header fallback off on inbound and gateway listeners; ALL_METRICS disabled leaves it out', async () => {
    const telemetry = (name: string, namespace: string, spec: Record<string, unknown>) =>
      k8sObject('telemetry.istio.io/v1', 'Telemetry', name, namespace, spec);
    const objects = [
      telemetry('mesh-default', 'istio-system', {
        metrics: [
          {
            overrides: [
              {
                match: { metric: 'REQUEST_COUNT', mode: 'CLIENT' },
                tagOverrides: { request_method: { value: 'request.method' }, request_protocol: { operation: 'REMOVE' } },
              },
              { match: { metric: 'REQUEST_COUNT', mode: 'SERVER' }, disabled: true },
              { match: { customMetric: 'my_total' }, tagOverrides: { destination_version: { value: "'pinned'" } } },
            ],
          },
        ],
      }),
      telemetry('reviews-off', 'default', {
        selector: { matchLabels: { app: 'reviews' } },
        metrics: [{ overrides: [{ match: { mode: 'SERVER' }, disabled: true }] }],
      }),
      gateway('web', [{ number: 8080, hosts: ['*'] }]),
      virtualService('web', ['web'], '*'),
    ];
    const meshConfig = 'defaultProviders:\n  metrics:\n  - prometheus\n';
    await compare('telemetry', objects, { meshConfig });
    const stats = (filters: { name: string; typed_config?: unknown }[] | undefined) => (filters ?? []).find((f) => f.name === 'istio.stats')?.typed_config;
    const client = stats(outboundHttpFilters(builtin(objects, 'productpage', bookinfoRegistry(), meshConfig), 9080));
    expect(client).toEqual({
      '@type': 'type.googleapis.com/stats.PluginConfig',
      metrics: [
        { name: 'requests_total', dimensions: { request_method: 'request.method' }, tags_to_remove: ['request_protocol'] },
        { name: 'my_total', dimensions: { destination_version: "'pinned'" } },
      ],
    });
    // telemetry.go disableHostHeaderFallback: true on inbound (and gateway) listeners, left out (false) on outbound ones.
    expect(stats(inboundHttpFilters(builtin(objects, 'productpage', bookinfoRegistry(), meshConfig), 9080, true))).toEqual({
      '@type': 'type.googleapis.com/stats.PluginConfig',
      disable_host_header_fallback: true,
      metrics: [
        { name: 'requests_total', drop: true },
        { name: 'my_total', dimensions: { destination_version: "'pinned'" } },
      ],
    });
    expect(stats(inboundHttpFilters(builtin(objects, 'reviews-v1', bookinfoRegistry(), meshConfig), 9080, true))).toBeUndefined();
  }, 60_000);
});
