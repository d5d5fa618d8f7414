// The code the generated k6 script runs per response, bundled into the script by esbuild (see k6.ts): the very same
// classifiers and request rotation as the in-process driver, so both drivers label and pick identically.
import { classify, resolveClassifiers } from '../observe/classifiers.ts';
import type { Classifier, Labels, ResponseRecord } from '../observe/types.ts';

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

export function labelsOf(names: string[], record: ResponseRecord): Labels {
  // The script passes the same array every time: resolve once per VU.
  if (!chosen || names !== chosenFor) {
    chosen = resolveClassifiers(names);
    chosenFor = names;
  }
  return classify(record, chosen);
}

/** What the script reads of a k6 http.Response. */
export interface K6Response {
  headers: Record<string, string>;
  body: unknown;
}

/**
 * A response as the classifiers see it. Headers and body are read from k6 only when a classifier asks: every read
 * of a k6 response property converts Go values into JavaScript ones, and most responses need neither.
 */
export class K6Record implements ResponseRecord {
  // `declare`d and assigned in the constructor: plain assignments in k6's runtime (no defineProperty per field).
  declare readonly requestIndex: number;
  declare readonly sentAtMs: number;
  declare readonly latencyMs: number;
  declare readonly status: number;
  declare error?: string;
  private declare readonly response: K6Response;
  private declare lowerCaseHeaders: Record<string, string> | undefined;
  private declare text: string | undefined;

  constructor(response: K6Response, requestIndex: number, sentAtMs: number, latencyMs: number, status: number, error?: string) {
    this.response = response;
    this.requestIndex = requestIndex;
    this.sentAtMs = sentAtMs;
    this.latencyMs = latencyMs;
    this.status = status;
    if (error !== undefined) this.error = error;
    this.lowerCaseHeaders = undefined;
    this.text = undefined;
  }

  get headers(): Record<string, string> {
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
