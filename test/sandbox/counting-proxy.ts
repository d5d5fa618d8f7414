// A loopback HTTP proxy in front of the sandbox's real kube-apiserver that numbers every request a client makes, so a
// kill test can stop the client at its k-th request: before the request reaches the API server ('drop'), or after the
// API server has carried it out and before the client reads the answer ('after'). Upgrades (port-forward) are passed
// through as raw streams and numbered too. The client talks plain HTTP to the proxy (its kubeconfig sets
// insecure-skip-tls-verify, which client-node requires for an http:// server); the proxy talks TLS to the API server,
// checking its certificate against the sandbox's CA. Everything stays on 127.0.0.1.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { must } from '../../src/must.ts';

export interface ProxiedRequest {
  method: string;
  path: string;
}

export type RequestHook = (request: ProxiedRequest, index: number) => 'drop' | 'after' | undefined;

export class CountingProxy {
  readonly requests: ProxiedRequest[] = [];
  onRequest?: RequestHook;
  /** Called for an 'after' request once the API server answered it, before the answer is passed on. */
  onProcessed?: (request: ProxiedRequest, index: number) => void;
  private server?: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly upgraded = new Set<net.Socket>();
  private readonly upstream: URL;
  private readonly ca: string;
  private readonly token: string;

  constructor(
    realKubeconfig: string,
    private readonly context: string,
  ) {
    const kc = new KubeConfig();
    kc.loadFromFile(realKubeconfig);
    kc.setCurrentContext(context);
    this.upstream = new URL(kc.getCurrentCluster()!.server);
    this.ca = Buffer.from(kc.getCurrentCluster()!.caData ?? '', 'base64').toString();
    this.token = kc.getCurrentUser()!.token ?? '';
  }

  /** Upgraded connections (port-forward tunnels) open now. */
  get openUpgrades(): number {
    return this.upgraded.size;
  }

  /** Cut every upgraded connection, as an API server going away would: its clients see their WebSockets close. */
  cutUpgrades(): void {
    for (const socket of this.upgraded) socket.destroy();
  }

  get port(): number {
    return (this.server!.address() as net.AddressInfo).port;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.on('upgrade', (req, socket, head) => this.tunnel(req, socket as net.Socket, head));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }

  /** A kubeconfig whose context (same name as the real one) reaches the API server through this proxy. */
  kubeconfig(): string {
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'proxied', cluster: { server: `http://127.0.0.1:${this.port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'proxied', user: { token: this.token } }],
      contexts: [{ name: this.context, context: { cluster: 'proxied', user: 'proxied' } }],
      'current-context': this.context,
    });
  }

  private number(req: http.IncomingMessage): { request: ProxiedRequest; index: number; hook: ReturnType<RequestHook> } {
    const request = { method: req.method ?? 'GET', path: req.url ?? '/' };
    const index = this.requests.push(request) - 1;
    return { request, index, hook: this.onRequest?.(request, index) };
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { request, index, hook } = this.number(req);
    if (hook === 'drop') {
      req.resume();
      return; // the client is being killed: the request never reaches the API server
    }
    const out = https.request(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.upstream.host },
        ca: this.ca,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          if (hook === 'after') this.onProcessed?.(request, index);
          if (res.destroyed) return;
          const headers = { ...answer.headers };
          delete headers['transfer-encoding'];
          headers['content-length'] = String(Buffer.concat(chunks).length);
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    out.on('error', (error) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502);
        res.end(`counting proxy: ${error.message}`);
      }
    });
    req.pipe(out);
  }

  private tunnel(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const { hook } = this.number(req);
    socket.on('error', () => socket.destroy());
    this.upgraded.add(socket);
    socket.on('close', () => this.upgraded.delete(socket));
    if (hook === 'drop') return;
    const upstream = tls.connect({ host: this.upstream.hostname, port: Number(this.upstream.port), ca: this.ca }, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = must(req.rawHeaders[i], 'name');
        lines.push(`${name}: ${name.toLowerCase() === 'host' ? this.upstream.host : req.rawHeaders[i + 1]}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  }
}
