// The loader on config dumps written by the pinned istiod itself (test/fixtures/envoy/istiod/README.md): json names,
// istiod's defaults and its translation of the Bookinfo resources in test/fixtures/envoy/istiod/bookinfo.yaml.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadEnvoyConfig } from '../../src/envoy/load/index.ts';
import type { HttpConnectionManager, Listener } from '../../src/envoy/model/index.ts';
import { must } from '../../src/must.ts';

const load = (name: string) =>
  loadEnvoyConfig(readFileSync(new URL(`../fixtures/envoy/istiod/${name}-config-dump.json`, import.meta.url), 'utf8'), `${name}-config-dump.json`);
const productpage = load('productpage');
const ratings = load('ratings');

const hcmOf = (listener: Listener, destinationPort: number) =>
  must(
    listener.filter_chains!.find((c) => c.filter_chain_match?.destination_port === destinationPort)!.filters[0],
    `the first filter of port ${destinationPort}'s chain`,
  ).typed_config as unknown as HttpConnectionManager;

describe('istiod 1.31 config dumps load as they are', () => {
  it('every listener, route, cluster and endpoint of both sidecars, with proto (snake_case) names in the model', () => {
    for (const { config } of [productpage, ratings]) {
      expect(config.listeners.map((l) => l.name)).toEqual(['0.0.0.0_9080', 'virtualOutbound', 'virtualInbound']);
      expect(config.routes.map((r) => r.name).sort()).toEqual(['15006', '9080']);
      expect(config.clusters).toHaveLength(11);
      expect(config.endpoints).toHaveLength(7);
    }
    expect(Object.keys(productpage.config.clusters[0] ?? {})).toContain('transport_socket_matches');
  });

  it('the default route retry policy istiod sends (1.31 line): 2 retries, previous_hosts, 5 host selection attempts', () => {
    const details = productpage.config.routes.find((r) => r.name === '9080')!.virtual_hosts!.find((v) => v.name === 'details.default.svc.cluster.local:9080')!;
    expect(details.routes![0]?.route).toEqual({
      cluster: 'outbound|9080||details.default.svc.cluster.local',
      timeout: '0s',
      retry_policy: {
        retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
        num_retries: 2,
        retry_host_predicate: [
          {
            name: 'envoy.retry_host_predicates.previous_hosts',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
          },
        ],
        host_selection_retry_max_attempts: 5,
      },
    });
  });

  it('the reviews VirtualService: header match first, then 80/20 without total_weight, retries and timeout', () => {
    const reviews = productpage.config.routes.find((r) => r.name === '9080')!.virtual_hosts!.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
    const [jason, split] = reviews.routes!;
    expect(jason?.match).toEqual({ prefix: '/', case_sensitive: true, headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] });
    expect(jason?.route?.cluster).toBe('outbound|9080|v2|reviews.default.svc.cluster.local');
    expect(split?.route?.weighted_clusters).toEqual({
      clusters: [
        { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', weight: 80 },
        { name: 'outbound|9080|v3|reviews.default.svc.cluster.local', weight: 20 },
      ],
    });
    expect(split?.route).toMatchObject({ timeout: '10s', retry_policy: { retry_on: '5xx', num_retries: 3, per_try_timeout: '2s' } });
  });

  it('the ratings faults as a per-route HTTPFault with percentages per MILLION', () => {
    const vhost = productpage.config.routes.find((r) => r.name === '9080')!.virtual_hosts!.find((v) => v.name === 'ratings.default.svc.cluster.local:9080')!;
    expect(vhost.routes![0]?.typed_per_filter_config?.['envoy.filters.http.fault']).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
      delay: { fixed_delay: '7s', percentage: { numerator: 100000, denominator: 'MILLION' } },
      abort: { http_status: 503, percentage: { numerator: 500000, denominator: 'MILLION' } },
    });
  });

  it('the reviews subset cluster: connection pool, outlier detection, one request per connection, LEAST_REQUEST', () => {
    const v1 = productpage.config.clusters.find((c) => c.name === 'outbound|9080|v1|reviews.default.svc.cluster.local')!;
    expect(v1.lb_policy).toBe('LEAST_REQUEST');
    expect(v1.circuit_breakers?.thresholds).toEqual([{ max_connections: 5, max_pending_requests: 10, max_requests: 4294967295, max_retries: 4294967295 }]);
    expect(v1.outlier_detection).toMatchObject({ consecutive_5xx: 1, interval: '1s', base_ejection_time: '180s', max_ejection_percent: 100 });
    expect(v1.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']).toMatchObject({
      common_http_protocol_options: { max_requests_per_connection: 1 },
      explicit_http_config: { http_protocol_options: {} },
    });
    expect(v1.transport_socket_matches?.map((m) => m.name)).toEqual(['tlsMode-istio', 'tlsMode-disabled']);
  });

  it("the ratings inbound HTTP chain in istiod's order: EnvoyFilter's local_ratelimit, jwt_authn, RBAC DENY before ALLOW, fault, cors, router", () => {
    const inbound = ratings.config.listeners.find((l) => l.name === 'virtualInbound')!;
    const hcm = hcmOf(inbound, 9080);
    expect(hcm.http_filters!.map((f) => f.name)).toEqual([
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.jwt_authn',
      'envoy.filters.http.rbac',
      'envoy.filters.http.rbac',
      'envoy.filters.http.fault',
      'envoy.filters.http.cors',
      'envoy.filters.http.router',
    ]);
    const actions = hcm
      .http_filters!.filter((f) => f.name === 'envoy.filters.http.rbac')
      .map((f) => (f.typed_config as { rules?: { action?: string } }).rules?.action ?? 'ALLOW');
    expect(actions).toEqual(['DENY', 'ALLOW']);
    expect(hcm.http_filters![0]?.typed_config).toMatchObject({ token_bucket: { max_tokens: 20, tokens_per_fill: 20, fill_interval: '60s' } });
  });

  it('STRICT mTLS: every inbound chain but the 15006 passthrough match requires transport_protocol tls', () => {
    const inbound = ratings.config.listeners.find((l) => l.name === 'virtualInbound')!;
    const chains = inbound.filter_chains!.filter((c) => c.filter_chain_match?.destination_port !== 15006);
    expect(chains.map((c) => c.filter_chain_match?.transport_protocol)).toEqual(['tls', 'tls', 'tls']);
    expect(chains.every((c) => c.transport_socket?.name === 'envoy.transport_sockets.tls')).toBe(true);
  });

  it('what was left out is listed with why (tracing, request ids, SDS, access logs, stats, metadata exchange, sniffing)', () => {
    const reasons = new Set(ratings.ignored.map((i) => i.why.replace(/^[^:]*\): /, '')));
    expect([...reasons].some((r) => r.startsWith('tracing'))).toBe(true);
    expect(ratings.ignored.some((i) => i.path.endsWith('.request_id_extension'))).toBe(true);
    expect(ratings.ignored.some((i) => i.path.endsWith('.tls_certificate_sds_secret_configs'))).toBe(true);
    expect(ratings.ignored.some((i) => /^istio\.metadata_exchange/.test(i.why))).toBe(true);
    expect(ratings.ignored.some((i) => /^envoy\.filters\.listener\.tls_inspector/.test(i.why))).toBe(true);
  });
});
