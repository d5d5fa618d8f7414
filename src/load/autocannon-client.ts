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

/** The body callback slot of the http-parser-js parser autocannon itself loads. */
const PARSER_ON_BODY: number = (createRequire(require.resolve('autocannon'))('http-parser-js') as { HTTPParser: { kOnBody: number } }).HTTPParser.kOnBody;

/** The parts of autocannon's per-connection Client (lib/httpClient.js, autocannon 8.0) that the driver uses. */
export interface CannonClient {
  on(event: 'response', listener: (status: number, bytes: number, durationMs: number) => void): void;
  /** http-parser-js's headers-complete info: the status and the headers as a flat [name, value, ...] list. */
  on(event: 'headers', listener: (info: { statusCode: number; headers: string[] }) => void): void;
  on(event: 'connError', listener: (error: NodeJS.ErrnoException) => void): void;
  on(event: 'done', listener: () => void): void;
  getRequestBuffer(): Buffer;
  destroy(): void;
  destroyed: boolean;
  reqsMade: number;
  responseMax?: number;
  /** http-parser-js parser shared by all of the client's successive connections; callbacks by index (kOnBody...). */
  parser: { type: string; initialize(type: string): void; [callback: number]: unknown };
  pipelinedRequests: { pendingRequests: unknown[] };
  _destroyConnection(): void;
  _connect(): void;
}

/** Replace the parser's body callback (autocannon's appends every piece to a string nothing here reads). */
export function onBodyPieces(client: CannonClient, piece: (buffer: Buffer, start: number, length: number) => void): void {
  client.parser[PARSER_ON_BODY] = piece;
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
