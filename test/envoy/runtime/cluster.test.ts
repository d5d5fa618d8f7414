// Clusters the local data plane runs with Envoy's defaults (src/envoy/runtime/cluster.ts), and what of a Cluster it
// does not run, refused with the field's path instead of ignored.
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../../src/envoy/model/index.ts';
import { TypedConfigType } from '../../../src/envoy/model/index.ts';
import { evaluateCluster } from '../../../src/envoy/runtime/cluster.ts';

const base: Cluster = { name: 'outbound|9080||reviews.default.svc.cluster.local', type: 'EDS', connect_timeout: '10s', lb_policy: 'LEAST_REQUEST' };

describe('evaluateCluster', () => {
  it("takes Envoy's defaults for what is unset (1024 connections, pending and requests, 3 retries, 50 % panic threshold)", () => {
    expect(evaluateCluster({ ...base, lb_policy: undefined, connect_timeout: undefined })).toMatchObject({
      lbPolicy: 'ROUND_ROBIN',
      connectTimeoutMs: 5000,
      maxConnections: 1024,
      maxPendingRequests: 1024,
      maxRequests: 1024,
      maxRetries: 3,
      healthyPanicThresholdPercent: 50,
      tls: 'plaintext',
    });
  });

  it('refuses, naming the field, what it does not execute', () => {
    expect(() => evaluateCluster({ ...base, outlier_detection: { consecutive_5xx: 3 } })).toThrow(
      /outlier_detection\.enforcing_success_rate: success-rate ejection \(unset: 100 %\)/,
    );
    expect(() => evaluateCluster({ ...base, outlier_detection: { enforcing_success_rate: 0, split_external_local_origin_errors: true } })).toThrow(
      /outlier_detection\.split_external_local_origin_errors/,
    );
    expect(() => evaluateCluster({ ...base, outlier_detection: { enforcing_success_rate: 0, enforcing_consecutive_5xx: 50 } })).toThrow(
      /enforcing_consecutive_5xx: 50 %/,
    );
    expect(() => evaluateCluster({ ...base, circuit_breakers: { thresholds: [{ max_connection_pools: 2 }] } })).toThrow(
      /circuit_breakers\.thresholds\[0\]\.max_connection_pools/,
    );
    expect(() =>
      evaluateCluster({ ...base, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', original_dst_lb_config: { upstream_port_override: 8080 } }),
    ).toThrow(/original_dst_lb_config\.upstream_port_override/);
    const http2 = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': TypedConfigType.httpProtocolOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    } as Cluster['typed_extension_protocol_options'];
    expect(() => evaluateCluster({ ...base, typed_extension_protocol_options: http2 })).toThrow(
      /explicit_http_config\.http2_protocol_options: HTTP\/2 upstreams/,
    );
    expect(() => evaluateCluster({ ...base, lb_policy: 'CLUSTER_PROVIDED' })).toThrow(/lb_policy CLUSTER_PROVIDED/);
  });

  it("runs istiod's outlier detection (success rate off, gateway failures enforced)", () => {
    expect(
      evaluateCluster({ ...base, outlier_detection: { enforcing_success_rate: 0, consecutive_gateway_failure: 3, enforcing_consecutive_gateway_failure: 100 } })
        .outlierDetection,
    ).toMatchObject({ consecutive5xx: 5, enforcingConsecutive5xx: 100, consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100 });
  });
});
