// upstream_rq_retry_success as Envoy counts it (source/common/router/retry_state_impl.cc RetryStateImpl::shouldRetry):
// once a retry was scheduled, the next outcome the policy does not retry counts as a success — a response, but also
// a reset the policy does not retry; running out of retries does not.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyStats } from '../../src/targets/local/proxy/stats.ts';
import { FLAKY_HOST as host, flakyRouter } from '../support/flaky-router.ts';

const block = `127.${200 + (process.pid % 40)}.${(process.pid >> 5) % 251}`;
let server: http.Server;
let port = 0;
const seen = new Map<string, number>();

beforeAll(async () => {
  // Per path: the first request answers 503; the next one 200 on /ok, a reset on /reset, 503 again on /down.
  server = http.createServer((req, res) => {
    const n = (seen.get(req.url!) ?? 0) + 1;
    seen.set(req.url!, n);
    if (n === 1 || req.url === '/down') {
      res.writeHead(503);
      res.end('down');
    } else if (req.url === '/reset') {
      req.socket.destroy();
    } else {
      res.writeHead(200);
      res.end('ok');
    }
  });
  await new Promise<void>((r) => server.listen(0, `${block}.30`, r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const router = (stats: ProxyStats) =>
  flakyRouter({ block, serverIp: `${block}.30`, port, stats, retries: { attempts: 1, retryOn: 'retriable-status-codes,503' } });

describe('retry success counting', () => {
  it('counts a 200 after a retried 503 and a reset the policy does not retry, not an exhausted retry', async () => {
    const stats = new ProxyStats({ inclusionPrefixes: ['cluster.'], inclusionSuffixes: [], inclusionRegexps: [] });
    const r = router(stats);
    const send = (path: string) => r.handle({ method: 'GET', path, authority: `flaky:${port}`, headers: {}, requestId: path, decisionKey: path });
    try {
      expect((await send('/ok')).status).toBe(200);
      expect((await send('/reset')).flags).toEqual(['UC']);
      const down = await send('/down');
      expect([down.status, down.flags]).toEqual([503, ['URX']]);
      const text = stats.render();
      const cluster = `cluster_name="outbound|${port}||${host}"`;
      expect(text).toContain(`envoy_cluster_upstream_rq_retry{${cluster}} 3`);
      expect(text).toContain(`envoy_cluster_upstream_rq_retry_success{${cluster}} 2`);
      expect(text).toContain(`envoy_cluster_upstream_rq_retry_limit_exceeded{${cluster}} 1`);
    } finally {
      r.close();
    }
  });
});
