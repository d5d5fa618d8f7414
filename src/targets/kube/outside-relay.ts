// A client outside the mesh, for the kube target's outsideEntrypoint: a plain-HTTP listener on loopback that forwards
// each request through the API server's service proxy (/api/v1/namespaces/<ns>/services/<svc>:<port>/proxy/<path>).
// The API server dials a pod of the Service straight at its IP, as a workload without a sidecar would: no client
// certificate, so a sidecar in STRICT mTLS mode resets the connection. The API server then answers 503 with a Status
// "error trying to reach service: <dial or read error>" (k8s.io/apimachinery pkg/util/proxy/transport.go, RoundTrip);
// the relay turns that back into what the direct client would have seen — a reset connection — by destroying the
// client's socket, as the local target does.
// The API server's other own answers — 401, 403 (no services/proxy permission), 429 (API Priority and Fairness
// throttling), 5xx — are Status objects too (apiVersion v1, kind Status, JSON), never the workload's answer: the relay
// resets the client's connection and keeps the first one as the relay's failure, which the kube target turns into a
// TargetError (exit 3) instead of letting it be judged as the mesh's answer. A workload's own error body passes
// through: Bookinfo answers no Kubernetes Status objects (a backend that did would be taken for the API server).
// What the API server's proxy changes on the way (and a direct client would not see): it rewrites links in HTML
// answers and Location headers to its own proxy path (the relay strips that prefix from Location again).
import http from 'node:http';
import type net from 'node:net';
import type { KubeApi } from './api.ts';
import { field, stringField } from '../../spec/untyped.ts';

export interface Relay {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The first answer the API server gave itself instead of proxying (e.g. `403 Forbidden: ...`), if any. */
  failure(): string | undefined;
  close(): Promise<void>;
}

/** Headers that belong to one connection, or that the API server would take as ours (RFC 9110 §7.6.1; Authorization). */
const dropped = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'authorization',
]);

/** The API server's own answer that it could not reach (or lost) the backend, as opposed to the backend's answer. */
export function isUnreachable(status: number, contentType: string, body: string): boolean {
  if (status !== 503 || !contentType.startsWith('application/json')) return false;
  try {
    const parsed: unknown = JSON.parse(body);
    if (field(parsed, 'kind') !== 'Status' || field(parsed, 'reason') !== 'ServiceUnavailable') return false;
    const message = stringField(parsed, 'message') ?? '';
    return message.startsWith('error trying to reach service:') || message.startsWith('no endpoints available for service');
  } catch {
    return false;
  }
}

/**
 * The API server's own error answer (a Status object: apiVersion v1, kind Status, sent as JSON), as `<code> <reason>:
 * <message>`; undefined for anything else, i.e. the workload's answer.
 */
export function apiServerStatus(status: number, contentType: string, body: string): string | undefined {
  if (status < 400 || !contentType.startsWith('application/json')) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (field(parsed, 'kind') !== 'Status' || field(parsed, 'apiVersion') !== 'v1') return undefined;
    return `${status} ${stringField(parsed, 'reason') ?? ''}: ${stringField(parsed, 'message') ?? ''}`.replace(/\s+:/, ':');
  } catch {
    return undefined;
  }
}

export async function startServiceRelay(api: KubeApi, namespace: string, service: string, port: number): Promise<Relay> {
  const prefix = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}:${port}/proxy`;
  const sockets = new Set<net.Socket>();
  let failure: string | undefined;
  const server = http.createServer((req, res) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !dropped.has(name)) headers[name] = value;
    const reset = () => req.socket.destroy();
    api
      .openRequest(req.method ?? 'GET', `${prefix}${req.url ?? '/'}`, headers)
      .then((upstream) => {
        upstream.on('error', reset);
        upstream.on('response', (answer) => {
          const contentType = answer.headers['content-type'] ?? '';
          const code = answer.statusCode ?? 502;
          if (code >= 400 && contentType.startsWith('application/json')) {
            // Error answers in JSON are read whole to tell the API server's own (Status objects) from the backend's.
            const chunks: Buffer[] = [];
            answer.on('data', (c: Buffer) => chunks.push(c));
            answer.on('error', reset);
            answer.on('end', () => {
              const body = Buffer.concat(chunks);
              const text = body.toString('utf8');
              if (isUnreachable(code, contentType, text)) return reset();
              const own = apiServerStatus(code, contentType, text);
              if (own) {
                failure ??= own;
                return reset();
              }
              res.writeHead(code, answerHeaders(answer.headers, prefix));
              res.end(body);
            });
            return;
          }
          res.writeHead(code, answerHeaders(answer.headers, prefix));
          answer.pipe(res);
          answer.on('error', reset);
        });
        req.pipe(upstream);
      })
      .catch(reset);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port: local } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${local}`,
    failure: () => failure,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function answerHeaders(headers: http.IncomingHttpHeaders, prefix: string): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || dropped.has(name)) continue;
    out[name] = name === 'location' && typeof value === 'string' && value.startsWith(prefix) ? value.slice(prefix.length) || '/' : value;
  }
  return out;
}
