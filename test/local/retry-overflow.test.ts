// The retry circuit breaker (DestinationRule connectionPool.http.maxRetries): when a retry would exceed it, Envoy's
// router does not retry, counts upstream_rq_retry_overflow and marks the response it passes on UO
// (envoy source/common/router/retry_state_impl.cc RetryStatus::NoOverflow → router.cc UpstreamOverflow).
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyStats } from '../../src/targets/local/proxy/stats.ts';
import { FLAKY_HOST as host, flakyRouter } from '../support/flaky-router.ts';

const block = `127.${200 + (process.pid % 40)}.${(process.pid >> 5) % 250}`;
let server: http.Server;
let port = 0;

beforeAll(async () => {
  // Every answer is a 503 after 300 ms: a retry holds the breaker's only slot for at least that long.
  server = http.createServer((_req, res) =>
    setTimeout(() => {
      res.writeHead(503);
      res.end('down');
    }, 300),
  );
  await new Promise<void>((r) => server.listen(0, `${block}.20`, r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('retry overflow (connectionPool.http.maxRetries)', () => {
  it('two requests retrying at once against maxRetries 1: one is retried, the other passes the 503 on with UO', async () => {
    const stats = new ProxyStats({ inclusionPrefixes: ['cluster.'], inclusionSuffixes: [], inclusionRegexps: [] });
    const router = flakyRouter({
      block,
      serverIp: `${block}.20`,
      port,
      stats,
      retries: { attempts: 2, retryOn: '5xx' },
      trafficPolicy: { connectionPool: { http: { maxRetries: 1 } } },
    });
    const send = (n: number) => router.handle({ method: 'GET', path: '/', authority: `flaky:${port}`, headers: {}, requestId: `r${n}`, decisionKey: `k${n}` });
    try {
      const results = await Promise.all([send(1), send(2)]);
      expect(results.map((r) => r.status)).toEqual([503, 503]);
      expect(results.map((r) => r.flags.join(',')).sort()).toEqual(['UO', 'URX']);
      const text = stats.render();
      const cluster = `cluster_name="outbound|${port}||${host}"`;
      expect(text).toContain(`envoy_cluster_upstream_rq_retry_overflow{${cluster}} 1`);
      expect(text).toContain(`envoy_cluster_upstream_rq_retry{${cluster}} 2`);
      expect(text).toContain(`envoy_cluster_upstream_rq_retry_limit_exceeded{${cluster}} 1`);
    } finally {
      router.close();
    }
  });
});
