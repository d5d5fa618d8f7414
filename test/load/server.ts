// A small loopback HTTP server for the load tests: fixed answers, failures decided by the request id (so both
// drivers see the same outcome for the same request), slow and hanging routes, and a Bookinfo-like login.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uniformAt } from '../../src/load/rotation.ts';

export interface TestServer {
  url: string;
  /** Requests that reached the server, by path (without query). */
  hits: Map<string, number>;
  /** x-request-id values seen, in arrival order. */
  ids: string[];
  /** Cookie headers seen, in arrival order (requests without one are not listed). */
  cookies: string[];
  /** When false, POST /login answers 200 without a cookie. */
  loginWorks: boolean;
  /** /early-fail: when each key was first asked for (ms since the epoch). */
  firstHits: Map<string, number>;
  close(): Promise<void>;
}

/** Share of `/flaky` requests answered 503, decided per x-request-id. */
export const FLAKY_SHARE = 0.2;

/** Deterministic outcome of an id `mp-<seed>-<n>`: an independent uniform number per request. */
export function idUniform(id: string | undefined): number {
  const m = /^mp-(\d+)-(\d+)$/.exec(id ?? '');
  return m ? uniformAt(Number(m[1]) ^ 0x5eed, Number(m[2])) : 0.5;
}

/** The reviews version the server's /productpage shows for a request id: v1 50 %, v2 30 %, v3 20 %. */
export function versionFor(id: string | undefined): 'v1' | 'v2' | 'v3' {
  const u = idUniform(id);
  return u < 0.5 ? 'v1' : u < 0.8 ? 'v2' : 'v3';
}

export function productPage(version: 'v1' | 'v2' | 'v3'): string {
  const stars = version === 'v1' ? '' : `<div class="flex gap-x-1 text-${version === 'v2' ? 'black' : 'red'}-500"><svg class="h-5 w-5"></svg></div>`;
  return `<title>Simple Bookstore App</title><h4 class="text-3xl font-semibold">Book Details</h4>
<h4 class="text-3xl font-semibold">Book Reviews</h4><section>${stars}<blockquote><p>"fun"</p></blockquote>
<div class="mt-0.5 text-gray-600 font-mono">Reviews served by:
  reviews-${version}-5b667bcbf8-2mzgl
</div></section>`;
}

function handle(req: IncomingMessage, res: ServerResponse, server: TestServer): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const id = req.headers['x-request-id'] as string | undefined;
  server.hits.set(url.pathname, (server.hits.get(url.pathname) ?? 0) + 1);
  if (id) server.ids.push(id);
  if (req.headers.cookie) server.cookies.push(req.headers.cookie);
  const text = (status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
  switch (url.pathname) {
    case '/ok':
      return text(200, 'ok');
    case '/flaky':
      return idUniform(id) < FLAKY_SHARE ? text(503, 'upstream connect error or disconnect/reset before headers. reset reason: overflow') : text(200, 'ok');
    case '/fault':
      return text(500, 'fault filter abort');
    case '/slow':
      setTimeout(() => text(200, 'slow'), Number(url.searchParams.get('ms') ?? 100));
      return;
    case '/split-utf8': {
      // "★★" in two pieces that split the first star's three UTF-8 bytes, sent apart (two reads at the client)
      const bytes = Buffer.from('stars: ★★ (x-envoy-ratelimited)');
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'X-Twice': 'a' });
      res.write(bytes.subarray(0, 8));
      setTimeout(() => res.end(bytes.subarray(8)), 20);
      return;
    }
    case '/early-fail': {
      // 503 for the first `ms` after the key's first request, 200 after: failures only at the start of a load.
      const key = url.searchParams.get('key') ?? '';
      const first = server.firstHits.get(key) ?? Date.now();
      server.firstHits.set(key, first);
      return Date.now() - first < Number(url.searchParams.get('ms') ?? 300) ? text(503, 'early') : text(200, 'ok');
    }
    case '/hang':
      return; // never answers
    case '/reset':
      req.socket.destroy();
      return;
    case '/productpage': {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(productPage(versionFor(id)));
      return;
    }
    case '/login': {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (!server.loginWorks) return text(200, 'login form');
        const user = new URLSearchParams(body).get('username') ?? '';
        res.writeHead(302, {
          location: '/productpage',
          'set-cookie': [`session=${Buffer.from(JSON.stringify({ user })).toString('base64')}; HttpOnly; Path=/`],
        });
        res.end();
      });
      return;
    }
    default:
      return text(404, 'not found');
  }
}

/** A loopback port with nothing listening (connections are refused). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export async function startServer(): Promise<TestServer> {
  let server: Server;
  const state: TestServer = {
    url: '',
    hits: new Map(),
    ids: [],
    cookies: [],
    loginWorks: true,
    firstHits: new Map(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => handle(req, res, state));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
