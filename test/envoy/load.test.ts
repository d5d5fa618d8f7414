import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnvoyConfigError, loadEnvoyConfig } from '../../src/envoy/load/index.ts';
import type { EnvoyConfig } from '../../src/envoy/model/index.ts';
import { SpecError } from '../../src/errors.ts';
import { must } from '../../src/must.ts';

const T = 'type.googleapis.com/';
const dumpText = readFileSync(new URL('../fixtures/envoy/sidecar-config-dump.json', import.meta.url), 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The fixture's resources as a bundle, so that paths read `listeners[1].filter_chains[0]…`. Listener 1 is the
 * outbound 0.0.0.0_9080 (HTTP chain first), 2 virtualInbound; cluster 0 a reviews subset. */
function bundle(): Json {
  const dump = JSON.parse(dumpText);
  const section = (type: string) => dump.configs.find((c: Json) => c['@type'] === `${T}envoy.admin.v3.${type}`);
  return {
    listeners: section('ListenersConfigDump').dynamic_listeners.map((l: Json) => l.active_state.listener),
    routes: section('RoutesConfigDump').dynamic_route_configs.map((r: Json) => r.route_config),
    clusters: section('ClustersConfigDump').dynamic_active_clusters.map((c: Json) => c.cluster),
    endpoints: section('EndpointsConfigDump').dynamic_endpoint_configs.map((e: Json) => e.endpoint_config),
  };
}

function issuesOf(input: Json): string[] {
  try {
    loadEnvoyConfig(input);
  } catch (err) {
    if (err instanceof EnvoyConfigError) return err.errors.map((e) => e.format());
    throw err;
  }
  return [];
}

const outboundHcm = (b: Json) => b.listeners[1].filter_chains[0].filters[0].typed_config;
const inboundHcm = (b: Json) => b.listeners[2].filter_chains[0].filters[1].typed_config;
const jasonRoute = (b: Json) => b.routes[0].virtual_hosts[0].routes[0];
/** The first network filter of the first chain of the loaded model's `index`-th listener. */
const firstFilter = (config: EnvoyConfig, index: number) =>
  must(config.listeners[index]?.filter_chains?.[0]?.filters[0], `the first filter of listener ${index}`);

describe('loadEnvoyConfig: an istiod-shaped sidecar config_dump loads as is', () => {
  it('loads listeners, routes, clusters and endpoints from the dump sections (pilot/pkg/xds/debug.go connectionConfigDump)', () => {
    const { config } = loadEnvoyConfig(dumpText, 'dump.json');
    expect(config.listeners.map((l) => l.name)).toEqual(['virtualOutbound', '0.0.0.0_9080', 'virtualInbound']);
    expect(config.routes.map((r) => r.name)).toEqual(['9080']);
    expect(config.clusters.map((c) => c.name)).toEqual([
      'outbound|9080|v1|reviews.default.svc.cluster.local',
      'PassthroughCluster',
      'BlackHoleCluster',
      'InboundPassthroughCluster',
    ]);
    expect(config.endpoints[0]?.endpoints?.[0]?.lb_endpoints?.map((e) => e.health_status)).toEqual(['HEALTHY', 'UNHEALTHY']);
  });

  it('keeps the executed HTTP filters in order and drops the no-op ones', () => {
    const { config } = loadEnvoyConfig(dumpText);
    const hcm = firstFilter(config, 1).typed_config as Json;
    expect(hcm.http_filters.map((f: Json) => f.name)).toEqual([
      'envoy.filters.http.fault',
      'envoy.filters.http.cors',
      'istio.stats',
      'envoy.filters.http.router',
    ]);
    // istio.stats is kept: its metrics overrides and its host header fallback label istio_requests_total.
    expect(hcm.http_filters[2].typed_config).toEqual({ '@type': 'type.googleapis.com/stats.PluginConfig', disable_host_header_fallback: true });
    expect(hcm.rds).toEqual({ route_config_name: '9080', config_source: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' } });
    expect(hcm.tracing).toBeUndefined();
  });

  it('resolves a local_ratelimit TypedStruct into the LocalRateLimit message, camelCase names included (as Envoy converts a TypedStruct)', () => {
    const { config } = loadEnvoyConfig(dumpText);
    const hcm = firstFilter(config, 2).typed_config as Json;
    expect(hcm.http_filters[0]).toEqual({
      name: 'envoy.filters.http.local_ratelimit',
      typed_config: {
        '@type': `${T}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
        stat_prefix: 'http_local_rate_limiter',
        token_bucket: { max_tokens: 10, tokens_per_fill: 10, fill_interval: '60s' },
        filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
        filter_enforced: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
        response_headers_to_add: [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'x-local-rate-limit', value: 'true' } }],
      },
    });
  });

  it('keeps route behaviour: header match, weighted clusters, retry policy (int64 as number), per-route fault', () => {
    const { config } = loadEnvoyConfig(dumpText);
    const [jason, split] = must(config.routes[0]?.virtual_hosts?.[0], 'the first virtual host').routes!;
    expect(jason?.match.headers).toEqual([{ name: 'end-user', string_match: { exact: 'jason' } }]);
    expect(jason?.route?.retry_policy?.host_selection_retry_max_attempts).toBe(5);
    expect(jason?.route?.retry_policy?.retry_host_predicate?.[0]?.name).toBe('envoy.retry_host_predicates.previous_hosts');
    expect(split?.route?.weighted_clusters?.clusters.map((c) => c.weight)).toEqual([80, 20]);
    expect(split?.typed_per_filter_config?.['envoy.filters.http.fault']).toMatchObject({ abort: { http_status: 503 } });
    expect(jason).not.toHaveProperty('decorator');
  });

  it('keeps cluster behaviour: circuit breakers, outlier detection, max requests per connection, tlsMode socket matches', () => {
    const { config } = loadEnvoyConfig(dumpText);
    const reviews = must(config.clusters[0], 'reviews');
    expect(reviews.circuit_breakers?.thresholds?.[0]).toEqual({
      max_connections: 4294967295,
      max_pending_requests: 4294967295,
      max_requests: 4294967295,
      max_retries: 4294967295,
    });
    expect(reviews.outlier_detection?.consecutive_5xx).toBe(1);
    const options = reviews.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(options?.common_http_protocol_options?.max_requests_per_connection).toBe(1);
    expect(reviews.transport_socket_matches?.map((m) => [m.name, m.match])).toEqual([
      ['tlsMode-istio', { tlsMode: 'istio' }],
      ['tlsMode-disabled', {}],
    ]);
  });

  it('lists every no-op it dropped with why', () => {
    const { ignored } = loadEnvoyConfig(dumpText);
    const at = (path: string) => ignored.find((i) => i.path === path)?.why;
    expect(at('configs[1].dynamic_listeners[1].active_state.listener.listener_filters[0]')).toMatch(/tls_inspector.*know each connection's transport/);
    expect(at('configs[1].dynamic_listeners[1].active_state.listener.filter_chains[0].filters[0].typed_config.tracing')).toMatch(/tracing/);
    expect(at('configs[1].dynamic_listeners[1].active_state.listener.filter_chains[0].filters[0].typed_config.request_id_extension')).toMatch(/uuid/);
    expect(at('configs[1].dynamic_listeners[1].active_state.listener.filter_chains[0].filters[0].typed_config.http_filters[0]')).toMatch(
      /^istio.metadata_exchange \(type.googleapis.com\/io.istio.http.peer_metadata.Config\): /,
    );
    expect(at('configs[1].dynamic_listeners[1].active_state.listener.filter_chains[0].filters[0].typed_config.http_filters[2]')).toMatch(/^istio.alpn/);
    expect(at('configs[3]')).toMatch(/SDS/);
  });

  it('a bundle, a single resource and a list of resources load too', () => {
    const b = bundle();
    expect(loadEnvoyConfig(b).config.clusters).toHaveLength(4);
    expect(loadEnvoyConfig(b.routes[0]).config.routes).toHaveLength(1);
    expect(loadEnvoyConfig([b.clusters[0], b.endpoints[0]]).config.endpoints).toHaveLength(1);
  });
});

/** One refusal per field family: [family, change to the bundle, expected `path: message`]. */
const refusals: [string, (b: Json) => void, string][] = [
  // istio.stats (Telemetry metrics overrides): new metrics and conditional overrides are not emulated.
  [
    'istio.stats definitions',
    (b) => (outboundHcm(b).http_filters[5].typed_config.definitions = [{ name: 'my_count', value: '1' }]),
    'listeners[1].filter_chains[0].filters[0].typed_config.http_filters[5].typed_config.definitions: stats.PluginConfig.definitions is not executed by the local data plane',
  ],
  [
    'istio.stats metric match',
    (b) => (outboundHcm(b).http_filters[5].typed_config.metrics = [{ name: 'requests_total', match: "request.method == 'GET'" }]),
    'listeners[1].filter_chains[0].filters[0].typed_config.http_filters[5].typed_config.metrics[0].match: stats.MetricConfig.match is not executed by the local data plane',
  ],
  ['listener field', (b) => (b.listeners[0].transparent = true), 'listeners[0].transparent: Listener.transparent is not executed by the local data plane'],
  [
    'listener filter',
    (b) =>
      b.listeners[2].listener_filters.push({
        name: 'envoy.filters.listener.proxy_protocol',
        typed_config: { '@type': `${T}envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol` },
      }),
    'listeners[2].listener_filters[3]: envoy.filters.listener.proxy_protocol (type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol) is not executed by the local data plane',
  ],
  [
    'filter chain match',
    (b) => (b.listeners[1].filter_chains[0].filter_chain_match.address_suffix = '10.0.0.1'),
    'listeners[1].filter_chains[0].filter_chain_match.address_suffix: FilterChainMatch.address_suffix is not executed by the local data plane',
  ],
  [
    'network filter',
    (b) =>
      b.listeners[0].filter_chains[0].filters.unshift({
        name: 'envoy.filters.network.local_ratelimit',
        typed_config: { '@type': `${T}envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit`, stat_prefix: 'x' },
      }),
    'listeners[0].filter_chains[0].filters[0]: envoy.filters.network.local_ratelimit (type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit) is not executed by the local data plane',
  ],
  [
    'http filter',
    (b) =>
      outboundHcm(b).http_filters.splice(3, 0, {
        name: 'envoy.filters.http.wasm',
        typed_config: { '@type': `${T}envoy.extensions.filters.http.wasm.v3.Wasm`, config: {} },
      }),
    'listeners[1].filter_chains[0].filters[0].typed_config.http_filters[3]: envoy.filters.http.wasm (type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm) is not executed by the local data plane',
  ],
  [
    'http filter given as a TypedStruct',
    (b) =>
      outboundHcm(b).http_filters.splice(0, 0, {
        name: 'ext-authz',
        typed_config: {
          '@type': `${T}udpa.type.v1.TypedStruct`,
          type_url: `${T}envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`,
          value: { http_service: {} },
        },
      }),
    'listeners[1].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.http_service: ExtAuthz (HTTP filter).http_service is not executed by the local data plane',
  ],
  [
    'http connection manager',
    (b) => (outboundHcm(b).local_reply_config = { mappers: [] }),
    'listeners[1].filter_chains[0].filters[0].typed_config.local_reply_config: HttpConnectionManager.local_reply_config is not executed by the local data plane',
  ],
  [
    'fault filter',
    (b) =>
      (jasonRoute(b).typed_per_filter_config = {
        'envoy.filters.http.fault': {
          '@type': `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`,
          response_rate_limit: { fixed_limit: { limit_kbps: 1 } },
        },
      }),
    'routes[0].virtual_hosts[0].routes[0].typed_per_filter_config["envoy.filters.http.fault"].response_rate_limit: HTTPFault.response_rate_limit is not executed by the local data plane',
  ],
  [
    'gRPC fault abort (the local apps speak HTTP/1.1)',
    (b) =>
      (jasonRoute(b).typed_per_filter_config = {
        'envoy.filters.http.fault': {
          '@type': `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`,
          abort: { grpc_status: 14, percentage: { numerator: 100 } },
        },
      }),
    'routes[0].virtual_hosts[0].routes[0].typed_per_filter_config["envoy.filters.http.fault"].abort.grpc_status: FaultAbort.grpc_status is not executed by the local data plane',
  ],
  [
    'local rate limit (TypedStruct value)',
    (b) => (inboundHcm(b).http_filters[2].typed_config.value.descriptors = [{ entries: [{ key: 'path', value: '/' }] }]),
    'listeners[2].filter_chains[0].filters[1].typed_config.http_filters[2].typed_config.descriptors: LocalRateLimit.descriptors is not executed by the local data plane',
  ],
  [
    'rbac policy',
    (b) =>
      outboundHcm(b).http_filters.splice(3, 0, {
        name: 'envoy.filters.http.rbac',
        typed_config: {
          '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC`,
          rules: { policies: { p: { permissions: [{ any: true }], principals: [{ any: true }], condition: { call_expr: {} } } } },
        },
      }),
    'listeners[1].filter_chains[0].filters[0].typed_config.http_filters[3].typed_config.rules.policies["p"].condition: Policy.condition is not executed by the local data plane',
  ],
  [
    'jwt_authn',
    (b) =>
      outboundHcm(b).http_filters.splice(3, 0, {
        name: 'envoy.filters.http.jwt_authn',
        typed_config: {
          '@type': `${T}envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication`,
          providers: { p: { issuer: 'i', claim_to_headers: [{ header_name: 'x', claim_name: 'sub' }] } },
        },
      }),
    'listeners[1].filter_chains[0].filters[0].typed_config.http_filters[3].typed_config.providers["p"].claim_to_headers: JwtProvider.claim_to_headers is not executed by the local data plane',
  ],
  [
    'route match',
    (b) => (jasonRoute(b).match.grpc = {}),
    'routes[0].virtual_hosts[0].routes[0].match.grpc: RouteMatch.grpc is not executed by the local data plane',
  ],
  [
    'route action',
    (b) => (jasonRoute(b).route.hedge_policy = { hedge_on_per_try_timeout: true }),
    'routes[0].virtual_hosts[0].routes[0].route.hedge_policy: RouteAction.hedge_policy is not executed by the local data plane',
  ],
  [
    'retry policy',
    (b) => (jasonRoute(b).route.retry_policy.rate_limited_retry_back_off = { reset_headers: [{ name: 'retry-after' }], max_interval: '10s' }),
    'routes[0].virtual_hosts[0].routes[0].route.retry_policy.rate_limited_retry_back_off: RetryPolicy.rate_limited_retry_back_off is not executed by the local data plane',
  ],
  [
    'retry host predicate',
    (b) =>
      jasonRoute(b).route.retry_policy.retry_host_predicate.push({
        name: 'envoy.retry_host_predicates.omit_canary_hosts',
        typed_config: { '@type': `${T}envoy.extensions.retry.host.omit_canary_hosts.v3.OmitCanaryHostsPredicate` },
      }),
    'routes[0].virtual_hosts[0].routes[0].route.retry_policy.retry_host_predicate[1]: envoy.retry_host_predicates.omit_canary_hosts (type.googleapis.com/envoy.extensions.retry.host.omit_canary_hosts.v3.OmitCanaryHostsPredicate) is not executed by the local data plane',
  ],
  [
    'weighted clusters (total_weight must be the sum, as Envoy checks)',
    (b) => (b.routes[0].virtual_hosts[0].routes[1].route.weighted_clusters.total_weight = 90),
    "routes[0].virtual_hosts[0].routes[1].route.weighted_clusters.total_weight: total_weight 90 is not the sum of the clusters' weights (100)",
  ],
  [
    'per-filter config',
    (b) =>
      (b.routes[0].virtual_hosts[0].typed_per_filter_config = {
        'envoy.filters.http.cors': {
          '@type': `${T}envoy.extensions.filters.http.cors.v3.CorsPolicy`,
          allow_origin_string_match: [{ exact: '*' }],
          shadow_enabled: { default_value: { numerator: 100 } },
        },
      }),
    'routes[0].virtual_hosts[0].typed_per_filter_config["envoy.filters.http.cors"].shadow_enabled: CorsPolicy.shadow_enabled is not executed by the local data plane',
  ],
  [
    'virtual host',
    (b) => (b.routes[0].virtual_hosts[0].require_tls = 'ALL'),
    'routes[0].virtual_hosts[0].require_tls: VirtualHost.require_tls is not executed by the local data plane',
  ],
  [
    'cluster',
    (b) => (b.clusters[0].lb_subset_config = { subset_selectors: [] }),
    'clusters[0].lb_subset_config: Cluster.lb_subset_config is not executed by the local data plane',
  ],
  [
    'cluster lb policy',
    (b) => (b.clusters[0].lb_policy = 'MAGLEV'),
    'clusters[0].lb_policy: expected one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, CLUSTER_PROVIDED, got "MAGLEV"',
  ],
  [
    'circuit breakers',
    (b) => (b.clusters[0].circuit_breakers.thresholds[0].retry_budget = { budget_percent: { value: 20 } }),
    'clusters[0].circuit_breakers.thresholds[0].retry_budget: CircuitBreakers.Thresholds.retry_budget is not executed by the local data plane',
  ],
  [
    'outlier detection',
    (b) => (b.clusters[0].outlier_detection.failure_percentage_threshold = 50),
    'clusters[0].outlier_detection.failure_percentage_threshold: OutlierDetection.failure_percentage_threshold is not executed by the local data plane',
  ],
  [
    'protocol options',
    (b) => (b.clusters[0].typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].http_filters = []),
    'clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].http_filters: HttpProtocolOptions.http_filters is not executed by the local data plane',
  ],
  [
    'transport socket',
    (b) =>
      (b.clusters[0].transport_socket_matches[0].transport_socket = {
        name: 'envoy.transport_sockets.alts',
        typed_config: { '@type': `${T}envoy.extensions.transport_sockets.alts.v3.Alts` },
      }),
    'clusters[0].transport_socket_matches[0].transport_socket: envoy.transport_sockets.alts (type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts) is not executed by the local data plane',
  ],
  [
    'endpoint',
    (b) => (b.endpoints[0].endpoints[0].lb_endpoints[0].endpoint.health_check_config = { port_value: 1 }),
    'endpoints[0].endpoints[0].lb_endpoints[0].endpoint.health_check_config: Endpoint.health_check_config is not executed by the local data plane',
  ],
  [
    'ECDS-discovered filter',
    (b) => (outboundHcm(b).http_filters[0] = { name: 'wasm', config_discovery: { config_source: { ads: {} }, type_urls: [] } }),
    'listeners[1].filter_chains[0].filters[0].typed_config.http_filters[0]: wasm is not executed by the local data plane',
  ],
];

describe("loadEnvoyConfig refuses, with the field's path, what changes behaviour and is not executed", () => {
  it.each(refusals)('%s', (_family, change, expected) => {
    const b = bundle();
    expect(issuesOf(b)).toEqual([]);
    change(b);
    expect(issuesOf(b)).toEqual([expected]);
  });

  it('reports every refusal in one pass', () => {
    const b = bundle();
    for (const [, change] of refusals.slice(0, 5)) change(b);
    expect(issuesOf(b)).toHaveLength(5);
  });

  it('bad values name the field: a duration that is not proto3 JSON, a route with two actions, a TypedStruct without type_url', () => {
    const b = bundle();
    jasonRoute(b).route.timeout = '15';
    b.routes[0].virtual_hosts[0].routes[1].redirect = { path_redirect: '/x' };
    outboundHcm(b).http_filters[4].typed_config = { '@type': `${T}xds.type.v3.TypedStruct`, value: {} };
    expect(issuesOf(b)).toEqual([
      'listeners[1].filter_chains[0].filters[0].typed_config.http_filters[4].typed_config.type_url: a TypedStruct needs type_url',
      'routes[0].virtual_hosts[0].routes[0].route.timeout: expected a duration such as "1.5s" (proto3 JSON), got "15"',
      'routes[0].virtual_hosts[0].routes[1]: only one of route, redirect, direct_response may be set (got route, redirect)',
    ]);
  });

  it('names the file and line of JSON that does not parse', () => {
    let caught: unknown;
    try {
      loadEnvoyConfig('{\n  "listeners": [\n    {,}\n  ]\n}', 'dump.json');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SpecError);
    expect((caught as SpecError).format()).toMatch(/^dump\.json:3:\d+: not valid JSON/);
  });

  it('names the file of a config it refuses', () => {
    const b = bundle();
    b.clusters[0].lb_subset_config = {};
    expect(() => loadEnvoyConfig(b, 'proxy.json')).toThrow(/^proxy\.json: clusters\[0\]\.lb_subset_config: /);
  });
});

describe('loadEnvoyConfig accepts the policy filters in the shapes istiod builds', () => {
  const T2 = 'type.googleapis.com/';
  it('jwt_authn as security/authn/policy_applier.go builds it, and RBAC trees as security/authz/builder does', () => {
    const b = bundle();
    const jwt = {
      name: 'envoy.filters.http.jwt_authn',
      typed_config: {
        '@type': `${T2}envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication`,
        providers: {
          'origins-0': {
            issuer: 'testing@secure.istio.io',
            local_jwks: { inline_string: '{"keys":[]}' },
            payload_in_metadata: 'payload',
            normalize_payload_in_metadata: { space_delimited_claims: ['permission', 'scope'] },
          },
        },
        rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] } } }],
        bypass_cors_preflight: true,
      },
    };
    const rbac = {
      name: 'envoy.filters.http.rbac',
      typed_config: {
        '@type': `${T2}envoy.extensions.filters.http.rbac.v3.RBAC`,
        rules: {
          action: 'DENY',
          policies: {
            'ns[default]-policy[deny-get]-rule[0]': {
              permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }] } }] } }],
              principals: [
                {
                  and_ids: {
                    ids: [
                      { or_ids: { ids: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' } } }] } },
                      {
                        metadata: {
                          filter: 'envoy.filters.http.jwt_authn',
                          path: [{ key: 'payload' }, { key: 'scope' }],
                          value: { list_match: { one_of: { string_match: { exact: 'read' } } } },
                        },
                      },
                    ],
                  },
                },
              ],
            },
          },
        },
        shadow_rules_stat_prefix: 'istio_dry_run_allow_',
      },
    };
    inboundHcm(b).http_filters.splice(1, 0, jwt, rbac);
    const { config, ignored } = loadEnvoyConfig(b);
    // The loaded model has dropped the no-op istio.metadata_exchange network filter before the HCM.
    const filters = (firstFilter(config, 2).typed_config as Json).http_filters;
    expect(filters.map((f: Json) => f.name)).toEqual([
      'envoy.filters.http.jwt_authn',
      'envoy.filters.http.rbac',
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.fault',
      'envoy.filters.http.cors',
      'istio.stats',
      'envoy.filters.http.router',
    ]);
    expect(filters[1].typed_config.rules.action).toBe('DENY');
    // Shadow rules are run now (their verdict goes to the dynamic metadata an ext_authz filter may read), not ignored.
    expect(filters[1].typed_config.shadow_rules_stat_prefix).toBe('istio_dry_run_allow_');
    expect(ignored.map((i) => i.path)).not.toContain(
      'listeners[2].filter_chains[0].filters[1].typed_config.http_filters[2].typed_config.shadow_rules_stat_prefix',
    );
  });

  it("ext_authz's status_on_error as istiod's dump names it (a StatusCode enum name, builder/extauthz.go parseStatusOnError) or as a number; an undefined code is refused", () => {
    const withStatus = (code: unknown) => {
      const b = bundle();
      inboundHcm(b).http_filters.splice(0, 0, {
        name: 'envoy.filters.http.ext_authz',
        typed_config: {
          '@type': `${T2}envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`,
          grpc_service: { envoy_grpc: { cluster_name: 'outbound|9191||opa.default.svc.cluster.local' }, timeout: '600s' },
          statusOnError: { code },
          transport_api_version: 'V3',
        },
      });
      return b;
    };
    for (const code of ['ServiceUnavailable', 503, '503']) {
      const filters = (firstFilter(loadEnvoyConfig(withStatus(code)).config, 2).typed_config as Json).http_filters;
      expect(filters[0].typed_config.status_on_error).toEqual({ code: 503 });
    }
    expect(() => loadEnvoyConfig(withStatus(499))).toThrow(/status_on_error\.code: expected one of Continue, OK/);
    expect(() => loadEnvoyConfig(withStatus('Teapot'))).toThrow(EnvoyConfigError);
  });
});

describe("json names (istiod's dumps) and proto names (Envoy's) are both read; the model and the paths use proto names", () => {
  it('a refused json-named field is reported by its proto name', () => {
    const b = bundle();
    b.clusters[0].lbSubsetConfig = { subsetSelectors: [] };
    b.clusters[0].outlier_detection = { consecutive5xx: 3, baseEjectionTime: '30s' };
    expect(issuesOf(b)).toEqual(['clusters[0].lb_subset_config: Cluster.lb_subset_config is not executed by the local data plane']);
    delete b.clusters[0].lbSubsetConfig;
    expect(loadEnvoyConfig(b).config.clusters[0]?.outlier_detection).toEqual({ consecutive_5xx: 3, base_ejection_time: '30s' });
  });
});
