// meshproof's echo workload as a process of its own (the echo image, deploy/echo/Dockerfile): the same handler the
// local mesh runs behind its sidecars (src/targets/local/apps/echo.ts), served over HTTP/1.1. Its calls are plain HTTP
// requests to the URL's host and port: in a pod, the sidecar intercepts them (iptables), as it does Istio's echo.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { AppConnectionReset } from '../targets/local/apps/crash.ts';
import { createEcho } from '../targets/local/apps/echo.ts';
import { collectResponse, noResponse } from '../targets/local/apps/collect-response.ts';
import type { AppContext, OutboundCall, OutboundResult } from '../targets/local/apps/types.ts';
import type { StandaloneEcho } from './identity.ts';

/** One call as the app's HTTP client makes it; status 0 without an answer within the call's timeout. */
export function plainCall(call: OutboundCall): Promise<OutboundResult> {
  return new Promise((resolve) => {
    const request = http.request(
      `http://${call.authority}${call.path}`,
      { method: call.method ?? 'GET', headers: call.headers, timeout: call.timeoutMs },
      (response) => collectResponse(response, resolve),
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(noResponse));
    request.end();
  });
}

export interface EchoServer {
  url: string;
  close(): Promise<void>;
}

/** Serve the echo on host:port (port 0: any free one). */
export async function startEchoServer(echo: StandaloneEcho, host: string, port: number): Promise<EchoServer> {
  const ctx: AppContext = {
    podName: echo.podName,
    env: {},
    seed: echo.seed,
    call: (_scope, call) => plainCall(call),
    connect: (_scope, c) =>
      new Promise((resolve) => {
        const [name = '', portText = '443'] = c.authority.split(':');
        const socket = net.connect({ port: Number(portText), host: name, noDelay: true });
        socket.once('connect', () => resolve({ socket }));
        socket.once('error', (error) => resolve({ closed: error.message }));
      }),
    trustedCertificates: () => [...tls.rootCertificates],
  };
  const handler = createEcho(ctx, echo.identity, echo.behaviour);
  let inbound = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // Each request (each retry of one too) draws afresh, as the local sidecar's inbound key does (proxy/sidecar.ts).
      const requestId = req.headers['x-request-id'];
      const decisionKey = `${Array.isArray(requestId) ? requestId[0] : (requestId ?? '')}|${echo.podName}|in${++inbound}`;
      handler({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString(), decisionKey }).then(
        (response) => {
          res.writeHead(response.status, response.headers);
          res.end(response.body);
        },
        (error: unknown) => {
          // A crash with the request (errors: reset), or a bug: the connection closes unanswered, as Go's server would.
          if (!(error instanceof AppConnectionReset)) console.error(`echo: ${(error as Error).stack ?? String(error)}`);
          req.socket.destroy();
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
