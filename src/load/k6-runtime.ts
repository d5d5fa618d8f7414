// The code the generated k6 script runs per response, bundled into the script by esbuild (see k6.ts): the very same
// classifiers and request rotation as the in-process driver, so both drivers label and pick identically.
import { resolveClassifiers } from '../observe/classifiers.ts';
import type { Classifier, Labels, ResponseRecord } from '../observe/types.ts';
import { FLAG_LABEL, STATUS_LABEL, hasFlag, statusMatches } from '../assertions/labels.ts';
import type { K6Check } from './k6-checks.ts';
import { must } from '../must.ts';

export { pickRequest, requestId } from './rotation.ts';

/** k6 error codes (k6 docs, "Error codes") mapped to the names the autocannon driver reports (Node's errno codes). */
const K6_ERRORS: Record<number, string> = {
  1050: 'timeout',
  1201: 'EPIPE',
  1211: 'ETIMEDOUT',
  1212: 'ECONNREFUSED',
  1220: 'ECONNRESET',
};

export function errorName(code: number, message: string): string {
  const known = K6_ERRORS[code];
  if (known) return known;
  if (/EOF|connection reset/i.test(message)) return 'ECONNRESET';
  if (/connection refused/i.test(message)) return 'ECONNREFUSED';
  if (/timeout/i.test(message)) return 'timeout';
  return `k6-${code}`;
}

let chosen: Classifier[] | undefined;
let chosenFor: string[] | undefined;
/** Labels by status, error and (short) body; see labelsOf. */
let remembered = new Map<string, Labels>();
/** Bounds the memory per VU (k6 may run a thousand VUs): Envoy's local replies and small answers fit. */
const REMEMBER_MAX_BODY_CHARS = 1024;
const REMEMBER_MAX_ENTRIES = 32;

/**
 * The labels of one response under the named classifiers, as classify() of classifiers.ts gives them. Classifiers are
 * pure functions of the response, so a response with the status, error and body of one already classified gets the
 * same labels without running them again -- provided classifying that one read nothing else (no header, index or
 * time; K6Record tells). A load mostly repeats a few answers; classifying costs k6 more than sending a request.
 */
export function labelsOf(names: string[], record: K6Record): Labels {
  // The script passes the same array every time: resolve once per VU.
  if (!chosen || names !== chosenFor) {
    chosen = resolveClassifiers(names);
    chosenFor = names;
    remembered = new Map();
  }
  const body = record.body;
  const error = record.error ?? '';
  const key = body.length <= REMEMBER_MAX_BODY_CHARS ? `${record.status} ${error.length} ${error}${body}` : undefined;
  if (key !== undefined) {
    const known = remembered.get(key);
    if (known !== undefined) return known;
  }
  // An indexed loop, not classify()'s for-of: k6's runtime (Sobek) runs a for-of loop over a short array about ten
  // times slower (an iterator object per step).
  const labels: Labels = {};
  for (let i = 0; i < chosen.length; i++) {
    const classify = chosen[i];
    if (classify) Object.assign(labels, classify(record));
  }
  if (key !== undefined && !record.readBeyondKey && remembered.size < REMEMBER_MAX_ENTRIES) remembered.set(key, labels);
  return labels;
}

/** What the script reads of a k6 http.Response. */
export interface K6Response {
  headers: Record<string, string>;
  body: unknown;
  timings?: { connecting: number; tls_handshaking: number; duration: number };
}

/**
 * A response as the classifiers see it. Headers and body are read from k6 only when a classifier asks: every read
 * of a k6 response property converts Go values into JavaScript ones, and most responses need neither. Reading
 * anything but status, error and body marks the record (readBeyondKey), so its labels are not reused for others.
 */
export class K6Record implements ResponseRecord {
  // `declare`d and assigned in the constructor: plain assignments in k6's runtime (no defineProperty per field).
  declare readonly status: number;
  declare error?: string;
  declare readBeyondKey: boolean;
  declare private readonly response: K6Response;
  declare private readonly index: number;
  declare private readonly sentAt: number;
  declare private latency: number | undefined;
  declare private lowerCaseHeaders: Record<string, string> | undefined;
  declare private text: string | undefined;

  /** latencyMs undefined: read from the response's timings if a classifier asks (the k6 driver's extension reads it). */
  constructor(response: K6Response, requestIndex: number, sentAtMs: number, latencyMs: number | undefined, status: number, error?: string) {
    this.response = response;
    this.index = requestIndex;
    this.sentAt = sentAtMs;
    this.latency = latencyMs;
    this.status = status;
    if (error !== undefined) this.error = error;
    this.readBeyondKey = false;
    this.lowerCaseHeaders = undefined;
    this.text = undefined;
  }

  get requestIndex(): number {
    this.readBeyondKey = true;
    return this.index;
  }

  get sentAtMs(): number {
    this.readBeyondKey = true;
    return this.sentAt;
  }

  get latencyMs(): number {
    this.readBeyondKey = true;
    if (this.latency === undefined) {
      // As the extension (and the exported script) measure it: a new connection's set-up included.
      const t = must(this.response.timings, "the response's timings");
      this.latency = t.connecting + t.tls_handshaking + t.duration;
    }
    return this.latency;
  }

  get headers(): Record<string, string> {
    this.readBeyondKey = true;
    if (this.lowerCaseHeaders === undefined) {
      const out: Record<string, string> = {};
      const headers = this.response.headers;
      for (const k in headers) out[k.toLowerCase()] = String(headers[k]);
      this.lowerCaseHeaders = out;
    }
    return this.lowerCaseHeaders;
  }

  get body(): string {
    if (this.text === undefined) {
      const body = this.response.body;
      this.text = typeof body === 'string' ? body : '';
    }
    return this.text;
  }
}

/**
 * What one exported check's metric adds for a response (src/load/k6-checks.ts): undefined when the response is not in
 * the check's population (its `where`; a distribution's responses without the label), else the Rate's boolean or the
 * Trend's latency in ms.
 */
export function checkValue(check: K6Check, labels: Labels, requestName: string, latencyMs: number): boolean | number | undefined {
  for (const key in check.where) {
    const value = key === 'request' ? requestName : labels[key];
    if (value !== check.where[key]) return undefined;
  }
  if (check.carries !== undefined && labels[check.carries] === undefined) return undefined;
  const test = check.test;
  switch (test.kind) {
    case 'status':
      return statusMatches(test.pattern, labels[STATUS_LABEL] ?? '');
    case 'flag':
      return hasFlag(labels[FLAG_LABEL], test.flag);
    case 'label':
      return labels[test.label] === test.value;
    case 'slower':
      return latencyMs >= test.atLeastMs;
    case 'latency':
      return latencyMs;
  }
}
