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
let chosenNames = '';

export function labelsOf(names: string[], record: ResponseRecord): Labels {
  const key = names.join(',');
  if (!chosen || key !== chosenNames) {
    chosen = resolveClassifiers(names);
    chosenNames = key;
  }
  return classify(record, chosen);
}
