// An app's HTTP client reading an answer: status, headers and the whole body, or no answer (status 0).
import type http from 'node:http';
import type { OutboundResult } from './types.ts';

export const noResponse: OutboundResult = { status: 0, headers: {}, body: '' };

/** Reads `response` to its end and hands it to `done` (no answer when the stream fails). */
export function collectResponse(response: http.IncomingMessage, done: (result: OutboundResult) => void): void {
  const chunks: Buffer[] = [];
  response.on('data', (c: Buffer) => chunks.push(c));
  response.on('end', () => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers[name] = value;
    done({ status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString() });
  });
  response.on('error', () => done(noResponse));
}
