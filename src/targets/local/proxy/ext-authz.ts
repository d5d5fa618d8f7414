// Envoy's external authorization filter (envoy.filters.http.ext_authz) with a gRPC service, as a local proxy runs it:
// one envoy.service.auth.v3.Authorization/Check call per request the CUSTOM policy's rules enabled it for, and the
// filter's answer to the result (source/extensions/filters/http/ext_authz/ext_authz.cc onComplete,
// source/extensions/filters/common/ext_authz/ext_authz_grpc_impl.cc onSuccess):
// - status OK: the request goes on, with the ok_response's headers set on it and headers_to_remove removed
//   (ext_authz.ok);
// - any other status: a local reply with denied_response.status (403 when unset), its body and headers, response
//   flag UAEX (ext_authz.denied);
// - the call fails (no endpoint, connection refused, timeout, a gRPC error): failure_mode_allow lets the request on
//   (ext_authz.error and ext_authz.failure_mode_allowed), otherwise status_on_error (403 when unset), empty body,
//   flag UAEX (ext_authz.error).
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf, { type Root, type Type } from 'protobufjs';
import { protoIncludeDirs } from '../../../xds/grpc/protos.ts';

export const CHECK_METHOD = '/envoy.service.auth.v3.Authorization/Check';
const GRPC_OK = 0;

let root: Root | undefined;

/** envoy/service/auth/v3/external_auth.proto from @grpc/grpc-js-xds's Envoy API tree, with Envoy's field names. */
export function extAuthzProtos(): Root {
  if (root) return root;
  const dirs = protoIncludeDirs();
  const r = new protobuf.Root();
  r.resolvePath = (_origin: string, target: string) => dirs.map((d) => path.join(d, target)).find((c) => existsSync(c)) ?? target;
  r.loadSync(['envoy/service/auth/v3/external_auth.proto'], { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

export interface ExtAuthzRequest {
  method: string;
  /** Path with query string. */
  path: string;
  host: string;
  /** Lower-case names; the request's headers as they reach the filter. */
  headers: Record<string, string | string[] | undefined>;
  requestId: string;
  source: { address: string; port: number; principal?: string };
  destination: { address: string; port: number; principal: string };
}

export type ExtAuthzOutcome =
  | { kind: 'ok'; set: Record<string, string>; remove: string[] }
  | { kind: 'denied'; status: number; body: string; headers: Record<string, string> }
  | { kind: 'error'; reason: string };

interface CheckResponse {
  status?: { code?: number; message?: string };
  denied_response?: { status?: { code?: number }; headers?: { header?: { key?: string; value?: string } }[]; body?: string };
  ok_response?: { headers?: { header?: { key?: string; value?: string } }[]; headers_to_remove?: string[] };
}

/** The AttributeContext Envoy sends (attribute_context.proto): peers, and the HTTP request with its pseudo-headers. */
export function checkRequestOf(r: ExtAuthzRequest): unknown {
  const headers: Record<string, string> = { ':authority': r.host, ':method': r.method, ':path': r.path };
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const peer = (p: { address: string; port: number; principal?: string }) => ({
    address: { socket_address: { address: p.address, port_value: p.port } },
    ...(p.principal ? { principal: `spiffe://${p.principal}` } : {}),
  });
  return {
    attributes: {
      source: peer(r.source),
      destination: peer(r.destination),
      request: {
        time: { seconds: Math.floor(Date.now() / 1000), nanos: (Date.now() % 1000) * 1e6 },
        http: { id: r.requestId, method: r.method, headers, path: r.path, host: r.host, scheme: 'http', protocol: 'HTTP/1.1', size: -1 },
      },
    },
  };
}

function headerList(list: { header?: { key?: string; value?: string } }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) if (h.header?.key) out[h.header.key.toLowerCase()] = h.header.value ?? '';
  return out;
}

/** ext_authz_grpc_impl.cc onSuccess: OK allows; any other status denies, with the denied response when one is given. */
export function outcomeOf(response: CheckResponse): ExtAuthzOutcome {
  if ((response.status?.code ?? GRPC_OK) === GRPC_OK) {
    return { kind: 'ok', set: headerList(response.ok_response?.headers), remove: (response.ok_response?.headers_to_remove ?? []).map((h) => h.toLowerCase()) };
  }
  const denied = response.denied_response;
  const code = denied?.status?.code;
  return { kind: 'denied', status: code && code >= 100 ? code : 403, body: denied?.body ?? '', headers: headerList(denied?.headers) };
}

/** One gRPC channel to an authorization service at a loopback address. */
export class ExtAuthzClient {
  private readonly client: grpc.Client;
  private readonly requestType: Type;
  private readonly responseType: Type;

  constructor(readonly address: string) {
    const protos = extAuthzProtos();
    this.requestType = protos.lookupType('envoy.service.auth.v3.CheckRequest');
    this.responseType = protos.lookupType('envoy.service.auth.v3.CheckResponse');
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  check(request: ExtAuthzRequest, timeoutMs: number): Promise<ExtAuthzOutcome> {
    const message = this.requestType.fromObject(checkRequestOf(request) as Record<string, unknown>);
    return new Promise((resolve) => {
      this.client.makeUnaryRequest<protobuf.Message, CheckResponse>(
        CHECK_METHOD,
        (m) => Buffer.from(this.requestType.encode(m).finish()),
        (b) => this.responseType.toObject(this.responseType.decode(b), { defaults: false }) as CheckResponse,
        message,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          if (error) resolve({ kind: 'error', reason: `${grpcStatusName(error.code) ?? error.code}: ${error.details || error.message}` });
          else if (!response) resolve({ kind: 'error', reason: 'empty response' });
          else resolve(outcomeOf(response));
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The name of a gRPC status code; undefined for a code grpc-js does not know (the enum's index type says string). */
function grpcStatusName(code: number): string | undefined {
  return (grpc.status as Record<number, string | undefined>)[code];
}
