// Pitfalls validate points out (issue: the user's journey, item 6), each as a warning at the field.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadExperimentText } from '../../src/spec/load.ts';

const destinationRules = fileURLToPath(new URL('../../scenarios/bookinfo/destination-rule-all.yaml', import.meta.url));

const file = '/tmp/pitfalls.yaml';
const experiment = (apply: string, load: string, expectations: string) => `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: pitfalls }
spec:
  apply:
${apply}
  load:
${load}
  expect:
${expectations}
`;
const gatewayLoad = '    request: { path: /productpage }\n    rate: 10\n    duration: 10s';
const warnings = (text: string) => loadExperimentText(text, file)[0]!.warnings.map((w) => `${w.source.line}:${w.source.col} ${w.path}: ${w.message}`);

describe('validate pitfalls', () => {
  it('an abort and retries on one rule: injected aborts are never retried, and a retries expectation that wants them is named', () => {
    const text = experiment(
      `    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: ratings }
        spec:
          hosts: [ratings]
          http:
            - fault: { abort: { percentage: { value: 50 }, httpStatus: 503 } }
              retries: { attempts: 2, retryOn: 5xx }
              route: [{ destination: { host: ratings } }]`,
      gatewayLoad,
      '    - retries: { service: ratings, min: 1 }',
    );
    expect(warnings(text)).toEqual([
      '14:15 VirtualService ratings: spec.http[0].retries: the rule also injects an abort: Envoy\'s fault filter answers before the router, so injected aborts are never retried (istio/istio#13705); "retries to ratings" expects retries that will not happen',
    ]);
  });

  it('expected weights that differ from the split the applied routes give', () => {
    const text = experiment(
      `    - file: ${destinationRules}
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route:
                - { destination: { host: reviews, subset: v1 }, weight: 50 }
                - { destination: { host: reviews, subset: v3 }, weight: 50 }`,
      gatewayLoad,
      '    - distribution: { of: reviews.version, weights: { v1: 80, v3: 20 } }',
    );
    expect(warnings(text)).toContainEqual(
      '22:7 distribution of reviews.version: weights: the applied VirtualService reviews sends v1 50 %, v3 50 %; the expected weights differ by more than the ± 5 points for v1, v3, so this expectation should fail',
    );
  });

  it('a local rate limit whose filter is never enabled or enforced', () => {
    const text = experiment(
      `    - inline:
        apiVersion: networking.istio.io/v1alpha3
        kind: EnvoyFilter
        metadata: { name: ratelimit }
        spec:
          workloadSelector: { labels: { app: ratings } }
          configPatches:
            - applyTo: HTTP_FILTER
              match: { context: SIDECAR_INBOUND, listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } } }
              patch:
                operation: INSERT_BEFORE
                value:
                  name: envoy.filters.http.local_ratelimit
                  typed_config:
                    "@type": type.googleapis.com/udpa.type.v1.TypedStruct
                    type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                    value:
                      stat_prefix: http_local_rate_limiter
                      token_bucket: { max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s }`,
      gatewayLoad,
      '    - status: { code: 200, ratio: { min: 0.5 } }',
    );
    expect(warnings(text).join('\n')).toContain(
      'EnvoyFilter ratelimit: local rate limit http_local_rate_limiter: filter_enabled is not set: Envoy treats the filter as disabled (0 %)',
    );
  });

  it('a VirtualService bound only to a gateway while every request goes straight to a service', () => {
    const text = experiment(
      `    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: ratings }
        spec:
          hosts: [ratings]
          gateways: [bookinfo-gateway]
          http:
            - route: [{ destination: { host: ratings } }]`,
      '    request: { path: /ratings/0, service: ratings }\n    rate: 10\n    duration: 10s',
      '    - status: { code: 200, ratio: { min: 0.5 } }',
    );
    expect(warnings(text)).toEqual([
      '12:11 VirtualService ratings: spec.gateways: bound only to bookinfo-gateway, but no request of the load enters through the ingress gateway, so it routes none of them',
    ]);
  });
});

describe('an expectation about a service the load never reaches', () => {
  it('warns at the expectation, naming what the load does reach (Bookinfo call graph)', () => {
    const text = experiment(
      '    - inline: { apiVersion: networking.istio.io/v1, kind: VirtualService, metadata: { name: ratings }, spec: { hosts: [ratings], http: [{ route: [{ destination: { host: ratings } }] }] } }',
      '    request: { path: /api/v1/products/0 }\n    rate: 10\n    duration: 10s',
      '    - retries: { service: ratings, max: 0 }\n    - retries: { service: details, max: 0 }',
    );
    expect(warnings(text)).toEqual([
      '12:7 retries to ratings: service: no request of the load reaches ratings (it reaches details, productpage), so this expectation sees no traffic',
    ]);
  });

  it('knows what each entry reaches', async () => {
    const { bookinfoReach } = await import('../../src/spec/pitfalls.ts');
    expect([...bookinfoReach('/productpage')].sort()).toEqual(['details', 'productpage', 'ratings', 'reviews']);
    expect([...bookinfoReach('/api/v1/products/0/ratings')].sort()).toEqual(['productpage', 'ratings']);
    expect([...bookinfoReach('/reviews/0', 'reviews')].sort()).toEqual(['ratings', 'reviews']);
    expect([...bookinfoReach('/ratings/0', 'ratings')]).toEqual(['ratings']);
  });
});
