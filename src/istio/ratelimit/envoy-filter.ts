// The local rate-limit EnvoyFilter as istio.io's rate-limit task writes it: the HTTP local_ratelimit filter inserted
// before the router of one workload's inbound connection manager, its config in TypedStruct form. Built in one place
// for the fidelity corpus and the tests.
import type { K8sObject } from '../../spec/types.ts';

export interface LocalRateLimitFilterOptions {
  name: string;
  namespace?: string;
  /** The workload (label `app`) whose sidecar gets the filter. */
  app: string;
  maxTokens: number;
  tokensPerFill: number;
  fillInterval: string;
  /** filter_enabled / filter_enforced, in percent (100 each unless set). */
  enabledPercent?: number;
  enforcedPercent?: number;
  /** Further LocalRateLimit fields (response_headers_to_add, …) or overrides. */
  extra?: Record<string, unknown>;
}

export function localRateLimitEnvoyFilter(o: LocalRateLimitFilterOptions): K8sObject {
  const percent = (runtimeKey: string, numerator: number) => ({ runtime_key: runtimeKey, default_value: { numerator, denominator: 'HUNDRED' } });
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: o.name, namespace: o.namespace ?? 'default' },
    spec: {
      workloadSelector: { labels: { app: o.app } },
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
                  token_bucket: { max_tokens: o.maxTokens, tokens_per_fill: o.tokensPerFill, fill_interval: o.fillInterval },
                  filter_enabled: percent('local_rate_limit_enabled', o.enabledPercent ?? 100),
                  filter_enforced: percent('local_rate_limit_enforced', o.enforcedPercent ?? 100),
                  ...o.extra,
                },
              },
            },
          },
        },
      ],
    },
  };
}
