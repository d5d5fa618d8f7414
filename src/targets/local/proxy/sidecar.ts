// A workload's sidecar: the inbound listener on the pod address (mTLS mode, filters, then the app), the outbound
// side the app calls (router), and the admin listeners (:15000, :15090).
import { selectsPod } from '../topology.ts';
import http from 'node:http';
import net from 'node:net';
import type { Listener } from '../../../envoy/model/index.ts';
import { outboundTcpTarget } from '../../../envoy/runtime/outbound-tcp.ts';
import { evaluateCluster } from '../../../envoy/runtime/cluster.ts';
import { peerAuthAccepts } from '../../../istio/security/peer-authentication.ts';
import { AppConnectionReset } from '../apps/crash.ts';
import type { AppHandler, CallScope, OutboundCall, OutboundConnect, OutboundConnection, OutboundResult } from '../apps/types.ts';
import { meshLogError } from '../log.ts';
import { adminHandler, closeServer, listen } from './admin.ts';
import { Cancellation } from './cancel.ts';
import type { MeshSnapshot, ServiceInfo } from './config-view.ts';
import { openPolicy, type FilterVerdict, type InboundPolicy } from './filters.ts';
import { inboundListener, peerOf } from './mtls.ts';
import { Router, type RouterConfig } from './router.ts';
import { replies } from './local-reply.ts';
import { CircuitBreaker, type PoolLimits } from './circuit-breaker.ts';
import { memo } from './memo.ts';
import { ProxyStats, type StatsMatcher } from './stats.ts';
import { decodePeer, encodePeer, peerOfEndpoint, record, unknownPeer, type PeerInfo } from './telemetry.ts';
import { splitAuthority } from '../authority.ts';

export interface WorkloadIdentity {
  /** Name of the proxy in counters (the Deployment name, or `<deployment>-<n>` for further replicas). */
  proxyName: string;
  podName: string;
  workload: string;
  namespace: string;
  app: string;
  version: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** `cluster.local/ns/<ns>/sa/<sa>` */
  principal: string;
  ip: string;
  statsMatcher: StatsMatcher;
}

export interface ProxyOptions {
  seed: number;
  meshSecret: string;
  /** Port of the inbound listener (the workload's container port). */
  port: number;
  /** Istio ≥ 1.23's `;`-ended stat prefixes (IstioBehaviour.delimitedStatPrefixes). */
  delimitedStatPrefixes: boolean;
}

const connectionIds = new WeakMap<net.Socket, number>();
let nextConnectionId = 1;

export function connectionId(socket: net.Socket): number {
  let id = connectionIds.get(socket);
  if (id === undefined) {
    id = nextConnectionId++;
    connectionIds.set(socket, id);
  }
  return id;
}

export function readBody(req: http.IncomingMessage): Promise<string> {
  const length = req.headers['content-length'];
  if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve('');
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', () => resolve(''));
  });
}

/** An error in the emulator itself: that request gets a 500, the proxy goes on (and the mesh's log says why). */
export const internalErrorBody = 'meshproof local mesh: internal error (see the mesh log)';

export function writeResponse(res: http.ServerResponse, status: number, headers: Record<string, string | string[]>, body: string | Buffer): void {
  if (res.destroyed || res.headersSent) return;
  headers['content-length'] = String(Buffer.byteLength(body));
  headers.server = 'istio-envoy';
  res.writeHead(status, headers);
  res.end(body);
}

export class Sidecar {
  readonly stats: ProxyStats;
  readonly router: Router;
  private snapshot?: MeshSnapshot;
  /**
   * The inbound cluster's connection pool to the app. Istio applies the DestinationRule of the workload's service
   * there too, its top-level (port-level) connectionPool, not a subset's (cluster_builder.go buildInboundCluster:
   * "When users specify circuit breakers, they need to be set on the receiver end (server side) as well").
   */
  private inboundLimits: PoolLimits = {};
  private inboundBreaker?: CircuitBreaker;
  private policy: InboundPolicy = openPolicy;
  private outboundPolicy: InboundPolicy = openPolicy;
  /** The outbound listeners TCP connections are matched against (`0.0.0.0_<port>`, `virtualOutbound`). */
  private outboundListeners: readonly Listener[] = [];
  private app?: AppHandler;
  private readonly inbound: http.Server;
  private readonly listener: net.Server;
  private readonly admin: http.Server[] = [];
  private readonly self: PeerInfo;
  private readonly peerHeader: string;
  private inboundCount = 0;
  /** serviceOf() per Host header for the current config. */
  private servicesByHost = new Map<string, ServiceInfo | undefined>();
  /** Source peers by metadata header and mTLS principal. */
  private readonly sources = new Map<string, PeerInfo>();

  constructor(
    readonly identity: WorkloadIdentity,
    private readonly options: ProxyOptions,
  ) {
    this.stats = new ProxyStats(identity.statsMatcher, { delimitedStatPrefixes: options.delimitedStatPrefixes });
    this.router = new Router({
      name: identity.proxyName,
      ip: identity.ip,
      principal: identity.principal,
      namespace: identity.namespace,
      labels: identity.labels,
      meshSecret: options.meshSecret,
      seed: options.seed,
      stats: this.stats,
    });
    this.self = { workload: identity.workload, namespace: identity.namespace, principal: identity.principal, app: identity.app, version: identity.version };
    this.peerHeader = encodePeer(this.self);
    this.inbound = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => void this.onInbound(req, res));
    this.listener = inboundListener(this.inbound, options.meshSecret, () => this.policy.peerMode(options.port));
  }

  get name(): string {
    return this.identity.proxyName;
  }

  /** The config version this proxy runs ('' before the first push). */
  get configVersion(): string {
    return this.snapshot?.version ?? '';
  }

  setApp(app: AppHandler): void {
    this.app = app;
  }

  configure(
    snapshot: MeshSnapshot,
    xds: RouterConfig,
    inbound: InboundPolicy,
    outbound: InboundPolicy = openPolicy,
    outboundListeners: readonly Listener[] = [],
  ): void {
    this.router.configure(snapshot, xds);
    this.outboundListeners = outboundListeners;
    this.policy = inbound;
    this.outboundPolicy = outbound;
    this.snapshot = snapshot;
    this.servicesByHost = new Map();
    this.inboundLimits = this.inboundPoolLimits(xds);
  }

  /** The circuit breaker of the inbound cluster `inbound|<port>||` (its DestinationRule's connection pool, from CDS). */
  private inboundPoolLimits(xds: RouterConfig): PoolLimits {
    const cluster = xds.clusters.find((c) => c.name === `inbound|${this.options.port}||`);
    if (!cluster) return {};
    const c = evaluateCluster(cluster);
    return {
      maxConnections: c.maxConnections,
      http1MaxPendingRequests: c.maxPendingRequests,
      http2MaxRequests: c.maxRequests,
      maxRequestsPerConnection: c.maxRequestsPerConnection,
    };
  }

  private inboundCluster(): CircuitBreaker {
    if (!this.inboundBreaker) {
      const name = `inbound|${this.options.port}||`;
      const st = (n: string, type: 'counter' | 'gauge' = 'counter') => this.stats.cluster(name, n, type);
      this.inboundBreaker = new CircuitBreaker(() => this.inboundLimits, {
        rqActive: st('upstream_rq_active', 'gauge'),
        rqPendingTotal: st('upstream_rq_pending_total'),
        rqPendingActive: st('upstream_rq_pending_active', 'gauge'),
        rqPendingOverflow: st('upstream_rq_pending_overflow'),
        cxOverflow: st('upstream_cx_overflow'),
      });
    }
    return this.inboundBreaker;
  }

  async start(): Promise<void> {
    await listen(this.listener, this.identity.ip, this.options.port);
    for (const port of [15000, 15090]) {
      const server = http.createServer(adminHandler({ name: this.name, stats: () => this.stats.render(), configVersion: () => this.configVersion }));
      await listen(server, this.identity.ip, port);
      this.admin.push(server);
    }
  }

  async close(): Promise<void> {
    this.router.close();
    this.inbound.closeAllConnections();
    await Promise.all([closeServer(this.listener), ...this.admin.map(closeServer)]);
  }

  /** The app's outbound HTTP call, through this sidecar's router (the client side of the mesh). */
  async call(scope: CallScope, call: OutboundCall): Promise<OutboundResult> {
    const cancel = new Cancellation();
    const timer = setTimeout(() => cancel.abort(), call.timeoutMs);
    const headers: Record<string, string> = { ...call.headers };
    headers['x-envoy-peer-metadata'] = this.peerHeader;
    const requestId = headers['x-request-id'] ?? `${this.name}-${scope.decisionKey}`;
    headers['x-request-id'] = requestId;
    const decisionKey = `${scope.decisionKey}|${this.name}|c${scope.next()}`;
    const attributes = { method: call.method ?? 'GET', host: call.authority, path: call.path, headers };
    try {
      // A port no Service serves as HTTP has no HTTP listener: the connection takes virtualOutbound's catch-all, and
      // under REGISTRY_ONLY its tcp_proxy to the BlackHoleCluster closes it before any HTTP is read.
      const authority = splitAuthority(call.authority);
      if (!this.router.routesFor(authority)) {
        const target = outboundTcpTarget(this.outboundListeners, { port: authority.port, tls: false });
        if (target.kind === 'cluster' && target.cluster === 'BlackHoleCluster') {
          this.stats.cluster(target.cluster, 'upstream_cx_none_healthy').value++;
          return { status: 0, headers: {}, body: '' };
        }
      }
      const local = await this.outboundPolicy.filter({
        method: call.method ?? 'GET',
        path: call.path,
        host: call.authority,
        headers,
        port: authority.port,
        sourceIp: this.identity.ip,
        connectionId: 0,
        decisionKey,
      });
      if (local.action === 'reply') {
        const target = this.router.targetOf({ method: call.method ?? 'GET', path: call.path, authority: call.authority, headers, decisionKey }) ?? {};
        record(this.stats, 'source', this.self, undefined, target, local.status, local.flags, undefined, attributes, authority.port);
        return { status: local.status, headers: local.headers, body: local.body };
      }
      const result = await this.router.handle({
        method: call.method ?? 'GET',
        path: call.path,
        authority: call.authority,
        headers,
        requestId,
        decisionKey,
        signal: cancel,
        downstream: { remote: `${this.identity.ip}:0`, local: `${this.identity.ip}:15001` },
      });
      if (result.downstreamGone) {
        record(this.stats, 'source', this.self, peerOfEndpoint(result.endpoint), result.target ?? {}, 0, ['DC'], undefined, attributes, authority.port);
        return { status: 0, headers: {}, body: '' };
      }
      record(
        this.stats,
        'source',
        this.self,
        peerOfEndpoint(result.endpoint),
        result.target ?? {},
        result.status,
        result.flags,
        undefined,
        attributes,
        authority.port,
      );
      return { status: result.status, headers: result.headers, body: typeof result.body === 'string' ? result.body : result.body.toString() };
    } catch (error) {
      meshLogError(this.name, `outbound ${call.method ?? 'GET'} ${call.authority}${call.path}`, error);
      record(this.stats, 'source', this.self, undefined, {}, 500, [], undefined, attributes, splitAuthority(call.authority).port);
      return { status: 500, headers: { 'content-type': 'text/plain' }, body: internalErrorBody };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The app's TCP connection through the sidecar's outbound listeners (iptables sends it to 15001, the original
   * destination's port listener takes it): the filter chain matched by SNI (or the default one), and its tcp_proxy's
   * cluster. The sidecar passes the bytes through; the app speaks TLS to the upstream itself. Envoy's tcp_proxy
   * (tcp_proxy.cc) closes the downstream when the cluster has no host (upstream_cx_none_healthy: the BlackHoleCluster
   * has none) or the connection fails (upstream_cx_connect_fail). The PassthroughCluster would connect to the original
   * destination outside the mesh, which the local mesh cannot reach: closed too.
   */
  async connect(_scope: CallScope, c: OutboundConnect): Promise<OutboundConnection> {
    const { port } = splitAuthority(c.authority);
    const target = outboundTcpTarget(this.outboundListeners, { port, tls: c.tls, ...(c.serverName ? { serverName: c.serverName.toLowerCase() } : {}) });
    if (target.kind === 'closed') return { closed: target.reason };
    const st = (name: string) => this.stats.cluster(target.cluster, name);
    if (target.cluster === 'BlackHoleCluster') {
      st('upstream_cx_none_healthy').value++;
      return { closed: 'BlackHoleCluster (outboundTrafficPolicy REGISTRY_ONLY: the host is not in the registry)' };
    }
    if (target.cluster === 'PassthroughCluster') return { closed: 'PassthroughCluster: the local mesh has no network outside it' };
    const upstream = this.router.tcpUpstream(target.cluster);
    if ('none' in upstream) {
      if (upstream.none === 'no-host') st('upstream_cx_none_healthy').value++;
      return { closed: upstream.none === 'no-cluster' ? `no cluster ${target.cluster}` : `no healthy upstream in ${target.cluster}` };
    }
    st('upstream_cx_total').value++;
    return new Promise((resolve) => {
      const socket = net.connect({ port: upstream.endpoint.port, host: upstream.endpoint.ip, noDelay: true });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        // A reset after this is the app's to see (its TLS client fails the request); it must not crash the mesh.
        socket.on('error', () => undefined);
        resolve({ socket });
      });
      socket.once('error', (error) => {
        st('upstream_cx_connect_fail').value++;
        resolve({ closed: `connection to ${target.cluster} failed: ${error.message}` });
      });
    });
  }

  private async onInbound(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      await this.serveInbound(req, res);
    } catch (error) {
      meshLogError(this.name, `inbound ${req.method ?? 'GET'} ${req.url ?? '/'}`, error);
      writeResponse(res, 500, { 'content-type': 'text/plain' }, internalErrorBody);
    }
  }

  private async serveInbound(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const socket = req.socket;
    const peer = peerOf(socket);
    const mode = this.policy.peerMode(this.options.port);
    if (!peerAuthAccepts(mode, { mtls: peer !== undefined })) {
      socket.destroy(); // a PeerAuthentication turned STRICT while this plaintext connection was open
      return;
    }
    const body = await readBody(req);
    const headers = req.headers;
    // Istio's metadata exchange names the client workload; only mTLS proves its principal.
    const source = this.sourceOf(headers['x-envoy-peer-metadata'] as string | undefined, peer?.principal);
    const requestId = (headers['x-request-id'] as string | undefined) ?? `${this.name}-in-${++this.inboundCount}`;
    const decisionKey = (headers['x-meshproof-key'] as string | undefined) ?? `${requestId}|${this.name}|in${++this.inboundCount}`;
    delete headers['x-meshproof-key'];
    delete headers['x-envoy-peer-metadata'];
    headers['x-request-id'] = requestId;
    const service = this.serviceOf(headers.host);
    let done = false;
    const finish = (status: number, flags: string[]) => {
      if (done) return;
      done = true;
      record(
        this.stats,
        'destination',
        source,
        this.self,
        service ? { service } : {},
        status,
        flags,
        peer !== undefined,
        {
          method: req.method ?? 'GET',
          host: headers.host ?? '',
          path: req.url ?? '/',
          headers,
        },
        this.options.port,
      );
    };
    res.on('close', () => {
      if (!res.writableFinished) finish(0, ['DC']);
    });
    if (peer) headers['x-forwarded-client-cert'] = `By=spiffe://${this.identity.principal};URI=spiffe://${peer.principal}`;

    const verdict: FilterVerdict = await this.policy.filter({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      host: headers.host ?? '',
      headers,
      port: this.options.port,
      principal: peer?.principal,
      peerNamespace: peer?.namespace,
      sourceIp: socket.remoteAddress ?? '',
      connectionId: connectionId(socket),
      decisionKey,
    });
    if (verdict.action === 'reply') {
      finish(verdict.status, verdict.flags);
      writeResponse(res, verdict.status, { 'content-type': 'text/plain', ...verdict.headers }, verdict.body);
      return;
    }
    if (!this.app) {
      finish(503, ['UF']);
      writeResponse(res, 503, { 'content-type': 'text/plain' }, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure');
      return;
    }
    const admission = await this.inboundCluster().admit('app');
    if (typeof admission === 'string') {
      const reply = replies.overflow();
      finish(reply.status, reply.flags);
      writeResponse(res, reply.status, { 'content-type': 'text/plain', ...reply.headers }, reply.body);
      return;
    }
    const started = Date.now();
    let response;
    try {
      response = await this.app({ method: req.method ?? 'GET', path: req.url ?? '/', headers, body, decisionKey });
    } catch (error) {
      if (!(error instanceof AppConnectionReset)) throw error;
      // The app's process died with the request: Envoy's inbound cluster sees the connection reset before headers.
      const reply = replies.connectionTermination();
      finish(reply.status, reply.flags);
      writeResponse(res, reply.status, { 'content-type': 'text/plain' }, reply.body);
      return;
    } finally {
      admission.release();
    }
    finish(response.status, []);
    const out = { ...response.headers, 'x-envoy-upstream-service-time': String(Date.now() - started) };
    writeResponse(res, response.status, out, response.body);
  }

  private sourceOf(metadata: string | undefined, principal: string | undefined): PeerInfo {
    if (!metadata) return unknownPeer;
    const cacheKey = principal === undefined ? metadata : `${metadata}\n${principal}`;
    return memo(this.sources, cacheKey, () => {
      const meta = decodePeer(metadata);
      return meta ? { ...meta, principal: principal ?? 'unknown' } : unknownPeer;
    });
  }

  private serviceOf(host: string | undefined): ServiceInfo | undefined {
    if (!this.snapshot) return undefined;
    return memo(this.servicesByHost, host ?? '', (h) => this.findService(h));
  }

  private findService(host: string): ServiceInfo | undefined {
    if (!this.snapshot) return undefined;
    const [name = ''] = host.split(/[:.]/, 1);
    for (const s of this.snapshot.services.values()) {
      if (s.namespace === this.identity.namespace && s.name === name) return s;
    }
    // Addressed by IP: the service that selects this workload.
    for (const s of this.snapshot.services.values()) {
      if (selectsPod(s, this.identity)) return s;
    }
    return undefined;
  }
}
