// x-envoy-attempt-count on the requests a sidecar or gateway sends upstream: Istio turns include_request_attempt_count
// on for outbound and gateway virtual hosts (istio/istio pilot/pkg/networking/util/proxy_headers.go,
// IncludeRequestAttemptCount: true by default), and Envoy's router sets the header to its own attempt number, replacing
// a value from downstream (envoy source/common/router/router.cc Filter::decodeHeaders and doRetry, setEnvoyAttemptCount).
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDestinationRule } from '../../src/istio/networking/destination-rule.ts';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { Router } from '../../src/targets/local/proxy/router.ts';
import { ProxyStats } from '../../src/targets/local/proxy/stats.ts';

const block = `127.${200 + (process.pid % 40)}.${(process.pid >> 6) % 250}`;
const host = 'flaky.default.svc.cluster.local';
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
    const router = new Router({ name: 'client', ip: `${block}.31`, principal: 'cluster.local/ns/default/sa/client', namespace: 'default', labels: { app: 'client' }, meshSecret: 's', seed: 1, stats });
    const vs = parseVirtualService({
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'flaky' },
      spec: { hosts: ['flaky'], http: [{ route: [{ destination: { host: 'flaky' } }], retries: { attempts: 2, retryOn: '5xx' } }] },
    } as K8sObject);
    const dr = parseDestinationRule({
      apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'flaky' },
      spec: { host: 'flaky', trafficPolicy: { tls: { mode: 'DISABLE' } } },
    } as K8sObject);
    router.configure({
      version: '1',
      virtualServices: [vs],
      destinationRules: new Map([[host, dr]]),
      services: new Map([[host, { name: 'flaky', namespace: 'default', fqdn: host, ports: [port], selector: { app: 'flaky' } }]]),
      gateways: [],
      endpoints: [{ ip: `${block}.30`, port, podName: 'flaky-1', workload: 'flaky', namespace: 'default', app: 'flaky', version: 'v1', principal: 'cluster.local/ns/default/sa/flaky', labels: { app: 'flaky' } }],
      retry503ByDefault: false,
    });
    try {
      const result = await router.handle({ method: 'GET', path: '/', authority: `flaky:${port}`, headers: { 'x-envoy-attempt-count': '7' }, requestId: 'r1', decisionKey: 'k1' });
      expect(result.status).toBe(200);
      expect(seen).toEqual(['1', '2']);
    } finally {
      router.close();
    }
  });
});
