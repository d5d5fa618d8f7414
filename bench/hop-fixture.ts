// The fixture for the per-hop latency comparison, in one process (one event loop) so that both proxies share it
// with the upstream on equal terms: the local Bookinfo mesh started inline, a VirtualService that lets the ingress
// gateway route host `details.bench` to the details service, and a bare Node HTTP proxy in front of the same
// details pod. Prints one JSON line with the three URLs, then serves until killed.
//
// The three paths end at the same place, details' sidecar inbound listener and the details app:
//   direct:  client ──────────────────────────────▶ details sidecar (inbound) → app
//   node:    client ─▶ bare Node proxy ───────────▶ details sidecar (inbound) → app
//   mesh:    client ─▶ ingress gateway (listener, filters, Router: route match, cluster, endpoint, mTLS, telemetry)
//                                      ──────────▶ details sidecar (inbound) → app
// so (node − direct) is the cost of a minimal proxy hop and (mesh − direct) the cost of one hop through meshproof's
// Envoy-emulating proxy code (the same Router a sidecar's outbound side runs).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLocalMesh } from '../src/targets/local/index.ts';

export interface HopFixture {
  direct: string;
  node: string;
  mesh: string;
  /** Host header for the mesh path (the gateway routes it to details). */
  meshHost: string;
  /** Host header for the direct and node paths (what a caller in the mesh sends). */
  serviceHost: string;
}

const meshHost = 'details.bench';
const serviceHost = 'details:9080';

const mesh = await startLocalMesh({ mode: 'inline', seed: 1 });
const version = await mesh.apply([
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'details-bench', namespace: 'default' },
    spec: {
      hosts: [meshHost],
      gateways: ['bookinfo-gateway'],
      http: [{ route: [{ destination: { host: 'details', port: { number: 9080 } } }] }],
    },
  },
]);
for (;;) {
  const status = await mesh.status();
  if (status.proxies.every((p) => Number(p.configVersion) >= Number(version))) break;
  await new Promise((r) => setTimeout(r, 5));
}
const status = await mesh.status();
const details = status.workloads.find((w) => w.deployment === 'details-v1');
if (!details) throw new Error('no details-v1 workload in the mesh');
const upstream = new URL(details.url);

// The minimal proxy: keep-alive upstream connections, headers passed through, bodies streamed.
const agent = new http.Agent({ keepAlive: true });
const proxy = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(out);
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const port = (proxy.address() as AddressInfo).port;

const fixture: HopFixture = {
  direct: details.url,
  node: `http://127.0.0.1:${port}`,
  mesh: mesh.gatewayUrl,
  meshHost,
  serviceHost,
};
console.log(JSON.stringify(fixture));

const stop = async () => {
  proxy.closeAllConnections();
  proxy.close();
  await mesh.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
