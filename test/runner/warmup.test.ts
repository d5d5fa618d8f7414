// A warm-up on the local target: the client records only requests sent after it, so the mesh counters' baseline is
// read again when it ends (reconcile agrees), and the rate-limit replay runs the warm-up's requests through the bucket
// first (they drained it). Before: "client recorded 100 responses but istio-ingressgateway counted 150", and the
// replay predicted a full bucket at the first recorded request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Runner } from '../../src/runner/run.ts';
import { defaultDeps } from '../../src/runner/default-deps.ts';
import type { ExperimentResult } from '../../src/runner/result.ts';
import { loadExperimentText } from '../../src/spec/load.ts';
import { LocalTarget } from '../../src/targets/local/index.ts';

const here = fileURLToPath(new URL('./warmup.yaml', import.meta.url));

const allV1 = `
apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: warmup-reconcile }
spec:
  apply:
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route:
                - destination: { host: reviews }
  load:
    request: { path: /productpage }
    rate: 50
    duration: 3s
    warmup: 1s
  expect:
    - reconcile: {}
`;

// 09-ratelimit-ratings' bucket: 20 tokens, 20 more per minute. 20 warm-up requests empty it; every recorded one is limited.
const rateLimited = `
apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: warmup-ratelimit }
spec:
  apply:
    - inline:
        apiVersion: networking.istio.io/v1alpha3
        kind: EnvoyFilter
        metadata: { name: ratings-local-ratelimit }
        spec:
          workloadSelector:
            labels: { app: ratings }
          configPatches:
            - applyTo: HTTP_FILTER
              match:
                context: SIDECAR_INBOUND
                listener:
                  filterChain:
                    filter:
                      name: envoy.filters.network.http_connection_manager
              patch:
                operation: INSERT_BEFORE
                value:
                  name: envoy.filters.http.local_ratelimit
                  typed_config:
                    "@type": type.googleapis.com/udpa.type.v1.TypedStruct
                    type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                    value:
                      stat_prefix: http_local_rate_limiter
                      token_bucket: { max_tokens: 20, tokens_per_fill: 20, fill_interval: 60s }
                      filter_enabled:
                        runtime_key: local_rate_limit_enabled
                        default_value: { numerator: 100, denominator: HUNDRED }
                      filter_enforced:
                        runtime_key: local_rate_limit_enforced
                        default_value: { numerator: 100, denominator: HUNDRED }
  load:
    request: { name: direct, service: ratings, path: /ratings/0 }
    rate: 20
    duration: 3s
    warmup: 1s
  expect:
    - rateLimited: {}
`;

describe('warm-up on the local target (autocannon)', () => {
  const target = new LocalTarget({ scenario: 'bookinfo', seed: 11 });
  let results: ExperimentResult[];
  beforeAll(async () => {
    const experiments = [...loadExperimentText(allV1, here), ...loadExperimentText(rateLimited, here)];
    const runner = new Runner(
      {
        runId: 'mp-warmup-0001',
        seed: 11,
        command: ['meshproof', 'run'],
        meshproofVersion: '0.0.0-test',
        target,
      },
      defaultDeps,
    );
    results = (await runner.run(experiments)).experiments;
  }, 60_000);
  afterAll(() => target.close());

  it('reconcile: the mesh counts from the end of warm-up, as the client records', () => {
    const [reconcile] = results[0]!.verdicts;
    expect(results[0]!.error).toBeUndefined();
    // 50/s for 3 s with 1 s of warm-up: at most 150 sent, at most 50 of them in the warm-up. A busy machine sends
    // fewer (exact counts are tested with request counts in test/load), so the split is checked, not the totals.
    const sent = results[0]!.loadSummary!.sent;
    expect(sent).toBeLessThanOrEqual(150);
    const { client, mesh } = reconcile!.observed as { client: number; mesh: number };
    expect(client).toBeLessThanOrEqual(100);
    expect(client).toBeGreaterThanOrEqual(sent - 50);
    expect(reconcile!.outcome, reconcile!.explanation).toBe('pass');
    // The warm-up's requests are not in the mesh's count (only the few at the baseline's edge may be).
    expect(mesh).toBeLessThan(sent);
    // The extra counters read shows among the phases, while the load ran.
    expect(results[0]!.phases.filter((p) => p.phase === 'counters')).toHaveLength(3);
  });

  it('rateLimited: the replay starts from the bucket the warm-up left (empty), not a full one', () => {
    const [limited] = results[1]!.verdicts;
    expect(results[1]!.error).toBeUndefined();
    expect(limited!.details).toMatchObject({ warmupRequests: 20, predicted: { min: 40, max: 40 } });
    expect(limited!.observed).toBe(40);
    expect(limited!.outcome, limited!.explanation).toBe('pass');
    expect(limited!.explanation).toContain('after the 20 warm-up requests before them');
  });
});
