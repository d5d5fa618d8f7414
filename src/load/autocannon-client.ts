// Everything the autocannon driver does with autocannon's private per-connection Client (lib/httpClient.js), in one
// place, checked against the version it was written for: these are not autocannon's public API, so another major or
// minor version may change them and must be looked at before it is used.
import { createRequire } from 'node:module';
import { TargetError } from '../errors.ts';

const require = createRequire(import.meta.url);
/** The autocannon versions whose Client internals this file was read against. */
const SUPPORTED = /^8\.0\.\d+$/;

/** Throws TargetError unless `version` is one whose internals this file was read against. */
export function checkAutocannonVersion(version: string): void {
  if (!SUPPORTED.test(version)) {
    throw new TargetError(
      `autocannon ${version} is installed; the autocannon driver uses Client internals read from 8.0.x (src/load/autocannon-client.ts): pin autocannon ~8.0.0 or check those internals`,
    );
  }
}

checkAutocannonVersion((require('autocannon/package.json') as { version: string }).version);

/** The callback slots of the http-parser-js parser autocannon itself loads. */
const PARSER = (createRequire(require.resolve('autocannon'))('http-parser-js') as { HTTPParser: { kOnHeadersComplete: number; kOnBody: number } }).HTTPParser;

/** The parts of autocannon's per-connection Client (lib/httpClient.js, autocannon 8.0) that the driver uses. */
export interface CannonClient {
  on(event: 'response', listener: (status: number, bytes: number, durationMs: number) => void): void;
  on(event: 'connError', listener: (error: NodeJS.ErrnoException) => void): void;
  on(event: 'done', listener: () => void): void;
  getRequestBuffer(): Buffer;
  destroy(): void;
  destroyed: boolean;
  reqsMade: number;
  responseMax?: number;
  /** http-parser-js parser shared by all of the client's successive connections; callbacks by index (kOnBody...). */
  parser: { type: string; initialize(type: string): void; [callback: number]: unknown };
  pipelinedRequests: { pendingRequests: unknown[]; setHeaders(info: HeadersInfo): void };
  requestIterator: { nextRequest(): unknown };
  listeners(event: string): ((...args: unknown[]) => void)[];
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
  removeAllListeners(event: string): void;
  _destroyConnection(): void;
  _connect(): void;
}

/** http-parser-js's headers-complete info: the status and the headers as a flat [name, value, ...] list. */
export interface HeadersInfo {
  statusCode: number;
  headers: string[];
}

/** What the driver reads of each response, straight from the parser. */
export interface ResponseHooks {
  headers: (info: HeadersInfo) => void;
  bodyPiece: (buffer: Buffer, start: number, length: number) => void;
}

/**
 * Once the client is constructed (run.js adds its listeners right after the constructor, which calls setupClient):
 * read headers and body pieces from the parser directly, and drop autocannon's own per-request bookkeeping, which the
 * driver neither reads nor needs:
 * - run.js's 'request' and 'response' listeners (its counters, status tallies and latency histogram: a result the
 *   driver discards); `keepResponse` is the driver's own 'response' listener;
 * - the request iterator's step before each send: with one request it re-clones its (empty) context with
 *   lodash.clonedeep every time (requestIterator.js resetContext), and the driver writes each request itself;
 * - the parser's body callback, which appends every piece to a string and emits 'body' with the whole read buffer.
 */
export function takeOverResponses(client: CannonClient, hooks: ResponseHooks, keepResponse: (...args: never[]) => void): void {
  client.removeAllListeners('request');
  for (const listener of client.listeners('response')) if (listener !== keepResponse) client.removeListener('response', listener);
  client.requestIterator.nextRequest = () => undefined;
  client.parser[PARSER.kOnHeadersComplete] = (info: HeadersInfo) => {
    client.pipelinedRequests.setHeaders(info);
    hooks.headers(info);
  };
  client.parser[PARSER.kOnBody] = hooks.bodyPiece;
}

/**
 * After a connection died: drop autocannon's queue entries and any half-parsed response of the dead connection.
 * `keep` entries stay: getRequestBuffer runs after _doRequest queued the entry of the request being written.
 */
export function forgetConnection(client: CannonClient, keep = 0): void {
  const queue = client.pipelinedRequests.pendingRequests;
  queue.splice(0, Math.max(0, queue.length - keep));
  client.parser.initialize(client.parser.type);
}

/** Close the connection and open a new one, as autocannon's own timeout does. */
export function reconnect(client: CannonClient): void {
  client._destroyConnection();
  forgetConnection(client);
  client._connect();
}

/**
 * Send nothing after the request in flight: autocannon destroys a client at its next send once reqsMade >=
 * responseMax (lib/httpClient.js _doRequest). Destroying it here directly could happen inside its response handler,
 * after which it would still send.
 */
export function stopSending(client: CannonClient): void {
  client.responseMax = Math.max(client.reqsMade, 1);
}
