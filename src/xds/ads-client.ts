// The ADS client loop: open a stream through a transport, feed responses to the session, send what it answers,
// and reconnect with back-off when the stream ends. The transport (gRPC in ./grpc) only moves canonical-JSON
// requests and responses.
import type { Ignored } from '../envoy/load/index.ts';
import type { EnvoyConfig } from '../envoy/model/index.ts';
import { AdsSession } from './ads-session.ts';
import { BackOff } from './backoff.ts';
import type { DiscoveryRequest, DiscoveryResponse, XdsTypeUrl } from './discovery.ts';
import type { XdsNode } from './node.ts';

export interface AdsStream {
  send(request: DiscoveryRequest): void;
  /** Ends the stream from this side; onClose is not called for it. */
  close(): void;
}

export interface AdsStreamHandlers {
  onResponse(response: DiscoveryResponse): void;
  /** The stream ended or failed (called at most once per stream). */
  onClose(error?: Error): void;
}

/** Opens one ADS stream (StreamAggregatedResources). */
export type AdsTransport = (handlers: AdsStreamHandlers) => AdsStream;

export interface AdsClientEvents {
  /** A response was ACKed: the proxy's whole config as now known. */
  onConfig?(update: { typeUrl: XdsTypeUrl; version: string; config: EnvoyConfig; ignored: Ignored[] }): void;
  /** A response was NACKed with this text. */
  onReject?(rejection: { typeUrl: string; nonce: string; message: string }): void;
  /** The stream closed; a reconnect follows after `retryInMs`. */
  onDisconnect?(info: { error?: Error; retryInMs: number }): void;
  /** Every request sent, for logs and tests. */
  onRequest?(request: DiscoveryRequest): void;
}

export interface AdsClientOptions extends AdsClientEvents {
  node: XdsNode;
  transport: AdsTransport;
  /** Random numbers in [0, 1) for back-off jitter; seed it in tests. */
  random: () => number;
  /** Timer; injectable so tests need not wait. */
  schedule?: (fn: () => void, ms: number) => { cancel(): void };
  backOff?: { baseMs?: number; maxMs?: number };
}

export class AdsClient {
  private readonly session: AdsSession;
  private readonly backOff: BackOff;
  private stream: AdsStream | undefined;
  private retry: { cancel(): void } | undefined;
  private closed = false;

  constructor(private readonly options: AdsClientOptions) {
    this.session = new AdsSession(options.node);
    this.backOff = new BackOff({ ...options.backOff, random: options.random });
  }

  start(): void {
    if (this.closed) throw new Error('AdsClient: start after close');
    this.connect();
  }

  close(): void {
    this.closed = true;
    this.retry?.cancel();
    this.stream?.close();
    this.stream = undefined;
  }

  config(): EnvoyConfig {
    return this.session.config();
  }

  acceptedVersions() {
    return this.session.acceptedVersions();
  }

  private connect(): void {
    let open = true;
    const stream = this.options.transport({
      onResponse: (response) => {
        if (!open || this.closed) return;
        this.backOff.reset();
        const update = this.session.onResponse(response);
        for (const request of update.requests) this.send(stream, request);
        if (update.accepted) this.options.onConfig?.(update.accepted);
        if (update.rejected) this.options.onReject?.(update.rejected);
      },
      onClose: (error) => {
        if (!open) return;
        open = false;
        if (this.closed) return;
        this.stream = undefined;
        const retryInMs = this.backOff.next();
        this.options.onDisconnect?.({ error, retryInMs });
        const schedule = this.options.schedule ?? defaultSchedule;
        this.retry = schedule(() => {
          this.retry = undefined;
          if (!this.closed) this.connect();
        }, retryInMs);
      },
    });
    this.stream = stream;
    for (const request of this.session.openStream()) this.send(stream, request);
  }

  private send(stream: AdsStream, request: DiscoveryRequest): void {
    this.options.onRequest?.(request);
    stream.send(request);
  }
}

function defaultSchedule(fn: () => void, ms: number) {
  const timer = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(timer) };
}
