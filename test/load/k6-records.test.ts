// The decoder of the k6 extension's binary records (src/load/k6-records.ts; the writer is
// tools/xk6-meshproof/meshproof.go). The records here are built by hand to the layout the extension writes.
import { describe, expect, it } from 'vitest';
import { K6RecordDecoder, K6RecordError, RESPONSE_RECORD_SIZE, type K6Response } from '../../src/load/k6-records.ts';

function stringRecord(id: number, value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const head = Buffer.alloc(9);
  head[0] = 1;
  head.writeUInt32LE(id, 1);
  head.writeUInt32LE(bytes.length, 5);
  return Buffer.concat([head, bytes]);
}

function originRecord(unixMs: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = 2;
  b.writeDoubleLE(unixMs, 1);
  return b;
}

function responseRecord(r: { index: number; sentAt: number; latency: number; status: number; labels: number; error?: number }): Buffer {
  const b = Buffer.alloc(RESPONSE_RECORD_SIZE);
  b[0] = 3;
  b.writeUInt32LE(r.index, 1);
  b.writeDoubleLE(r.sentAt, 5);
  b.writeDoubleLE(r.latency, 13);
  b.writeUInt16LE(r.status, 21);
  b.writeUInt32LE(r.labels, 23);
  b.writeUInt32LE(r.error ?? 0, 27);
  return b;
}

function decodeAll(chunks: Buffer[]): { origins: number[]; responses: K6Response[] } {
  const origins: number[] = [];
  const responses: K6Response[] = [];
  const decoder = new K6RecordDecoder({ onOrigin: (ms) => origins.push(ms), onResponse: (r) => responses.push(r) });
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return { origins, responses };
}

const stream = Buffer.concat([
  originRecord(1764950000123.5),
  stringRecord(1, '{"status":"200","reviews.version":"v2"}'),
  responseRecord({ index: 0, sentAt: 0, latency: 1.25, status: 200, labels: 1 }),
  stringRecord(2, '{"status":"error","error":"ECONNRESET"}'),
  stringRecord(3, 'ECONNRESET'),
  responseRecord({ index: 2, sentAt: 17, latency: 3.5, status: 0, labels: 2, error: 3 }),
  stringRecord(4, '{"reviews.version":"v3","note":"ünïcode ✓"}'),
  responseRecord({ index: 1, sentAt: 40, latency: 0.5, status: 503, labels: 4 }),
  responseRecord({ index: 0, sentAt: 41, latency: 2, status: 200, labels: 1 }),
]);

describe('k6 extension record decoder', () => {
  it('decodes origin, interned labels and errors, and responses; the same labels object for the same id', () => {
    const { origins, responses } = decodeAll([stream]);
    expect(origins).toEqual([1764950000123.5]);
    expect(responses).toEqual([
      { requestIndex: 0, sentAtMs: 0, latencyMs: 1.25, status: 200, labels: { status: '200', 'reviews.version': 'v2' } },
      { requestIndex: 2, sentAtMs: 17, latencyMs: 3.5, status: 0, labels: { status: 'error', error: 'ECONNRESET' }, error: 'ECONNRESET' },
      { requestIndex: 1, sentAtMs: 40, latencyMs: 0.5, status: 503, labels: { 'reviews.version': 'v3', note: 'ünïcode ✓' } },
      { requestIndex: 0, sentAtMs: 41, latencyMs: 2, status: 200, labels: { status: '200', 'reviews.version': 'v2' } },
    ]);
    expect(responses[3]!.labels).toBe(responses[0]!.labels);
  });

  it('decodes the same whatever the pipe splits: every split point, and one byte at a time', () => {
    const whole = decodeAll([stream]);
    for (let cut = 1; cut < stream.length; cut++) {
      expect(decodeAll([stream.subarray(0, cut), stream.subarray(cut)]), `cut at ${cut}`).toEqual(whole);
    }
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(decodeAll(bytes)).toEqual(whole);
  });

  it('a stream ending inside a record is an error naming the byte and how much of the record came', () => {
    const truncated = stream.subarray(0, stream.length - 5);
    const decoder = new K6RecordDecoder({ onOrigin: () => undefined, onResponse: () => undefined });
    decoder.push(truncated);
    expect(() => decoder.end()).toThrow(K6RecordError);
    expect(() => decoder.end()).toThrow(
      `ended inside a record at byte ${stream.length - RESPONSE_RECORD_SIZE}: ${RESPONSE_RECORD_SIZE - 5} byte(s) of ${RESPONSE_RECORD_SIZE} bytes`,
    );
    const headless = new K6RecordDecoder({ onOrigin: () => undefined, onResponse: () => undefined });
    headless.push(stringRecord(1, 'abc').subarray(0, 4));
    expect(() => headless.end()).toThrow('ended inside a record at byte 0: 4 byte(s) of its 9-byte header');
  });

  it('a response with a labels or error id never defined is an error naming the id and the byte', () => {
    const unknownLabels = Buffer.concat([stringRecord(1, '{}'), responseRecord({ index: 0, sentAt: 0, latency: 1, status: 200, labels: 7 })]);
    expect(() => decodeAll([unknownLabels])).toThrow(K6RecordError);
    expect(() => decodeAll([unknownLabels])).toThrow(
      "unknown labels id 7 in the response record at byte 11 of the k6 extension's record stream (1 string(s) defined)",
    );
    const noLabels = responseRecord({ index: 0, sentAt: 0, latency: 1, status: 200, labels: 0 });
    expect(() => decodeAll([noLabels])).toThrow('unknown labels id 0 in the response record at byte 0');
    const unknownError = Buffer.concat([stringRecord(1, '{}'), responseRecord({ index: 0, sentAt: 0, latency: 1, status: 0, labels: 1, error: 2 })]);
    expect(() => decodeAll([unknownError])).toThrow('unknown error id 2 in the response record at byte 11');
  });

  it('labels that are not a JSON object, a string id out of sequence and an unknown tag are errors', () => {
    const notObject = Buffer.concat([stringRecord(1, '["a"]'), responseRecord({ index: 0, sentAt: 0, latency: 1, status: 200, labels: 1 })]);
    expect(() => decodeAll([notObject])).toThrow('labels id 1 in the response record at byte 14 is not a JSON object: ["a"]');
    expect(() => decodeAll([stringRecord(2, 'x')])).toThrow("string id 2 at byte 0 of the k6 extension's record stream, expected 1");
    expect(() => decodeAll([Buffer.concat([originRecord(1), Buffer.from([9, 0, 0])])])).toThrow('unknown record tag 9 at byte 9');
  });
});
