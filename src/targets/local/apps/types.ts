// The contract between a Bookinfo app and its sidecar: the app serves requests and calls other services through
// the sidecar's outbound side (in real pods: localhost and iptables; here: a function call, so no extra HTTP hop).

export type HeaderMap = Record<string, string | string[] | undefined>;

export interface AppRequest {
  method: string;
  /** Path with query string. */
  path: string;
  /** Lower-case names. */
  headers: HeaderMap;
  body: string;
  /** Base key for this request's seeded decisions (e.g. ratings' v-faulty coin). */
  decisionKey: string;
}

export interface AppResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

export interface OutboundCall {
  /** `details:9080` as the app writes the URL. */
  authority: string;
  method?: string;
  path: string;
  headers: Record<string, string>;
  /** The app's own client timeout (e.g. productpage's 3 s); the sidecar sees the app hang up (DC). */
  timeoutMs: number;
}

/** status 0: no response (the app's client timed out or the connection failed). */
export interface OutboundResult {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

/** A TCP connection the app opens through its sidecar (to originate TLS itself, as to an external HTTPS host). */
export interface OutboundConnect {
  /** `api.openai.com:443`. */
  authority: string;
  /** The SNI of the ClientHello the app will send (what the sidecar's tls_inspector would read). */
  serverName?: string;
  tls: boolean;
}

/** The connection, or why the sidecar closed it (the app sees a reset). */
export type OutboundConnection = { socket: import('node:net').Socket } | { closed: string };

/** One incoming request's outbound calls, numbered so each call's decisions are seeded independently. */
export class CallScope {
  private seq = 0;
  constructor(readonly decisionKey: string) {}
  next(): number {
    return this.seq++;
  }
}

export interface AppContext {
  podName: string;
  /** Container environment (image defaults overridden by the Deployment's env). */
  env: Record<string, string>;
  seed: number;
  call(scope: CallScope, call: OutboundCall): Promise<OutboundResult>;
  /** Open a TCP connection through the sidecar's outbound listeners (absent: the app makes HTTP calls only). */
  connect?(scope: CallScope, connect: OutboundConnect): Promise<OutboundConnection>;
  /** The certificates the pod's TLS clients trust (the public CAs a real image carries; here the stand-ins'). */
  trustedCertificates?(): string[];
}

export type AppHandler = (req: AppRequest) => Promise<AppResponse>;

/**
 * A request header as an application reads it: its first value (the apps' frameworks hand over one value per name;
 * the proxies' matchers join every value instead, Envoy's getAllOfHeaderAsString: src/envoy/runtime/matchers.ts
 * headerValue). Names arrive lower-cased.
 */
export function header(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function json(status: number, value: unknown): AppResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}
