// The istio.io local rate-limit task's EnvoyFilter (a token bucket on one workload's inbound listener, enabled and
// enforced for every request), with the bucket, workload and place the test wants.
import type { K8sObject } from '../../src/spec/types.ts';

export function localRateLimitFilter(options: { app: string; name: string; namespace?: string; maxTokens: number; tokensPerFill: number; fillInterval: string }): K8sObject {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: options.name, namespace: options.namespace ?? 'default' },
    spec: {
      workloadSelector: { labels: { app: options.app } },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { context: 'SIDECAR_INBOUND', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } } } },
          patch: {
            operation: 'INSERT_BEFORE',
            value: {
              name: 'envoy.filters.http.local_ratelimit',
              typed_config: {
                '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
                type_url: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
                value: {
                  stat_prefix: 'http_local_rate_limiter',
                  token_bucket: { max_tokens: options.maxTokens, tokens_per_fill: options.tokensPerFill, fill_interval: options.fillInterval },
                  filter_enabled: { runtime_key: 'local_rate_limit_enabled', default_value: { numerator: 100, denominator: 'HUNDRED' } },
                  filter_enforced: { runtime_key: 'local_rate_limit_enforced', default_value: { numerator: 100, denominator: 'HUNDRED' } },
                },
              },
            },
          },
        },
      ],
    },
  };
}
