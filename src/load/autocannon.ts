// The autocannon driver: autocannon (in-process) keeps the connections and parses responses; meshproof builds each
// request, times it, enforces the timeout and accounts for every send, because autocannon's own numbers do not fit:
// - with a rate set, its latency histogram adds synthetic samples (recordValueWithExpectedInterval in lib/run.js);
// - its timeout (whole seconds, at least 1) restarts at each send, so an idle rate-limited connection "times out";
// - after a connection error its pipelined-request queue keeps a stale entry, so its per-response durations shift.
// Open model: autocannon's `overallRate` is split into a per-connection budget of requests per second, released at the
// start of each second (lib/httpClient.js: `reqsMadeThisSecond` reset by a 1 s interval) -- a burst then idle, not
// a steady arrival rate. The k6 driver's constant-arrival-rate executor is the one with true arrival times.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { SpecError } from '../errors.ts';
import { hasHeader } from './headers.ts';
import { atMostRequests, checkPlan, sendLimit } from './plan.ts';
import { forgetConnection, reconnect, stopSending, takeOverResponses, type CannonClient } from './autocannon-client.ts';
import type { ResponseRecord } from '../observe/types.ts';
import type { RequestSpec } from '../spec/types.ts';
import type { LoadControl, LoadDriver, LoadPlan, LoadProgress, LoadSummary } from './driver.ts';
import { pickRequest, requestId } from './rotation.ts';
import { must } from '../must.ts';

const PROGRESS_INTERVAL_MS = 250;
/** Connections used for the open model: each gets rate / connections requests per second. */
const MAX_OPEN_CONNECTIONS = 100;
/** autocannon must not stop or time out on its own: meshproof does both. Below 2^31 ms (Node timer limit). */
const AUTOCANNON_NEVER_S = 1_000_000;
/** After an abort, in-flight requests get at most this long before they are counted as cancelled. */
const ABORT_GRACE_MS = 2000;
/** Bodies beyond this are cut before classification (markers sit well within it). */
const MAX_BODY_CHARS = 256 * 1024;
interface Flight {
  n: number;
  index: number;
  sentAtMs: number;
}

interface Connection {
  client: CannonClient;
  /** The response being read: status and raw headers from 'headers', body pieces from 'body'. */
  status: number;
  rawHeaders: string[] | undefined;
  chunks: Buffer[];
  inFlight?: Flight;
  /**
   * One timer per connection for the request timeout, re-armed lazily: when it fires before the request in flight
   * is due, it is set again for the rest (a timer per request costs a create and a clear every request).
   */
  timer?: NodeJS.Timeout;
  done: boolean;
}

/** A response as classifiers see it; header names are lower-cased only when a classifier reads them. */
class AutocannonRecord implements ResponseRecord {
  declare error?: string;
  private lowerCase: Record<string, string> | undefined;

  constructor(
    readonly requestIndex: number,
    readonly sentAtMs: number,
    readonly latencyMs: number,
    readonly status: number,
    private readonly rawHeaders: string[] | undefined,
    readonly body: string,
  ) {}

  get headers(): Record<string, string> {
    this.lowerCase ??= this.rawHeaders ? lowerCaseHeaders(this.rawHeaders) : {};
    return this.lowerCase;
  }
}

/** One request as bytes, with a slot for its x-request-id. */
function requestWriter(baseUrl: URL, spec: RequestSpec): (id: string) => Buffer {
  const headers = Object.entries(spec.headers);
  const has = (name: string) => hasHeader(spec.headers, name);
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  // A base URL with a path (http://host/prefix) prefixes every request path, as in the k6 script.
  const pathPrefix = baseUrl.pathname.replace(/\/+$/, '');
  let head = `${spec.method} ${pathPrefix}${spec.path} HTTP/1.1\r\n`;
  if (!has('host')) head += `host: ${baseUrl.host}\r\n`;
  if (!has('connection')) head += 'connection: keep-alive\r\n';
  if (!has('user-agent')) head += 'user-agent: meshproof (autocannon)\r\n';
  for (const [k, v] of headers) {
    if (k.toLowerCase() === 'x-request-id' || k.toLowerCase() === 'content-length') continue;
    head += `${k}: ${v}\r\n`;
  }
  const prefix = Buffer.from(`${head}x-request-id: `, 'latin1');
  const suffix = Buffer.concat([Buffer.from(body ? `\r\ncontent-length: ${body.length}\r\n\r\n` : '\r\n\r\n', 'latin1'), body ?? Buffer.alloc(0)]);
  // One allocation per request: the id (ASCII) is written between the fixed parts.
  return (id) => {
    const out = Buffer.allocUnsafe(prefix.length + id.length + suffix.length);
    prefix.copy(out, 0);
    // ids are ASCII (mp-<seed>-<n>): byte by byte, without Buffer.write's argument checks
    for (let i = 0; i < id.length; i++) out[prefix.length + i] = id.charCodeAt(i);
    suffix.copy(out, prefix.length + id.length);
    return out;
  };
}

/** A flat [name, value, ...] header list as an object with lower-case names; repeated headers joined by ", ". */
function lowerCaseHeaders(raw: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const [rawName, value] = [raw[i], raw[i + 1]];
    if (rawName === undefined || value === undefined) break; // the loop's bound keeps both in range
    const name = rawName.toLowerCase();
    const known = headers[name];
    headers[name] = known === undefined ? value : `${known}, ${value}`;
  }
  return headers;
}

/** The body of a response from its pieces, decoded once (a UTF-8 character may span two pieces), cut at MAX_BODY_CHARS. */
function bodyText(chunks: Buffer[]): string {
  const [only, ...more] = chunks;
  const text = only === undefined ? '' : more.length === 0 ? only.toString() : Buffer.concat(chunks).toString();
  return text.length > MAX_BODY_CHARS ? text.slice(0, MAX_BODY_CHARS) : text;
}

/** Connections and per-second budget for the plan's model. */
export function autocannonShape(plan: LoadPlan): { connections: number; overallRate?: number } {
  if (plan.model.kind === 'closed') return { connections: plan.model.connections };
  const rate = plan.model.rate;
  if (!Number.isInteger(rate) || rate < 1) {
    throw new SpecError(
      `the autocannon driver sends whole requests per second (got ${rate}); use an integer rate >= 1, or driver: k6`,
      undefined,
      'spec.load.rate',
    );
  }
  return { connections: Math.min(rate, MAX_OPEN_CONNECTIONS), overallRate: rate };
}

/**
 * The connections a run opens, and the open model's per-second budget. Every new connection sends its first request
 * while autocannon creates them, in one synchronous loop, before the drain the send limit queues can run.
 */
function runShape(plan: LoadPlan): { connections: number; overallRate?: number } {
  const shape = autocannonShape(plan);
  return { ...shape, connections: atMostRequests(plan, shape.connections) };
}

export class AutocannonDriver implements LoadDriver {
  readonly name = 'autocannon';

  connections(plan: LoadPlan): number {
    return runShape(plan).connections;
  }

  run(plan: LoadPlan, onResponse: (response: ResponseRecord) => void, control: LoadControl): Promise<LoadSummary> {
    return new AutocannonRun(plan, onResponse, control).start();
  }
}

/** One run: all mutable state of a load in one place. */
class AutocannonRun {
  private readonly connections: Connection[] = [];
  private readonly writers: ((id: string) => Buffer)[];
  private readonly weights: number[];
  private readonly shape: { connections: number; overallRate?: number };
  /** Sends allowed in all: totalRequests, and for the open model at most rate x duration. */
  private readonly sendLimit: number | undefined;
  private t0 = 0;
  private sent = 0;
  private answered = 0;
  private errored = 0;
  private readonly byStatus: Record<string, number> = {};
  private drainingSince: number | undefined;
  /** What a callback threw, rethrown as it was (a holder: the thrown value itself may be anything). */
  private failure: { thrown: unknown } | undefined;
  private finish: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly plan: LoadPlan,
    private readonly onResponse: (response: ResponseRecord) => void,
    private readonly control: LoadControl,
  ) {
    checkPlan(plan);
    const base = new URL(plan.baseUrl);
    this.writers = plan.requests.map((spec) => requestWriter(base, spec));
    this.weights = plan.requests.map((spec) => spec.weight);
    // autocannon would release a whole second's budget at the start of the last, partial second: the shared send
    // limit keeps an open model at rate x duration, as k6's constant-arrival-rate does.
    this.sendLimit = sendLimit(plan) ?? undefined;
    this.shape = runShape(plan);
  }

  async start(): Promise<LoadSummary> {
    const allDone = new Promise<void>((resolve) => (this.finish = resolve));
    this.t0 = performance.now();
    this.control.onClockOrigin?.(Date.now());
    // Armed before autocannon creates its clients: at the same millisecond as a client's per-second budget refill,
    // Node runs the older timer list first, so no extra burst slips in at the deadline.
    if (this.plan.durationMs !== undefined) this.timers.push(setTimeout(() => this.drain(), this.plan.durationMs));
    let ended: (error?: unknown) => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      ended = (error) => {
        // autocannon reports invalid options through this callback, before any client exists.
        if (error) {
          this.failure ??= { thrown: new SpecError(`autocannon refused the load: ${(error as Error).message}`, undefined, 'spec.load') };
          this.finish?.();
        }
        resolve();
      };
    });
    const instance = autocannon(
      {
        url: this.plan.baseUrl,
        connections: this.shape.connections,
        overallRate: this.shape.overallRate,
        pipelining: 1,
        duration: AUTOCANNON_NEVER_S,
        timeout: AUTOCANNON_NEVER_S,
        sampleInt: 100,
        // No onResponse hook: autocannon would build a header object for it per response (requestIterator.js);
        // the client's 'headers' and 'body' events give the same, and header names are only read when needed.
        requests: [{ method: 'GET', path: '/' }],
        setupClient: (client: unknown) => this.attach(client as CannonClient),
      } as autocannon.Options,
      (error: unknown) => ended(error),
    );

    const onAbort = () => this.drain(ABORT_GRACE_MS);
    if (this.control.signal.aborted) onAbort();
    else this.control.signal.addEventListener('abort', onAbort, { once: true });
    const progress = setInterval(() => this.control.onProgress?.(this.progress()), PROGRESS_INTERVAL_MS);

    await allDone;
    const durationMs = performance.now() - this.t0;
    clearInterval(progress);
    for (const t of this.timers) clearTimeout(t);
    for (const connection of this.connections) clearTimeout(connection.timer);
    this.control.signal.removeEventListener('abort', onAbort);
    (instance as { stop?: () => void }).stop?.(); // absent when autocannon refused the options
    await finished;
    this.control.onProgress?.(this.progress());
    if (this.failure) throw this.failure.thrown;
    return this.summary(durationMs);
  }

  private attach(client: CannonClient): void {
    const connection: Connection = { client, status: 0, rawHeaders: undefined, chunks: [], done: false };
    this.connections.push(connection);

    // Called by autocannon exactly once per write of a request (lib/httpClient.js _doRequest).
    client.getRequestBuffer = () => {
      // A request still in flight when the next one is written was lost: the server closed the connection and
      // autocannon reconnected ('end' handler) without reporting it.
      if (connection.inFlight) {
        this.fail(connection, 'ECONNRESET');
        forgetConnection(client, 1);
      }
      const n = this.sent++;
      const index = pickRequest(this.weights, this.plan.seed, n);
      const flight: Flight = { n, index, sentAtMs: performance.now() - this.t0 };
      connection.inFlight = flight;
      connection.timer ??= setTimeout(() => this.checkTimeout(connection), this.plan.timeoutMs);
      if (this.sendLimit !== undefined && this.sent >= this.sendLimit) queueMicrotask(() => this.drain());
      return must(this.writers[index], 'the writer of the picked request')(requestId(this.plan.seed, n));
    };

    const onResponse = () => {
      const flight = connection.inFlight;
      const rawHeaders = connection.rawHeaders;
      connection.rawHeaders = undefined;
      if (!flight || rawHeaders === undefined) return;
      this.settle(connection, flight, connection.status, rawHeaders, bodyText(connection.chunks));
      connection.chunks = [];
      if (this.drainingSince !== undefined) this.stopIdle(connection);
    };
    client.on('response', onResponse);
    // Set once the Client constructor (which calls this setupClient hook first) and run.js have set theirs; no
    // response arrives before.
    queueMicrotask(() =>
      takeOverResponses(
        client,
        {
          // A response starts with its headers: what was read of an earlier one on a dead connection is dropped here.
          headers: (info) => {
            connection.status = info.statusCode;
            connection.rawHeaders = info.headers;
            connection.chunks = [];
          },
          // The body's pieces, kept as bytes and decoded once per response.
          bodyPiece: (buffer, start, length) => {
            connection.chunks.push(buffer.subarray(start, start + length));
          },
        },
        onResponse,
      ),
    );

    client.on('connError', (error) => {
      if (connection.inFlight) this.fail(connection, error.code ?? error.message);
      // autocannon reconnects right after this event but keeps the dead connection's queue and parser state.
      forgetConnection(client);
    });

    client.on('done', () => {
      if (connection.inFlight) this.fail(connection, 'ECONNRESET');
      connection.done = true;
      this.finishIfDone();
    });
  }

  /** The connection's timer: time out the request in flight if it is due, else wait for when it will be. */
  private checkTimeout(connection: Connection): void {
    connection.timer = undefined;
    const flight = connection.inFlight;
    if (!flight || connection.done || connection.client.destroyed) return;
    const dueInMs = flight.sentAtMs + this.plan.timeoutMs - (performance.now() - this.t0);
    if (dueInMs > 0) {
      connection.timer = setTimeout(() => this.checkTimeout(connection), Math.ceil(dueInMs));
      return;
    }
    this.timeout(connection);
  }

  /** Our client-side timeout: count the request, then reset the connection as autocannon's own timeout does. */
  private timeout(connection: Connection): void {
    this.fail(connection, 'timeout');
    const client = connection.client;
    if (client.destroyed) return;
    if (this.drainingSince !== undefined) {
      client.destroy();
      return;
    }
    reconnect(client);
  }

  private fail(connection: Connection, error: string): void {
    const flight = must(connection.inFlight, 'the request in flight on a failing connection');
    this.settle(connection, flight, 0, undefined, '', error);
  }

  private settle(connection: Connection, flight: Flight, status: number, headers: string[] | undefined, body: string, error?: string): void {
    connection.inFlight = undefined;
    const latencyMs = performance.now() - this.t0 - flight.sentAtMs;
    if (status > 0) this.answered++;
    else this.errored++;
    const statusKey = status > 0 ? String(status) : 'error';
    this.byStatus[statusKey] = (this.byStatus[statusKey] ?? 0) + 1;
    if (this.failure) return;
    try {
      const record = new AutocannonRecord(flight.index, flight.sentAtMs, latencyMs, status, headers, body);
      if (error !== undefined) record.error = error;
      this.onResponse(record);
    } catch (err) {
      this.failure = { thrown: err };
      this.drain(0);
    }
  }

  /** Stop sending; let requests in flight finish (bounded by the timeout, or by `graceMs` after an abort). */
  private drain(graceMs = this.plan.timeoutMs + 1000): void {
    if (this.drainingSince === undefined) this.drainingSince = performance.now();
    for (const connection of this.connections) stopSending(connection.client);
    for (const connection of this.connections) this.stopIdle(connection);
    this.timers.push(setTimeout(() => this.cancelRemaining(), graceMs));
    this.finishIfDone();
  }

  private finishIfDone(): void {
    const all = this.connections.length === this.shape.connections;
    if (this.drainingSince !== undefined && all && this.connections.every((c) => c.done)) this.finish?.();
  }

  /** A rate-limited connection waits for the next second before its next send; no need to wait for that. */
  private stopIdle(connection: Connection): void {
    setImmediate(() => {
      if (!connection.inFlight && !connection.client.destroyed) connection.client.destroy();
    });
  }

  private cancelRemaining(): void {
    for (const connection of this.connections) {
      if (connection.inFlight) this.fail(connection, 'cancelled');
      if (!connection.client.destroyed) connection.client.destroy();
    }
  }

  private progress(): LoadProgress {
    return {
      elapsedMs: performance.now() - this.t0,
      sent: this.sent,
      answered: this.answered,
      errored: this.errored,
      byStatus: { ...this.byStatus },
    };
  }

  private summary(durationMs: number): LoadSummary {
    const notes: string[] = [];
    const sendingMs = (this.drainingSince ?? performance.now()) - this.t0;
    if (this.shape.overallRate !== undefined) {
      notes.push(
        `open model via autocannon: ${this.shape.overallRate} requests/s as a per-second budget over ` +
          `${this.shape.connections} connection(s), released at the start of each second (bursts, not evenly spaced)`,
      );
      const achieved = this.sent / Math.max(sendingMs / 1000, 1e-9);
      if (this.plan.durationMs !== undefined && achieved < 0.9 * this.shape.overallRate) {
        notes.push(
          `achieved ${achieved.toFixed(1)} requests/s, below the target ${this.shape.overallRate}: each connection ` +
            'waits for its response before sending again (slow responses hold the rate down)',
        );
      }
    } else {
      notes.push(`closed model via autocannon: ${this.shape.connections} connection(s), each sending as soon as it has an answer`);
    }
    return {
      driver: 'autocannon',
      sent: this.sent,
      answered: this.answered,
      errored: this.errored,
      durationMs,
      notes,
    };
  }
}
