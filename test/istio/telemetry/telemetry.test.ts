// Telemetry metrics overrides: which Telemetries a proxy takes and how they merge (istio/istio
// pilot/pkg/model/telemetry.go applicableTelemetries, mergeMetrics), and what Envoy's istio_stats filter then writes
// into istio_requests_total (istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc overrideTags).
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../../src/errors.ts';
import type { K8sObject } from '../../../src/spec/types.ts';
import { compileExpression, type RequestAttributes } from '../../../src/istio/telemetry/expression.ts';
import {
  parseTelemetry,
  requestCountMetricsOf,
  requestMetricsFor,
  statsConfigsFor,
  unparsableTagValues,
  type TelemetryModel,
} from '../../../src/istio/telemetry/telemetry.ts';
import { installedMeshYaml, parseMeshConfig } from '../../../src/istio/mesh-config.ts';
import { TypedConfigType, type HttpFilter, type StatsMetricConfig } from '../../../src/envoy/model/index.ts';
import { requestMetricsOfListeners } from '../../../src/targets/local/request-metrics.ts';
import { ProxyStats } from '../../../src/targets/local/proxy/stats.ts';
import { record, type PeerInfo, type UpstreamTarget } from '../../../src/targets/local/proxy/telemetry.ts';
import { k8sObject } from '../../support/k8s-object.ts';

function telemetry(name: string, namespace: string, spec: Record<string, unknown>): K8sObject {
  return k8sObject('telemetry.istio.io/v1', 'Telemetry', name, namespace, spec);
}
/** An installation's defaultProviders.metrics (the istio ConfigMap istioctl and Helm write). */
const PROMETHEUS = ['prometheus'];
const models = (...objects: K8sObject[]): TelemetryModel[] => objects.map((o) => parseTelemetry(o));
const tags = (t: Record<string, unknown>) => ({ metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT' }, tagOverrides: t }] }] });
const refusal = (o: K8sObject): string => {
  try {
    parseTelemetry(o);
  } catch (e) {
    if (e instanceof SpecError) return e.format();
    throw e;
  }
  return 'accepted';
};

const request: RequestAttributes = {
  method: 'POST',
  host: 'api-gateway:8080',
  path: '/api/v1/projects?page=2',
  headers: { 'x-tenant': 'acme', 'user-agent': 'k6' },
  status: 201,
  mtls: true,
};

describe('tagOverride values (CEL, as istio_stats parses and evaluates them)', () => {
  it('evaluates the attributes real configurations use, and string literals', () => {
    const value = (text: string) => {
      const c = compileExpression(text);
      return c.kind === 'attribute' ? c.evaluate(request) : c.kind;
    };
    expect(value('request.method')).toBe('POST');
    expect(value('request.host')).toBe('api-gateway:8080');
    expect(value('request.path')).toBe('/api/v1/projects?page=2');
    expect(value('request.url_path')).toBe('/api/v1/projects');
    expect(value("request.headers['x-tenant']")).toBe('acme');
    expect(value('request.headers["X-Tenant"]')).toBe('acme');
    expect(value("request.headers['x-missing']")).toBe('unknown'); // a missing map key is an evaluation error
    expect(value('response.code')).toBe('201');
    expect(value('connection.mtls')).toBe('true');
    expect(value('"static"')).toBe('static');
  });

  it("the Mixer-era default `a | b` is not CEL: Envoy's parser refuses it", () => {
    const c = compileExpression('response.code | "unknown"');
    expect(c.kind).toBe('unparsable');
    expect(compileExpression('request.host & x').kind).toBe('unparsable');
    expect(compileExpression("'open").kind).toBe('unparsable');
  });

  it('other CEL (operators, functions, other attributes) is not emulated', () => {
    for (const text of ['request.method == "GET"', 'string(response.code)', 'request.size', 'has(request.headers.x)', 'a ? b : c'])
      expect(compileExpression(text).kind, text).toBe('unsupported');
  });
});

describe('parseTelemetry (validation.go ValidateTelemetry, and what the local target refuses)', () => {
  it('refuses, naming the field: tracing, access logging, another provider, an expression it does not evaluate, REMOVE with a value, UPSERT without one', () => {
    expect(refusal(telemetry('t', 'shop', { tracing: [{ randomSamplingPercentage: 10 }] }))).toMatch(
      /^Telemetry shop\/t: spec\.tracing: tracing is not emulated/,
    );
    expect(refusal(telemetry('t', 'shop', { accessLogging: [{ providers: [{ name: 'envoy' }] }] }))).toMatch(
      /spec\.accessLogging: access logging is not emulated/,
    );
    expect(refusal(telemetry('t', 'shop', { metrics: [{ providers: [{ name: 'stackdriver' }] }] }))).toMatch(
      /spec\.metrics\[0\]\.providers\[0\]\.name: only the prometheus provider/,
    );
    expect(refusal(telemetry('t', 'shop', tags({ m: { value: 'string(response.code)' } })))).toMatch(
      /spec\.metrics\[0\]\.overrides\[0\]\.tagOverrides\.m\.value: not emulated: .*request\.method/,
    );
    expect(refusal(telemetry('t', 'shop', tags({ m: { operation: 'REMOVE', value: 'x' } })))).toMatch(
      /tagOverrides\.m\.value: tagOverrides\.value may only be set/,
    );
    expect(refusal(telemetry('t', 'shop', tags({ m: { operation: 'UPSERT' } })))).toMatch(/tagOverrides\.m\.value: tagOverrides\.value must be set/);
    expect(refusal(telemetry('t', 'shop', { selector: { matchLabels: { app: 'a' } }, targetRefs: [{ kind: 'Gateway', name: 'g' }] }))).toMatch(
      /spec\.selector: only one of targetRefs or workloadSelector/,
    );
  });

  it('names the unparsable values for meshproof validate', () => {
    const o = telemetry('metrics-config', 'shop', tags({ method: { value: 'request.method' }, response_code: { value: 'response.code | "unknown"' } }));
    expect(unparsableTagValues(o)).toEqual([
      {
        path: 'spec.metrics[0].overrides[0].tagOverrides.response_code.value',
        value: 'response.code | "unknown"',
        why: expect.stringMatching(/"\|"/),
        standard: true,
      },
    ]);
  });
});

describe('requestMetricsFor (telemetry.go applicableTelemetries + mergeMetrics)', () => {
  const api = { namespace: 'shop', labels: { app: 'api', version: 'v1' } };

  it("the threat-modelling team's override: method added, response_code dropped (its value does not parse), on both sides", () => {
    const m = requestMetricsFor(
      models(telemetry('metrics-config', 'shop', tags({ method: { value: 'request.method' }, response_code: { value: 'response.code | "unknown"' } }))),
      api,
      PROMETHEUS,
    );
    for (const side of [m.client, m.server]) {
      expect(side.filterDisabled).toBe(false);
      expect(side.tags.map((t) => [t.name, t.remove])).toEqual([
        ['response_code', true],
        ['method', false],
      ]);
    }
  });

  it('root namespace, then namespace, then workload selectors: later ones override tags; only the oldest namespace-wide one counts', () => {
    const root = telemetry('mesh', 'istio-system', tags({ tier: { value: '"mesh"' }, who: { value: '"root"' } }));
    const ns = telemetry('ns', 'shop', tags({ who: { value: '"namespace"' } }));
    const ignored = telemetry('ns-younger', 'shop', tags({ who: { value: '"younger"' } }));
    const workload = telemetry('api', 'shop', { selector: { matchLabels: { app: 'api' } }, ...tags({ who: { value: '"workload"' } }) });
    const other = telemetry('web', 'shop', { selector: { matchLabels: { app: 'web' } }, ...tags({ who: { value: '"web"' } }) });
    const targeted = telemetry('gw', 'shop', {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }],
      ...tags({ who: { value: '"gw"' } }),
    });
    const value = (t: K8sObject[], proxy = api) => {
      const tag = requestMetricsFor(models(...t), proxy, PROMETHEUS).server.tags.find((x) => x.name === 'who');
      return tag && !tag.remove ? tag.evaluate(request) : undefined;
    };
    expect(value([root, ns, ignored, workload, other, targeted])).toBe('workload');
    expect(value([root, ns, ignored, other, targeted])).toBe('namespace');
    expect(value([root, ignored, ns])).toBe('younger'); // creation order decides which one is the namespace's
    expect(value([root])).toBe('root');
    expect(value([targeted])).toBeUndefined(); // ShouldAttachPolicy: targetRefs never attach to a sidecar
    // A selector in the root namespace selects workloads of the root namespace only (only the proxy's namespace is scanned).
    const rootSelector = telemetry('sel', 'istio-system', { selector: { matchLabels: { app: 'api' } }, ...tags({ who: { value: '"root-selector"' } }) });
    expect(value([rootSelector])).toBeUndefined();
    expect(requestMetricsFor(models(root), { namespace: 'istio-system', labels: { app: 'istio-ingressgateway' } }, PROMETHEUS).client.tags).toHaveLength(2);
  });

  it('mode CLIENT or SERVER only; ALL_METRICS disabled removes the filter until a later override of that mode; a disabled REQUEST_COUNT is dropped', () => {
    const clientOnly = telemetry('c', 'shop', {
      metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT', mode: 'CLIENT' }, tagOverrides: { x: { value: '"1"' } } }] }],
    });
    const m = requestMetricsFor(models(clientOnly), api, PROMETHEUS);
    expect(m.client.tags.map((t) => t.name)).toEqual(['x']);
    expect(m.server.tags).toEqual([]);

    const offAll = telemetry('off', 'istio-system', { metrics: [{ overrides: [{ disabled: true }] }] });
    expect(requestMetricsFor(models(offAll), api, PROMETHEUS)).toMatchObject({ client: { filterDisabled: true }, server: { filterDisabled: true } });
    const backOnServer = telemetry('on', 'shop', { metrics: [{ overrides: [{ match: { metric: 'REQUEST_DURATION', mode: 'SERVER' }, disabled: false }] }] });
    expect(requestMetricsFor(models(offAll, backOnServer), api, PROMETHEUS)).toMatchObject({
      client: { filterDisabled: true },
      server: { filterDisabled: false },
    });

    const dropCount = telemetry('d', 'shop', { metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT' }, disabled: true }] }] });
    expect(requestMetricsFor(models(dropCount), api, PROMETHEUS)).toMatchObject({ client: { dropped: true }, server: { dropped: true } });
    const dropDuration = telemetry('d', 'shop', { metrics: [{ overrides: [{ match: { metric: 'REQUEST_DURATION' }, disabled: true }] }] });
    expect(requestMetricsFor(models(dropDuration), api, PROMETHEUS)).toMatchObject({ client: { dropped: false }, server: { dropped: false } });
  });
});

describe('istio_requests_total with overrides (istio_stats.cc overrideTags)', () => {
  const self: PeerInfo = { workload: 'api-v1', namespace: 'shop', principal: 'cluster.local/ns/shop/sa/api', app: 'api', version: 'v1' };
  const client: PeerInfo = { workload: 'web-v1', namespace: 'shop', principal: 'cluster.local/ns/shop/sa/web', app: 'web', version: 'v1' };
  const service = { name: 'api', namespace: 'shop', fqdn: 'api.shop.svc.cluster.local', ports: [8080], selector: {}, portNames: {} };

  function rendered(spec: Record<string, unknown>, status = 200): string {
    const stats = new ProxyStats({ inclusionPrefixes: [], inclusionSuffixes: [], inclusionRegexps: [] });
    stats.requestMetrics = requestMetricsFor(models(telemetry('t', 'shop', spec)), { namespace: 'shop', labels: { app: 'api' } }, PROMETHEUS);
    record(stats, 'destination', client, self, { service }, status, [], true, { method: 'GET', host: 'api:8080', path: '/x', headers: {} });
    record(stats, 'destination', client, self, { service }, status, [], true, { method: 'POST', host: 'api:8080', path: '/x', headers: {} });
    return stats.render();
  }

  it('replaces a standard tag in place, removes one, appends new ones in name order, one series per value', () => {
    const text = rendered(
      tags({
        z_tag: { value: '"z"' },
        method: { value: 'request.method' },
        request_protocol: { operation: 'REMOVE' },
        response_code: { value: 'request.url_path' },
      }),
    );
    const series = text.split('\n').filter((l) => l.startsWith('istio_requests_total'));
    expect(series).toHaveLength(2);
    expect(series[0]).toMatch(/destination_cluster="Kubernetes",response_code="\/x",grpc_response_status="",response_flags="-"/);
    expect(series[0]).not.toMatch(/request_protocol=/);
    expect(series[0]).toMatch(/destination_canonical_revision="v1",method="GET",z_tag="z"\} 1$/);
    expect(series[1]).toMatch(/method="POST",z_tag="z"\} 1$/);
  });

  it('a dropped REQUEST_COUNT and a disabled filter count nothing; no override keeps the standard labels', () => {
    expect(rendered({ metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT' }, disabled: true }] }] })).not.toMatch(/istio_requests_total/);
    expect(rendered({ metrics: [{ overrides: [{ match: { mode: 'SERVER' }, disabled: true }] }] })).not.toMatch(/istio_requests_total/);
    expect(rendered({ metrics: [{ overrides: [{ match: { mode: 'CLIENT' }, disabled: true }] }] })).toMatch(
      /istio_requests_total\{reporter="destination",.*response_code="200".*\} 2/,
    );
  });
});

describe('statsConfigsFor (telemetry.go mergeMetrics + generateStatsConfig): the istio.stats config istiod writes', () => {
  const api = { namespace: 'shop', labels: { app: 'api' } };
  const countTag = tags({ who: { value: 'request.headers["x-user"]' } });

  it('no metrics provider in scope (istiod’s own default mesh config), no filter; a Telemetry naming prometheus brings it, for its entry and the later ones', () => {
    expect(statsConfigsFor(models(telemetry('t', 'shop', countTag)), api, [])).toEqual({});
    const named = telemetry('t', 'shop', {
      metrics: [
        { overrides: [{ match: { metric: 'REQUEST_SIZE' }, disabled: true }] },
        { providers: [{ name: 'prometheus' }] },
        { overrides: [{ match: { metric: 'REQUEST_COUNT', mode: 'SERVER' }, tagOverrides: { who: { value: 'request.method' } } }] },
      ],
    });
    // The first entry inherits no provider from the (empty) defaults: its override is not applied.
    expect(statsConfigsFor(models(named), api, [])).toEqual({
      client: {},
      server: { metrics: [{ name: 'requests_total', dimensions: { who: 'request.method' } }] },
    });
  });

  it('one MetricConfig per metric in key order (IstioMetric names, then custom ones), ALL_METRICS flattened; ALL_METRICS disabled leaves the mode out', () => {
    const t = telemetry('t', 'shop', {
      metrics: [
        {
          overrides: [
            { match: { customMetric: 'my_total' }, tagOverrides: { b: { value: "'x'" } } },
            { match: { mode: 'CLIENT' }, tagOverrides: { request_protocol: { operation: 'REMOVE' } } },
            { match: { mode: 'SERVER' }, disabled: true },
          ],
        },
      ],
    });
    const configs = statsConfigsFor(models(t), api, PROMETHEUS);
    expect(configs.server).toBeUndefined();
    expect(configs.client?.metrics?.map((m) => m.name)).toEqual([
      'request_messages_total',
      'response_messages_total',
      'requests_total',
      'request_duration_milliseconds',
      'request_bytes',
      'response_bytes',
      'tcp_connections_closed_total',
      'tcp_connections_opened_total',
      'tcp_received_bytes_total',
      'tcp_sent_bytes_total',
      'my_total',
    ]);
    expect(configs.client?.metrics?.[2]).toEqual({ name: 'requests_total', tags_to_remove: ['request_protocol'] });
  });
});

describe('requestCountMetricsOf (istio_stats.cc): istio_requests_total from an istio.stats config', () => {
  it('no filter counts nothing; a drop of requests_total drops it; an unnamed MetricConfig tags every metric but drops none; later MetricConfigs win per tag', () => {
    expect(requestCountMetricsOf(undefined)).toMatchObject({ filterDisabled: true });
    expect(requestCountMetricsOf({ metrics: [{ name: 'requests_total', drop: true }] })).toMatchObject({ filterDisabled: false, dropped: true });
    expect(requestCountMetricsOf({ metrics: [{ name: 'request_bytes', drop: true }] })).toMatchObject({ dropped: false, tags: [] });
    const m = requestCountMetricsOf({
      metrics: [
        { drop: true, dimensions: { ignored: "'x'" } },
        { dimensions: { zz: 'request.method', response_code: "'fixed'" }, tags_to_remove: ['source_app', 'not_standard'] },
        { name: 'requests_total', tags_to_remove: ['response_code'], dimensions: { aa: 'response.code | "x"' } },
      ],
    });
    expect(m.dropped).toBe(false);
    // response_code: REMOVEd by the later config; aa: not CEL, a new tag, skipped; not_standard: REMOVE of a non-standard tag, ignored.
    expect(m.tags.map((t) => [t.name, t.remove])).toEqual([
      ['response_code', true],
      ['source_app', true],
      ['zz', false],
    ]);
  });
});

describe('requestMetricsOfListeners: each side from its listeners’ istio.stats filter', () => {
  const T = 'type.googleapis.com/';
  const hcm = (filters: HttpFilter[]) => ({
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: { '@type': TypedConfigType.httpConnectionManager, stat_prefix: 's', http_filters: filters },
      },
    ],
  });
  const stats = (metrics: StatsMetricConfig[]): HttpFilter => ({ name: 'istio.stats', typed_config: { '@type': TypedConfigType.istioStats, metrics } });
  const router: HttpFilter = {
    name: 'envoy.filters.http.router',
    typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } as HttpFilter['typed_config'],
  };

  it('SERVER from virtualInbound, CLIENT from an outbound HTTP listener; a chain without the filter counts nothing; a side without an HTTP chain keeps the standard metric', () => {
    const listeners = [
      { name: 'virtualInbound', traffic_direction: 'INBOUND' as const, filter_chains: [hcm([router])] },
      {
        name: '0.0.0.0_9080',
        traffic_direction: 'OUTBOUND' as const,
        filter_chains: [hcm([stats([{ name: 'requests_total', tags_to_remove: ['source_app'] }]), router])],
      },
    ];
    const m = requestMetricsOfListeners(listeners);
    expect(m.server).toMatchObject({ filterDisabled: true });
    expect(m.client).toMatchObject({ filterDisabled: false, dropped: false, tags: [{ name: 'source_app', remove: true }] });
    expect(requestMetricsOfListeners([listeners[1]!]).server).toEqual({ filterDisabled: false, dropped: false, tags: [], hostHeaderFallback: true });
  });

  it("per port: an outbound listener's own stats config counts the requests to its port, a destination port's inbound chain those to it; the rest take the side's default", () => {
    const at = (port: number) => ({ socket_address: { address: '0.0.0.0', port_value: port } });
    const tagged = (value: string) => stats([{ name: 'requests_total', dimensions: { patched: value } }]);
    const listeners = [
      {
        name: 'virtualInbound',
        traffic_direction: 'INBOUND' as const,
        filter_chains: [
          { ...hcm([stats([{ name: 'requests_total', drop: true }]), router]), filter_chain_match: { destination_port: 9080 } },
          hcm([tagged("'catch-all'"), router]),
        ],
      },
      { name: '0.0.0.0_15014', address: at(15014), traffic_direction: 'OUTBOUND' as const, filter_chains: [hcm([tagged("'monitoring'"), router])] },
      { name: '0.0.0.0_9080', address: at(9080), traffic_direction: 'OUTBOUND' as const, filter_chains: [hcm([tagged("'bookinfo'"), router])] },
    ];
    const statsOf = new ProxyStats({ inclusionPrefixes: [], inclusionSuffixes: [], inclusionRegexps: [] });
    statsOf.requestMetrics = requestMetricsOfListeners(listeners);
    const self: PeerInfo = { workload: 'productpage-v1', namespace: 'default', principal: 'p', app: 'productpage', version: 'v1' };
    const request = { method: 'GET', host: 'reviews:9080', path: '/', headers: {} };
    record(statsOf, 'source', self, undefined, {}, 200, [], undefined, request, 9080);
    record(statsOf, 'source', self, undefined, {}, 201, [], undefined, request, 8000);
    record(statsOf, 'destination', self, self, {}, 202, [], true, request, 9080);
    record(statsOf, 'destination', self, self, {}, 203, [], true, request, 9090);
    const series = statsOf
      .render()
      .split('\n')
      .filter((l) => l.startsWith('istio_requests_total{'))
      .map((l) => [/response_code="(\d+)"/.exec(l)?.[1], /patched="([^"]*)"/.exec(l)?.[1]]);
    // 9080 outbound: its listener's; 8000 (no listener of its own): the first HTTP chain's; 9080 inbound: dropped by its
    // chain; 9090 inbound: the catch-all chain's.
    expect(series.sort()).toEqual([
      ['200', 'bookinfo'],
      ['201', 'monitoring'],
      ['203', 'catch-all'],
    ]);
  });
});

describe('defaultProviders in the istio ConfigMap', () => {
  const configMap = (mesh: string): K8sObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'istio', namespace: 'istio-system' },
    data: { mesh },
  });

  it('metrics as written (prometheus only); without defaultProviders the local mesh gives istiod the installation default', () => {
    expect(parseMeshConfig(configMap('defaultProviders:\n  metrics: [prometheus]\n')).defaultMetricsProviders).toEqual(['prometheus']);
    expect(parseMeshConfig(configMap('defaultProviders: {}\n')).defaultMetricsProviders).toEqual([]);
    expect(() => parseMeshConfig(configMap('defaultProviders:\n  metrics: [stackdriver]\n'))).toThrow(/only the prometheus metrics provider/);
    const none = parseMeshConfig(configMap('outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n'));
    expect(none.defaultMetricsProviders).toBeUndefined();
    expect(installedMeshYaml(none)).toBe('defaultProviders:\n  metrics:\n  - prometheus\noutboundTrafficPolicy: { mode: REGISTRY_ONLY }\n');
    expect(installedMeshYaml(parseMeshConfig(configMap('defaultProviders: {}\n')))).toBe('defaultProviders: {}\n');
    expect(installedMeshYaml({ extensionProviders: new Map() })).toBe('defaultProviders:\n  metrics:\n  - prometheus\n');
  });
});

// istio/proxy istio_stats.cc populatePeerInfo, and its e2e cases test/envoye2e/stats_plugin/stats_test.go
// UseHostHeader (destination_service and _name are the Host header, port included) and DisableHostHeader (unknown).
describe('destination_service, _name and _namespace (istio_stats.cc populatePeerInfo)', () => {
  const self: PeerInfo = { workload: 'web-v1', namespace: 'shop', principal: 'cluster.local/ns/shop/sa/web', app: 'web', version: 'v1' };
  const api: PeerInfo = { workload: 'api-v1', namespace: 'shop', principal: 'cluster.local/ns/shop/sa/api', app: 'api', version: 'v1' };
  const service = { name: 'api', namespace: 'shop', fqdn: 'api.shop.svc.cluster.local', ports: [8080], selector: {}, portNames: {} };
  const request = { method: 'GET', host: 'api:8080', path: '/x', headers: {} };

  function labels(reporter: 'source' | 'destination', fallback: boolean, target: UpstreamTarget, destination: PeerInfo | undefined): Record<string, string> {
    const stats = new ProxyStats({ inclusionPrefixes: [], inclusionSuffixes: [], inclusionRegexps: [] });
    const metrics = requestCountMetricsOf(fallback ? {} : { disable_host_header_fallback: true });
    stats.requestMetrics = { client: metrics, server: metrics };
    record(stats, reporter, reporter === 'source' ? self : api, destination, target, 200, [], reporter === 'destination', request);
    const line = stats
      .render()
      .split('\n')
      .find((l) => l.startsWith('istio_requests_total{'));
    const out: Record<string, string> = {};
    for (const m of (line ?? '').matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
    return { service: out.destination_service!, name: out.destination_service_name!, namespace: out.destination_service_namespace! };
  }

  it("a cluster's Service wins over the Host header, whatever the fallback", () => {
    const expected = { service: 'api.shop.svc.cluster.local', name: 'api', namespace: 'shop' };
    expect(labels('source', true, { cluster: 'outbound|8080||api.shop.svc.cluster.local', service }, api)).toEqual(expected);
    expect(labels('source', false, { cluster: 'outbound|8080||api.shop.svc.cluster.local', service }, api)).toEqual(expected);
  });

  it('no cluster (no route, a direct response): the Host header on an outbound listener, unknown on a gateway; the namespace from the peer', () => {
    expect(labels('source', true, {}, undefined)).toEqual({ service: 'api:8080', name: 'api:8080', namespace: 'unknown' });
    expect(labels('source', true, { route: 'direct' }, api)).toEqual({ service: 'api:8080', name: 'api:8080', namespace: 'shop' });
    expect(labels('source', false, {}, undefined)).toEqual({ service: 'unknown', name: 'unknown', namespace: 'unknown' });
  });

  it("istiod's block_all and allow_any routes and the passthrough clusters name the service; the host stays the header's", () => {
    expect(labels('source', true, { route: 'block_all' }, undefined)).toMatchObject({ service: 'api:8080', name: 'BlackHoleCluster' });
    expect(labels('source', true, { route: 'allow_any', cluster: 'PassthroughCluster' }, undefined)).toMatchObject({ name: 'PassthroughCluster' });
    expect(labels('source', false, { cluster: 'BlackHoleCluster' }, undefined)).toEqual({ service: 'unknown', name: 'BlackHoleCluster', namespace: 'unknown' });
  });

  it("the server side without a Service: the proxy's own canonical service, and always its own namespace", () => {
    expect(labels('destination', false, {}, api)).toEqual({ service: 'api', name: 'api', namespace: 'shop' });
    const other = { ...service, name: 'api-canary', namespace: 'canary', fqdn: 'api-canary.canary.svc.cluster.local' };
    expect(labels('destination', false, { service: other }, api)).toEqual({
      service: 'api-canary.canary.svc.cluster.local',
      name: 'api-canary',
      namespace: 'shop',
    });
  });
});
