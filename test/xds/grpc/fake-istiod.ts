// A test double for istiod's ADS transport only (pilot/pkg/xds/ads.go, discovery.go): one gRPC service
// StreamAggregatedResources on 127.0.0.1 that answers as istiod does — the node on a stream's first request, a
// full response for a type's first request on a stream (no nonce), nothing for an ACK or a NACK, a response when a
// named type's resource names change, requests with a stale nonce ignored, a fresh nonce per response, the push
// version in version_info, and on a push every subscribed type in PushOrder. It holds resources; it translates
// nothing.
import * as grpc from '@grpc/grpc-js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { PUSH_ORDER, TypeUrl, type DiscoveryRequest, type DiscoveryResponse, type XdsTypeUrl } from '../../../src/xds/discovery.ts';
import { ADS_METHOD, adsCodec } from '../../../src/xds/grpc/transport.ts';

type Resources = Record<'clusters' | 'endpoints' | 'listeners' | 'routes', Record<string, unknown>[]>;
type Call = ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

const KEY: Record<XdsTypeUrl, keyof Resources> = {
  [TypeUrl.cluster]: 'clusters',
  [TypeUrl.endpoint]: 'endpoints',
  [TypeUrl.listener]: 'listeners',
  [TypeUrl.route]: 'routes',
};

export interface Connection {
  call: Call;
  nodeId?: string;
  requests: DiscoveryRequest[];
  /** Per type: the names asked for and the last nonce sent on this stream. */
  watched: Map<string, { names: string[]; nonce: string }>;
  /** Per type: the version and nonce last ACKed (what /debug/syncz reports). */
  acked: Map<string, { version: string; nonce: string }>;
  nacks: DiscoveryRequest[];
}

export class FakeIstiodAds {
  readonly connections: Connection[] = [];
  private readonly server = new grpc.Server();
  private readonly codec = adsCodec();
  private version = 0;
  private nonceCounter = 0;

  constructor(private resources: Resources) {}

  get pushVersion(): string {
    return `2026-12-04T23:00:00Z/${this.version}`;
  }

  async start(): Promise<number> {
    this.version = 1;
    this.server.addService(
      {
        StreamAggregatedResources: {
          path: ADS_METHOD,
          requestStream: true,
          responseStream: true,
          requestSerialize: this.codec.encodeRequest,
          requestDeserialize: this.codec.decodeRequest,
          responseSerialize: (r: DiscoveryResponse) => this.codec.encodeResponse(r, 'empty'),
          responseDeserialize: this.codec.decodeResponse,
        },
      },
      { StreamAggregatedResources: (call: Call) => this.onStream(call) },
    );
    return new Promise((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err: Error | null, port: number) => (err ? reject(err) : resolve(port))),
    );
  }

  /** A config change: new resources, a new push version, and every subscribed type pushed in PushOrder. */
  push(resources: Partial<Resources>): void {
    this.resources = { ...this.resources, ...resources };
    this.version += 1;
    for (const conn of this.connections) {
      for (const type of PUSH_ORDER) if (conn.watched.has(type)) this.respond(conn, type);
    }
  }

  /** Ends every stream with UNAVAILABLE, as a restarting istiod's connections end. */
  dropStreams(): void {
    for (const conn of this.connections) conn.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'istiod restarting' });
    this.connections.length = 0;
  }

  close(): void {
    this.server.forceShutdown();
  }

  private onStream(call: Call): void {
    const conn: Connection = { call, requests: [], watched: new Map(), acked: new Map(), nacks: [] };
    this.connections.push(conn);
    call.on('data', (request: DiscoveryRequest) => this.onRequest(conn, request));
    call.on('error', () => undefined);
    call.on('end', () => call.end());
  }

  /** pilot/pkg/xds/ads.go shouldRespond, reduced to what a state-of-the-world sidecar exercises. */
  private onRequest(conn: Connection, request: DiscoveryRequest): void {
    conn.requests.push(request);
    if (conn.requests.length === 1) {
      if (!request.node) {
        conn.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'missing node information' });
        return;
      }
      conn.nodeId = request.node.id;
    }
    const type = request.type_url;
    const names = [...(request.resource_names ?? [])].sort();
    const previous = conn.watched.get(type);
    if (request.error_detail) {
      conn.nacks.push(request);
      return;
    }
    if (!previous || !request.response_nonce) {
      conn.watched.set(type, { names, nonce: '' });
      this.respond(conn, type);
      return;
    }
    if (request.response_nonce !== previous.nonce) return; // stale nonce: an answer to an older push
    conn.acked.set(type, { version: request.version_info ?? '', nonce: request.response_nonce });
    if (names.join(',') !== previous.names.join(',')) {
      previous.names = names;
      this.respond(conn, type);
    }
  }

  private respond(conn: Connection, type: string): void {
    const key = KEY[type as XdsTypeUrl];
    const watched = conn.watched.get(type)!;
    const all = key ? this.resources[key] : [];
    const wanted = type === TypeUrl.endpoint || type === TypeUrl.route ? all.filter((r) => watched.names.includes(nameOf(r))) : all;
    watched.nonce = `nonce-${++this.nonceCounter}`;
    conn.call.write({ version_info: this.pushVersion, type_url: type, nonce: watched.nonce, resources: wanted });
  }
}

function nameOf(resource: Record<string, unknown>): string {
  return String(resource.cluster_name ?? resource.name);
}
