// upstream_rq_retry_success as Envoy counts it (source/common/router/retry_state_impl.cc RetryStateImpl::shouldRetry):
// once a retry was scheduled, the next outcome the policy does not retry counts as a success — a response, but also
// a reset the policy does not retry; running out of retries does not.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDestinationRule } from '../../src/istio/networking/destination-rule.ts';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { Router } from '../../src/targets/local/proxy/router.ts';
import { ProxyStats } from '../../src/targets/local/proxy/stats.ts';

const block = `127.${200 + (process.pid % 40)}.${(process.pid >> 5) % 251}`;
const host = 'flaky.default.svc.cluster.local';
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

function router(stats: ProxyStats): Router {
  const r = new Router({ name: 'client', ip: `${block}.31`, principal: 'cluster.local/ns/default/sa/client', namespace: 'default', labels: { app: 'client' }, meshSecret: 's', seed: 1, stats });
  const vs = parseVirtualService({
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'flaky' },
    spec: { hosts: ['flaky'], http: [{ route: [{ destination: { host: 'flaky' } }], retries: { attempts: 1, retryOn: 'retriable-status-codes,503' } }] },
  } as K8sObject);
  const dr = parseDestinationRule({
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'flaky' },
    spec: { host: 'flaky', trafficPolicy: { tls: { mode: 'DISABLE' } } },
  } as K8sObject);
  r.configure({
    version: '1',
    virtualServices: [vs],
    destinationRules: new Map([[host, dr]]),
    services: new Map([[host, { name: 'flaky', namespace: 'default', fqdn: host, ports: [port], selector: { app: 'flaky' } }]]),
    gateways: [],
    endpoints: [{ ip: `${block}.30`, port, podName: 'flaky-1', workload: 'flaky', namespace: 'default', app: 'flaky', version: 'v1', principal: 'cluster.local/ns/default/sa/flaky', labels: { app: 'flaky' } }],
    retry503ByDefault: false,
  });
  return r;
}

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
