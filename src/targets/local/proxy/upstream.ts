// A proxy's HTTP/1.1 connections to one upstream endpoint: a keep-alive pool (most recently used connection first,
// a new connection whenever all are busy, as Envoy's HTTP/1 pool has no limit of its own: the circuit breaker is
// the cluster's), the mTLS handshake line first on every connection, and an optional maxRequestsPerConnection.
// Written on net sockets and Node's own HTTP parser (llhttp) because http.request and its Agent were about a
// quarter of the mesh process's time per page in a perf profile of bench row 2 (bench/mesh.ts).
import { createRequire } from 'node:module';
import type http from 'node:http';
import net from 'node:net';

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  [callback: number]: unknown;
}

const { HTTPParser } = createRequire(import.meta.url)('_http_common') as {
  HTTPParser: { new (): Parser; RESPONSE: number; kOnHeaders: number; kOnHeadersComplete: number; kOnBody: number; kOnMessageComplete: number };
};

export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** How an exchange ends: a response, or the error (with Node's codes: ECONNREFUSED, ECONNRESET ...) that ended it. */
export interface ExchangeHandlers {
  response(res: UpstreamResponse): void;
  /** `afterHeaders`: the response had begun (its body broke off). */
  error(err: NodeJS.ErrnoException, afterHeaders: boolean): void;
}

/** Header names whose duplicates are dropped (first wins), as Node's IncomingMessage.headers documents. */
const singleValued = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

function headerObject(raw: string[]): http.IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    // Node's rawHeaders: name, value, name, value, ...
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    const existing = out[name];
    if (existing === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (existing as string[]).push(value);
    else if (singleValued.has(name)) continue;
    else out[name] = `${existing as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** Methods Node's client sends without a Content-Length when there is no body. */
const noBodyByDefault = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
const invalidHeaderText = /[\r\n\0]/;
const unescapedPath = /[\u0000-\u0020]/;

function requestHead(method: string, path: string, headers: Record<string, string | string[]>, body: string | undefined): string {
  if (unescapedPath.test(path)) throw new TypeError('Request path contains unescaped characters');
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') {
      if (invalidHeaderText.test(value)) throw new TypeError(`Invalid character in header content ["${name}"]`);
      head += `${name}: ${value}\r\n`;
    } else {
      for (const v of value) {
        if (invalidHeaderText.test(v)) throw new TypeError(`Invalid character in header content ["${name}"]`);
        head += `${name}: ${v}\r\n`;
      }
    }
  }
  head += 'Connection: keep-alive\r\n';
  if (body) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  else if (!noBodyByDefault.has(method)) head += 'Content-Length: 0\r\n';
  return `${head}\r\n`;
}

interface Exchange {
  handlers: ExchangeHandlers;
  head: boolean;
  gotHeaders: boolean;
}

class Connection {
  readonly socket: net.Socket;
  private readonly parser = new HTTPParser();
  /** Requests sent on this connection. */
  requests = 0;
  private exchange: Exchange | undefined;
  private status = 0;
  private rawHeaders: string[] = [];
  private chunks: Buffer[] = [];
  private headers: http.IncomingHttpHeaders = {};
  private keepAlive = true;
  private closed = false;

  /** Closes the connection when it has been idle too long (set while it waits in the pool). */
  idleTimer: NodeJS.Timeout | undefined;

  constructor(
    options: net.TcpNetConnectOpts,
    handshake: string | undefined,
    connectTimeoutMs: number,
    private readonly done: (connection: Connection, reusable: boolean) => void,
    tlsVerifyFailure?: string,
  ) {
    const parser = this.parser;
    parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
    parser[HTTPParser.kOnHeaders] = (raw: string[]) => {
      for (const x of raw) this.rawHeaders.push(x);
    };
    parser[HTTPParser.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      raw: string[] | undefined,
      _method: unknown,
      _url: unknown,
      status: number,
      _message: string,
      _upgrade: boolean,
      keepAlive: boolean,
    ) => {
      const all = raw === undefined ? this.rawHeaders : this.rawHeaders.length > 0 ? this.rawHeaders.concat(raw) : raw;
      this.rawHeaders = [];
      this.status = status;
      this.headers = headerObject(all);
      this.keepAlive = keepAlive;
      const exchange = this.exchange;
      if (exchange && (status < 100 || status >= 200 || status === 101)) exchange.gotHeaders = true;
      return exchange?.head ? 1 : 0; // a response to HEAD has no body, whatever its Content-Length says
    };
    parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
      this.chunks.push(chunk); // a view of this read's buffer, which Node allocates per read (its client keeps them too)
    };
    parser[HTTPParser.kOnMessageComplete] = () => this.complete();
    this.socket = net.connect({ ...options, noDelay: true });
    if (Number.isFinite(connectTimeoutMs)) {
      // Envoy's cluster connect_timeout (DestinationRule tcp.connectTimeout): a connection not established in time is
      // closed and its requests fail as a connection failure (upstream_request.cc maps the pool's Timeout to
      // ConnectionFailure: 503 UF).
      const timer = setTimeout(() => this.fail(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT', connectTimeout: true })), connectTimeoutMs);
      this.socket.once('connect', () => clearTimeout(timer));
      this.socket.once('close', () => clearTimeout(timer));
    }
    if (tlsVerifyFailure !== undefined) {
      // The client checks the server's certificate during the handshake and closes before any request goes out.
      this.socket.once('connect', () => this.fail(Object.assign(new Error(tlsVerifyFailure), { code: TLS_VERIFY_FAILED })));
    } else if (handshake) {
      this.socket.write(handshake);
    }
    this.socket.on('data', (data: Buffer) => {
      const r = this.parser.execute(data);
      if (r instanceof Error) this.fail(Object.assign(new Error('Parse Error'), { code: (r as NodeJS.ErrnoException).code ?? 'HPE_INVALID' }));
    });
    this.socket.on('end', () => {
      const r = this.parser.finish(); // a body delimited by the connection's end completes here
      if (r instanceof Error) this.fail(Object.assign(new Error('Parse Error'), { code: (r as NodeJS.ErrnoException).code ?? 'HPE_INVALID' }));
      else this.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    });
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
  }

  get busy(): boolean {
    return this.exchange !== undefined;
  }

  send(head: string, body: string | undefined, handlers: ExchangeHandlers, isHead: boolean): Exchange {
    const exchange: Exchange = { handlers, head: isHead, gotHeaders: false };
    this.exchange = exchange;
    this.requests++;
    if (body) this.socket.write(head + body);
    else this.socket.write(head, 'latin1');
    return exchange;
  }

  /** Abandons `exchange` if it is still in flight here: the connection closes (a reset, as Envoy does). */
  abandon(exchange: Exchange): void {
    if (this.exchange !== exchange) return;
    this.exchange = undefined;
    this.destroy();
  }

  private complete(): void {
    const exchange = this.exchange;
    if (!exchange) return;
    const status = this.status;
    if (status >= 100 && status < 200 && status !== 101) {
      this.chunks = []; // an informational response: the final one follows
      return;
    }
    const chunks = this.chunks;
    this.chunks = [];
    this.exchange = undefined;
    const reusable = this.keepAlive && !this.closed;
    this.done(this, reusable);
    const [only, ...more] = chunks;
    exchange.handlers.response({ status, headers: this.headers, body: only && more.length === 0 ? only : Buffer.concat(chunks) });
  }

  private fail(err: NodeJS.ErrnoException): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.chunks = [];
    this.destroy();
    if (exchange) exchange.handlers.error(err, exchange.gotHeaders);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.socket.destroy();
    // The parser is left to the garbage collector: closing it here, inside one of its own callbacks, crashes Node.
    this.done(this, false);
  }
}

/** The error code of a connection whose TLS handshake the client refused (the server's certificate did not verify). */
export const TLS_VERIFY_FAILED = 'ETLSVERIFY';
/** BoringSSL's reason, as Envoy puts it in the transport failure reason (istio/istio#34920 shows the body). */
export const CERTIFICATE_VERIFY_FAILED = 'TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED';

export interface PoolOptions {
  /** Every connection fails its TLS handshake with this reason (a SAN the cluster does not accept). */
  tlsVerifyFailure?: string;
  ip: string;
  port: number;
  localAddress: string;
  /** The mTLS handshake line, when the connection is mTLS. */
  handshake: string | undefined;
  /** 0: unlimited. */
  maxRequestsPerConnection: number;
  /** Infinity: none (Envoy's connect_timeout; Istio's default 10 s never fires on loopback). */
  connectTimeoutMs: number;
  /** Infinity: none. Envoy's common_http_protocol_options.idle_timeout: an idle connection closes after this long. */
  idleTimeoutMs: number;
  /** A connection closed by the idle timeout (upstream_cx_idle_timeout). */
  onIdleTimeout(): void;
  /** Every new connection (for the cluster's cx counters). */
  onConnection(socket: net.Socket): void;
}

export class ConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private destroyed = false;

  constructor(private readonly options: PoolOptions) {}

  /** Sends one request; returns a function that abandons it (closing its connection, as Envoy resets the stream). */
  request(method: string, path: string, headers: Record<string, string | string[]>, body: string | undefined, handlers: ExchangeHandlers): () => void {
    const head = requestHead(method, path, headers, body);
    const connection = this.idle.pop() ?? this.connect();
    if (connection.idleTimer) {
      clearTimeout(connection.idleTimer);
      connection.idleTimer = undefined;
    }
    const exchange = connection.send(head, body, handlers, method === 'HEAD');
    return () => connection.abandon(exchange);
  }

  private connect(): Connection {
    const o = this.options;
    const connection = new Connection(
      { host: o.ip, port: o.port, localAddress: o.localAddress },
      o.handshake,
      o.connectTimeoutMs,
      (c, reusable) => this.released(c, reusable),
      o.tlsVerifyFailure,
    );
    this.all.add(connection);
    o.onConnection(connection.socket);
    return connection;
  }

  private released(connection: Connection, reusable: boolean): void {
    const max = this.options.maxRequestsPerConnection;
    if (reusable && !this.destroyed && !(max > 0 && connection.requests >= max)) {
      this.idle.push(connection);
      if (Number.isFinite(this.options.idleTimeoutMs)) {
        connection.idleTimer = setTimeout(() => {
          connection.idleTimer = undefined;
          this.options.onIdleTimeout();
          this.released(connection, false);
        }, this.options.idleTimeoutMs);
        connection.idleTimer.unref();
      }
      return;
    }
    const i = this.idle.indexOf(connection);
    if (i >= 0) this.idle.splice(i, 1);
    this.all.delete(connection);
    connection.destroy(); // no-op when the connection is closing already
  }

  /** Closes idle connections now and busy ones when their request completes; nothing new is pooled. */
  drain(): void {
    this.destroyed = true;
    for (const connection of this.idle.splice(0)) {
      this.all.delete(connection);
      connection.destroy();
    }
  }

  /** Closes every connection, busy ones included (their requests fail with a reset). */
  destroy(): void {
    this.destroyed = true;
    this.idle.length = 0;
    for (const connection of [...this.all]) connection.destroy();
    this.all.clear();
  }
}
