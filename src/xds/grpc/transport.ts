// ADS over gRPC with @grpc/grpc-js: one channel, one StreamAggregatedResources call per stream, requests and
// responses encoded with the Envoy protos and normalised to canonical JSON here, at the edge.
import * as grpc from '@grpc/grpc-js';
import type { Root } from 'protobufjs';
import type { JsonValue } from '../../envoy/model/common.ts';
import type { AdsTransport } from '../ads-client.ts';
import { encodeJson, type EncodableType } from '../denormalise.ts';
import type { DiscoveryRequest, DiscoveryResponse } from '../discovery.ts';
import { normaliseMessage } from '../normalise.ts';
import { envoyProtos } from './protos.ts';

export const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** Encoders both ways, for the client and for test servers. */
export function adsCodec(root: Root = envoyProtos()) {
  const requestType = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest') as unknown as EncodableType;
  const responseType = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse') as unknown as EncodableType;
  return {
    encodeRequest: (r: DiscoveryRequest) => Buffer.from(encodeJson(requestType, r as unknown as JsonValue, root)),
    decodeRequest: (b: Buffer) => normaliseMessage(requestType, requestType.decode(b), root) as unknown as DiscoveryRequest,
    /** `unknownAny: 'empty'` lets a test server send Istio's own typed configs, whose protos are not loaded. */
    encodeResponse: (r: DiscoveryResponse, unknownAny: 'throw' | 'empty' = 'throw') =>
      Buffer.from(encodeJson(responseType, r as unknown as JsonValue, root, { unknownAny })),
    decodeResponse: (b: Buffer) => normaliseMessage(responseType, responseType.decode(b), root) as unknown as DiscoveryResponse,
  };
}

export interface GrpcAdsOptions {
  /** host:port of istiod's plaintext xDS port; loopback only (127.0.0.0/8, localhost, [::1]). */
  address: string;
  /** Call metadata, e.g. { authorization: 'Bearer <token>' } for istiod's secure port. */
  metadata?: Record<string, string>;
  root?: Root;
}

/** A transport for AdsClient, and close() for its channel. */
export function grpcAdsTransport(options: GrpcAdsOptions): { transport: AdsTransport; close: () => void } {
  assertLoopback(options.address);
  const codec = adsCodec(options.root);
  const client = new grpc.Client(options.address, grpc.credentials.createInsecure());
  const transport: AdsTransport = (handlers) => {
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
    const call = client.makeBidiStreamRequest<DiscoveryRequest, DiscoveryResponse>(ADS_METHOD, codec.encodeRequest, codec.decodeResponse, metadata);
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      handlers.onClose(error);
    };
    call.on('data', (response: DiscoveryResponse) => handlers.onResponse(response));
    call.on('error', (error: Error) => finish(error));
    call.on('end', () => finish());
    return {
      send: (request) => {
        if (!done) call.write(request);
      },
      close: () => {
        done = true;
        call.cancel();
      },
    };
  };
  return { transport, close: () => client.close() };
}

function assertLoopback(address: string): void {
  const host = address.startsWith('[') ? address.slice(1, address.indexOf(']')) : address.slice(0, address.lastIndexOf(':'));
  if (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) return;
  throw new Error(`xDS address ${address}: only loopback addresses are allowed (127.0.0.0/8, localhost, [::1])`);
}
