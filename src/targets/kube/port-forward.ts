// A local TCP listener whose connections are port-forwarded to a pod (client-node's PortForward, as kubectl does).
// Each local connection rides a tunnel of its own: a WebSocket through the API server to the node, which dials the
// pod's port as the tunnel opens (the kubelet's streaming server). Opening one costs a TLS connection to the API
// server, its authentication and authorization, and the node's dial — 0.1–0.4 s on the sandbox, more on a busy
// machine — which a client connecting to the gateway directly never pays. A connection that waits for its tunnel shows
// that wait in its first request's latency, so the kube target opens the load's tunnels ahead (`prewarm`): on the
// sandbox, 20 connections against a 100 ms route timeout in front of a 300 ms backend measured p99 412 ms with tunnels
// opened on demand (a tenth of the requests took 250 ms or more) and 146–172 ms with them opened ahead.
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
import { asError } from '../../errors.ts';

export interface Forward {
  /** http://127.0.0.1:<local port> */
  url: string;
  port: number;
  /** Why the last forwarded connection was cut (a refused port-forward: 403 RBAC, 404 pod gone, no node), if it was. */
  lastError(): Error | undefined;
  /**
   * Have at least `count` tunnels open and waiting, so that the next `count` local connections start on one already
   * through the API server. Resolves once they are open or refused (a refused one leaves the waiting tunnels, so a
   * connection opens its own as without prewarm), at `timeoutMs`, or when the forward is closed. A tunnel no connection
   * took within WAITING_MAX_MS (`waitingMaxMs`) of prewarm's return is closed.
   */
  prewarm(count: number, timeoutMs?: number): Promise<PrewarmReport>;
  /** Local connections open now. */
  connectionCount(): number;
  close(): Promise<void>;
}

export interface PrewarmReport {
  /** Tunnels that were open and waiting already. */
  waiting: number;
  /** Tunnels this call opened. */
  opened: number;
  /** Tunnels this call tried to open and could not (refused, or not open by the timeout). */
  failed: number;
  /** The first refusal among them; absent when those that failed were only late. */
  error?: string;
}

/** At most this many tunnels open at once in prewarm: a closed model may ask for 1,000 connections. */
const PREWARM_BATCH = 50;

/**
 * How long a tunnel waits for a connection after prewarm returns: prewarm is for the load that starts right after it.
 * And a tunnel is never kept waiting longer than WAITING_MAX_AGE_MS after it opened: it holds a connection to the pod on
 * which nothing was sent, which servers close after a while (Node's http server, which plays the local gateway, after
 * its 60 s headersTimeout, answering 408 first), and a connection joined to it would read that answer as its own.
 */
const WAITING_MAX_MS = 15_000;
const WAITING_MAX_AGE_MS = 40_000;

/** The pod's port through the API server; a local connection is joined to it when accepted. */
class Tunnel {
  /** What the local connection sends, on to the pod. */
  readonly input = new PassThrough();
  /** What the pod answers, back to the local connection. */
  readonly output = new PassThrough();
  closed = false;
  /** Its WebSocket opened (whether or not the tunnel has closed since). */
  wasOpen = false;
  /** Why it could not open, if it could not. */
  error?: Error;
  readonly createdAt = Date.now();
  /** Settles when the WebSocket is open (true) or the tunnel failed or closed first (false). */
  readonly opened: Promise<boolean>;
  private socket?: net.Socket;
  private ws?: { on(event: 'close', listener: () => void): unknown; close(): void };
  private expiry?: NodeJS.Timeout;

  constructor(
    forwarder: PortForward,
    target: { namespace: string; pod: string; port: number; where: string },
    private readonly onFailure: (error: Error) => void,
    private readonly onClose: (tunnel: Tunnel) => void,
  ) {
    // What the pod sent before the WebSocket closed can still arrive after close() ended `output` (the local connection
    // went away first): writing it is an error of a stream nobody reads, not the process's (it would crash it).
    this.output.on('error', () => undefined);
    this.input.on('error', () => undefined);
    const errors = new PassThrough();
    errors.on('data', (chunk: Buffer) => this.fail(new Error(`${target.where}: ${chunk.toString('utf8')}`)));
    this.opened = forwarder.portForward(target.namespace, target.pod, [target.port], this.output, errors, this.input).then(
      (opened) => {
        this.ws = (typeof opened === 'function' ? opened() : opened) ?? undefined;
        if (this.closed) {
          this.ws?.close();
          return false;
        }
        this.wasOpen = true;
        this.ws?.on('close', () => this.close());
        return true;
      },
      (error: unknown) => {
        this.fail(new Error(`${target.where} refused: ${asError(error).message}`));
        return false;
      },
    );
  }

  /** Waiting for a connection: closed `waitMs` from now, and never later than WAITING_MAX_AGE_MS after it was made. */
  wait(waitMs: number): void {
    clearTimeout(this.expiry);
    const until = Math.min(Date.now() + waitMs, this.createdAt + WAITING_MAX_AGE_MS);
    this.expiry = setTimeout(() => this.close(), Math.max(0, until - Date.now())).unref();
  }

  /** Too old to wait `waitMs` more. */
  staleWithin(waitMs: number): boolean {
    return Date.now() + waitMs > this.createdAt + WAITING_MAX_AGE_MS;
  }

  join(socket: net.Socket): void {
    clearTimeout(this.expiry);
    this.socket = socket;
    socket.pipe(this.input);
    // The pod's last bytes may still be in `output` when the tunnel closes: ending it lets them out before the socket ends.
    this.output.pipe(socket);
    socket.on('close', () => this.close());
  }

  /**
   * A refusal cuts the local connection and is kept for the request that used it: destroying the socket with the error
   * instead would emit 'error' on a socket nobody listens to, and crash the process before restore (issue 14 D4).
   */
  private fail(error: Error): void {
    this.error ??= error;
    this.onFailure(error);
    this.socket?.destroy();
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.expiry);
    this.ws?.close();
    // Unpiped, the socket would stop reading: what the client sends from now on is dropped, so that its close is seen.
    this.socket?.unpipe(this.input);
    this.socket?.resume();
    this.input.end();
    // client-node does not end the local connection when the API server closes the stream; ending `output` does.
    this.output.end();
    this.onClose(this);
  }
}

/** Listen on 127.0.0.1 (a free port) and forward each connection to `pod:port`. */
export async function forwardPort(config: KubeConfig, namespace: string, pod: string, port: number, options: { waitingMaxMs?: number } = {}): Promise<Forward> {
  const waitingMaxMs = options.waitingMaxMs ?? WAITING_MAX_MS;
  const forwarder = new PortForward(config);
  const target = { namespace, pod, port, where: `port-forward to ${namespace}/${pod}:${port}` };
  const sockets = new Set<net.Socket>();
  const tunnels = new Set<Tunnel>();
  let waiting: Tunnel[] = [];
  let lastError: Error | undefined;
  let closed = false;
  const openTunnel = (): Tunnel => {
    const tunnel = new Tunnel(
      forwarder,
      target,
      (error) => (lastError = error),
      (gone) => {
        tunnels.delete(gone);
        waiting = waiting.filter((t) => t !== gone);
      },
    );
    tunnels.add(tunnel);
    return tunnel;
  };

  // Nagle's algorithm off, as kubectl's own listener has it (Go's default): with it on, a reply that comes back from the
  // tunnel in two parts waited for the client's delayed ACK before its second part went out (43.8 ms instead of 2.5 ms
  // a request here).
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (error) => {
      lastError ??= error;
    });
    (waiting.shift() ?? openTunnel()).join(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const local = (server.address() as net.AddressInfo).port;

  const prewarm = async (count: number, timeoutMs = 30_000): Promise<PrewarmReport> => {
    // One that could not wait as long as the load may need it is replaced.
    for (const tunnel of waiting.filter((t) => t.staleWithin(waitingMaxMs))) tunnel.close();
    const report: PrewarmReport = { waiting: waiting.length, opened: 0, failed: 0 };
    const deadline = Date.now() + timeoutMs;
    const opening: Tunnel[] = [];
    for (let missing = count - waiting.length; missing > 0 && !closed && Date.now() < deadline;) {
      const batch = Array.from({ length: Math.min(missing, PREWARM_BATCH) }, openTunnel);
      waiting.push(...batch);
      opening.push(...batch);
      missing -= batch.length;
      await Promise.race([Promise.all(batch.map((t) => t.opened)), delay(Math.max(0, deadline - Date.now()), undefined, { ref: false })]);
    }
    // The wait starts now, for every tunnel waiting: the load starts right after this.
    for (const tunnel of waiting) tunnel.wait(waitingMaxMs);
    // Still opening at the deadline counts as failed here; a connection may still take such a tunnel as it is.
    report.opened = opening.filter((t) => t.wasOpen).length;
    report.failed = opening.length - report.opened;
    const refusal = opening.find((t) => t.error)?.error;
    if (refusal) report.error = refusal.message;
    return report;
  };

  return {
    url: `http://127.0.0.1:${local}`,
    port: local,
    lastError: () => lastError,
    prewarm,
    connectionCount: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        for (const tunnel of [...tunnels]) tunnel.close();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One GET over a fresh port-forward to `pod:port` (istioctl's portForwardRequest does the same for istiod). */
export async function portForwardGet(config: KubeConfig, namespace: string, pod: string, port: number, path: string, timeoutMs = 10_000): Promise<string> {
  const forward = await forwardPort(config, namespace, pod, port);
  try {
    return await new Promise<string>((resolve, reject) => {
      const req = http.get(`${forward.url}${path}`, { agent: false, headers: { Connection: 'close' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) resolve(body);
          else reject(new Error(`GET ${path} on ${namespace}/${pod}:${port}: ${res.statusCode} ${body.slice(0, 200)}`));
        });
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path} on ${namespace}/${pod}:${port}: no answer in ${timeoutMs} ms`)));
      // The connection was cut: say why the port-forward failed, not just "socket hang up".
      req.on('error', (error) => reject(forward.lastError() ?? error));
    });
  } finally {
    await forward.close();
  }
}
