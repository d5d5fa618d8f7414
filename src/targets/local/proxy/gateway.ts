// The ingress gateway (istio-ingressgateway): plain HTTP on :8080 for clients outside the mesh, its filters
// (RBAC, JWT, local rate limit with context GATEWAY), then the router over the VirtualServices bound to the Gateways
// that select it. Like Envoy at the edge it generates a fresh x-request-id for every external request.
import http from 'node:http';
import type { JsonValue } from '../../../envoy/model/index.ts';
import { seededHex } from '../decide.ts';
import { adminHandler, closeServer, listen } from './admin.ts';
import { Cancellation } from './cancel.ts';
import type { MeshSnapshot } from './config-view.ts';
import { openPolicy, type InboundPolicy } from './filters.ts';
import { Router, type RouterConfig } from './router.ts';
import { meshLogError } from '../log.ts';
import { connectionId, internalErrorBody, readBody, writeResponse, type WorkloadIdentity } from './sidecar.ts';
import { ProxyStats } from './stats.ts';
import { encodePeer, peerOfEndpoint, record, type PeerInfo } from './telemetry.ts';

export const gatewayPort = 8080;

export class IngressGateway {
  readonly stats: ProxyStats;
  readonly router: Router;
  private snapshot?: MeshSnapshot;
  private policy: InboundPolicy = openPolicy;
  /** The RouteConfiguration of the :8080 listener (`http.8080`, see configure), if a Gateway serves it. */
  private routeConfig = '';
  private readonly server: http.Server;
  private readonly admin: http.Server[] = [];
  private readonly self: PeerInfo;
  private readonly peerHeader: string;
  private readonly idPrefix: string;
  private requests = 0;

  constructor(
    readonly identity: WorkloadIdentity,
    options: { seed: number; meshSecret: string; delimitedStatPrefixes: boolean },
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
    this.idPrefix = seededHex(options.seed, 'x-request-id', 8);
    this.server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => void this.onRequest(req, res));
  }

  get name(): string {
    return this.identity.proxyName;
  }

  get configVersion(): string {
    return this.snapshot?.version ?? '';
  }

  get url(): string {
    return `http://${this.identity.ip}:${gatewayPort}`;
  }

  configure(snapshot: MeshSnapshot, xds: RouterConfig, policy: InboundPolicy): void {
    this.router.configure(snapshot, xds);
    this.policy = policy;
    // The listener on the gateway's port serves the servers of the Gateways selecting it, their routes named by the
    // port listened on (model/gateway.go gatewayRDSRouteName with the port resolvePorts gives: `http.8080` for a server
    // written as 80 when the gateway's Service maps 80 to 8080). The local mesh does not give istiod that Service
    // (--control-plane istiod), so there a server written as 80 keeps its port and its routes are `http.80`.
    // Without a server, nothing routes (404 NR).
    const declared = snapshot.gateways
      .filter((g) => Object.keys(g.selector).length > 0 && Object.entries(g.selector).every(([k, v]) => this.identity.labels[k] === v))
      .flatMap((g) => g.servers.filter((server) => server.port === gatewayPort).map((server) => server.declaredPort))
      .sort((a, b) => a - b);
    const names = [`http.${gatewayPort}`, ...declared.map((p) => `http.${p}`)];
    this.routeConfig = declared.length === 0 ? '' : (names.find((n) => xds.routes.some((r) => r.name === n)) ?? `http.${gatewayPort}`);
    this.snapshot = snapshot;
  }

  async start(): Promise<void> {
    await listen(this.server, this.identity.ip, gatewayPort);
    for (const port of [15000, 15090]) {
      const server = http.createServer(adminHandler({ name: this.name, stats: () => this.stats.render(), configVersion: () => this.configVersion }));
      await listen(server, this.identity.ip, port);
      this.admin.push(server);
    }
  }

  async close(): Promise<void> {
    this.router.close();
    this.server.closeAllConnections();
    await Promise.all([closeServer(this.server), ...this.admin.map(closeServer)]);
  }

  /** A deterministic x-request-id in UUID form: the n-th request at this gateway of a mesh with this seed. */
  private nextRequestId(): string {
    const n = (++this.requests).toString(16).padStart(12, '0');
    return `${this.idPrefix}-0000-4000-8000-${n}`;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      await this.serve(req, res);
    } catch (error) {
      meshLogError(this.name, `${req.method ?? 'GET'} ${req.url ?? '/'}`, error);
      record(this.stats, 'source', this.self, undefined, {}, 500, [], undefined, undefined, gatewayPort);
      writeResponse(res, 500, { 'content-type': 'text/plain' }, internalErrorBody);
    }
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const headers = req.headers;
    const requestId = this.nextRequestId();
    headers['x-request-id'] = requestId;
    delete headers['x-meshproof-key'];
    delete headers['x-envoy-peer-metadata'];
    const remote = req.socket.remoteAddress ?? '';
    const forwardedFor = headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${remote}` : remote;
    headers['x-forwarded-proto'] = 'http';
    headers['x-envoy-external-address'] = remote;
    headers['x-envoy-peer-metadata'] = this.peerHeader;
    const authority = headers.host ?? `${this.identity.ip}:${gatewayPort}`;
    const cancel = new Cancellation();
    res.on('close', () => {
      if (!res.writableFinished) cancel.abort();
    });
    const attributes = { method: req.method ?? 'GET', host: authority, path: req.url ?? '/', headers };

    const verdict = await this.policy.filter({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      // RBAC's `hosts` match the :authority as received, port included (authz matcher/header.go HostMatcher; the
      // gateway's connection manager keeps the port: istiod sets no strip_port_mode).
      host: authority,
      headers,
      port: gatewayPort,
      sourceIp: remote,
      connectionId: connectionId(req.socket),
      decisionKey: requestId,
    });
    if (verdict.action === 'reply') {
      const routeRequest = { method: req.method ?? 'GET', path: req.url ?? '/', authority, headers, decisionKey: requestId, routeConfig: this.routeConfig };
      const target = this.router.targetOf(routeRequest) ?? {};
      record(this.stats, 'source', this.self, undefined, target, verdict.status, verdict.flags, undefined, attributes, gatewayPort);
      writeResponse(res, verdict.status, { 'content-type': 'text/plain', ...verdict.headers }, verdict.body);
      return;
    }
    const result = await this.router.handle({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority,
      headers,
      body,
      requestId,
      decisionKey: requestId,
      signal: cancel,
      routeConfig: this.routeConfig,
      downstream: {
        remote: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`,
        local: `${req.socket.localAddress ?? ''}:${req.socket.localPort ?? 0}`,
      },
      // jwt_authn writes the verified payload into the stream's dynamic metadata (Istio: payload_in_metadata "payload").
      metadata: verdict.claims ? { 'envoy.filters.http.jwt_authn': { payload: verdict.claims as JsonValue } } : undefined,
    });
    if (result.downstreamGone) {
      record(this.stats, 'source', this.self, peerOfEndpoint(result.endpoint), result.target ?? {}, 0, ['DC'], undefined, attributes, gatewayPort);
      return;
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
      gatewayPort,
    );
    writeResponse(res, result.status, result.headers, result.body);
  }
}
