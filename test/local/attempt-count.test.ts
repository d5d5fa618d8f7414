// x-envoy-attempt-count on the requests a sidecar or gateway sends upstream: Istio turns include_request_attempt_count
// on for outbound and gateway virtual hosts (istio/istio pilot/pkg/networking/util/proxy_headers.go,
// IncludeRequestAttemptCount: true by default), and Envoy's router sets the header to its own attempt number, replacing
// a value from downstream (envoy source/common/router/router.cc Filter::decodeHeaders and doRetry, setEnvoyAttemptCount).
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyStats } from '../../src/targets/local/proxy/stats.ts';
import { flakyRouter } from '../support/flaky-router.ts';

const block = `127.${200 + (process.pid % 40)}.${(process.pid >> 6) % 250}`;
let server: http.Server;
let port = 0;
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  // The first request of each pair fails with 503, the second succeeds: one retry per request.
  server = http.createServer((req, res) => {
    seen.push(req.headers['x-envoy-attempt-count'] as string | undefined);
    res.writeHead(seen.length % 2 === 1 ? 503 : 200);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, `${block}.30`, r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('x-envoy-attempt-count', () => {
  it('the upstream sees attempt 1, then 2 on the retry, whatever the downstream sent', async () => {
    const stats = new ProxyStats({ inclusionPrefixes: [], inclusionSuffixes: [], inclusionRegexps: [] });
    const router = flakyRouter({ block, serverIp: `${block}.30`, port, stats, retries: { attempts: 2, retryOn: '5xx' } });
    try {
      const result = await router.handle({
        method: 'GET',
        path: '/',
        authority: `flaky:${port}`,
        headers: { 'x-envoy-attempt-count': '7' },
        requestId: 'r1',
        decisionKey: 'k1',
      });
      expect(result.status).toBe(200);
      expect(seen).toEqual(['1', '2']);
    } finally {
      router.close();
    }
  });
});
