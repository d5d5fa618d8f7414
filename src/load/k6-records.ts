// Decodes the binary records meshproof's k6 extension (tools/xk6-meshproof/meshproof.go) writes for the k6 driver:
// fixed-size little-endian records, each starting with a one-byte tag, read from a pipe in chunks that may split a
// record anywhere. Keep the layout in step with meshproof.go.
import type { Labels } from '../observe/types.ts';

const TAG_STRING = 1;
const TAG_ORIGIN = 2;
const TAG_RESPONSE = 3;

/** tag, u32 id, u32 length (then the string's bytes). */
const STRING_HEAD_SIZE = 9;
/** tag, f64 scenario start (Unix ms). */
const ORIGIN_SIZE = 9;
/** tag, u32 request index, f64 sent at, f64 latency, u16 status, u32 labels id, u32 error id (0: none). */
export const RESPONSE_RECORD_SIZE = 31;

/** One response as the extension reports it. */
export interface K6Response {
  requestIndex: number;
  sentAtMs: number;
  latencyMs: number;
  /** 0 for a transport error. */
  status: number;
  labels: Labels;
  error?: string;
}

export interface K6RecordHandlers {
  onOrigin(unixMs: number): void;
  onResponse(response: K6Response): void;
}

/** The stream is not what the extension writes (a k6 built from other sources, or a bug): names the byte offset. */
export class K6RecordError extends Error {}

/**
 * Feeds chunks with push() and calls the handlers per complete record; end() checks the stream did not stop inside
 * a record. Strings (labels as JSON objects, error names) come once each, before the first record using them.
 */
export class K6RecordDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of the stream before `pending`. */
  private consumed = 0;
  private readonly strings: (string | undefined)[] = [undefined];
  private readonly labels: (Labels | undefined)[] = [undefined];

  constructor(private readonly handlers: K6RecordHandlers) {}

  push(chunk: Buffer): void {
    const buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    for (;;) {
      const size = this.recordSize(buffer, at);
      if (size === undefined || at + size > buffer.length) break;
      this.decode(buffer, at);
      at += size;
    }
    this.consumed += at;
    this.pending = at === buffer.length ? Buffer.alloc(0) : buffer.subarray(at);
  }

  end(): void {
    if (this.pending.length === 0) return;
    const headerOnly = this.pending[0] === TAG_STRING && this.pending.length < STRING_HEAD_SIZE;
    const expected = headerOnly ? `its ${STRING_HEAD_SIZE}-byte header` : `${this.recordSize(this.pending, 0)} bytes`;
    throw new K6RecordError(`the k6 extension's record stream ended inside a record at byte ${this.consumed}: ${this.pending.length} byte(s) of ${expected}`);
  }

  /** The size of the record at `at`, or undefined when not enough of it is there to tell. */
  private recordSize(buffer: Buffer, at: number): number | undefined {
    if (at >= buffer.length) return undefined;
    const tag = buffer.readUInt8(at);
    switch (tag) {
      case TAG_RESPONSE:
        return RESPONSE_RECORD_SIZE;
      case TAG_ORIGIN:
        return ORIGIN_SIZE;
      case TAG_STRING:
        return at + STRING_HEAD_SIZE <= buffer.length ? STRING_HEAD_SIZE + buffer.readUInt32LE(at + 5) : STRING_HEAD_SIZE;
      default:
        throw new K6RecordError(`unknown record tag ${tag} at byte ${this.consumed + at} of the k6 extension's record stream`);
    }
  }

  private decode(buffer: Buffer, at: number): void {
    const tag = buffer.readUInt8(at);
    if (tag === TAG_RESPONSE) {
      const labelsId = buffer.readUInt32LE(at + 23);
      const errorId = buffer.readUInt32LE(at + 27);
      const response: K6Response = {
        requestIndex: buffer.readUInt32LE(at + 1),
        sentAtMs: buffer.readDoubleLE(at + 5),
        latencyMs: buffer.readDoubleLE(at + 13),
        status: buffer.readUInt16LE(at + 21),
        labels: this.labels[labelsId] ?? this.parseLabels(labelsId, at),
      };
      if (errorId !== 0) response.error = this.string(errorId, at, 'error');
      this.handlers.onResponse(response);
    } else if (tag === TAG_ORIGIN) {
      this.handlers.onOrigin(buffer.readDoubleLE(at + 1));
    } else {
      const id = buffer.readUInt32LE(at + 1);
      if (id !== this.strings.length) {
        throw new K6RecordError(
          `string id ${id} at byte ${this.consumed + at} of the k6 extension's record stream, expected ${this.strings.length} (ids are sequential)`,
        );
      }
      this.strings.push(buffer.toString('utf8', at + STRING_HEAD_SIZE, at + STRING_HEAD_SIZE + buffer.readUInt32LE(at + 5)));
    }
  }

  private string(id: number, at: number, field: string): string {
    const value = this.strings[id];
    if (value === undefined) {
      throw new K6RecordError(
        `unknown ${field} id ${id} in the response record at byte ${this.consumed + at} of the k6 extension's record stream (${this.strings.length - 1} string(s) defined)`,
      );
    }
    return value;
  }

  private parseLabels(id: number, at: number): Labels {
    const text = this.string(id, at, 'labels');
    let labels: unknown;
    try {
      labels = JSON.parse(text);
    } catch {
      labels = undefined;
    }
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
      throw new K6RecordError(`labels id ${id} in the response record at byte ${this.consumed + at} is not a JSON object: ${text.slice(0, 80)}`);
    }
    this.labels[id] = labels as Labels;
    return labels as Labels;
  }
}
