// The `retryOn` field of a VirtualService's retries as istiod's validation and ConvertPolicy read it (pilot/pkg/
// networking/core/route/retry/retry.go parseRetryOn). The policy itself is built by src/istio/xds/routes.ts and run
// by src/envoy/runtime/retry.ts.
import type { FieldPath } from './fields.ts';

/** Values Envoy accepts in retry_on (HTTP and gRPC conditions). */
const knownRetryOn = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

/**
 * The status codes Go's net/http names (http.StatusText): istiod's validation (pkg/config/validation validateHTTPRetry)
 * accepts a number in retryOn only when it is one of these, and ConvertPolicy's parseRetryOn reads only these as codes.
 */
const namedStatusCodes = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408,
  409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

/** Split retryOn into Envoy conditions and status codes (integers), validating each part. */
export function parseRetryOn(retryOn: string, at?: FieldPath): { conditions: string[]; codes: number[] } {
  const conditions: string[] = [];
  const codes: number[] = [];
  for (const raw of retryOn.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    if (/^\d+$/.test(part)) {
      const code = Number(part);
      if (!namedStatusCodes.has(code)) {
        if (at)
          throw at.error(
            `${JSON.stringify(part)} is not a valid retryOn policy: ${part} is no HTTP status Istio knows (its validation accepts only the codes Go's net/http names)`,
          );
        continue;
      }
      codes.push(code);
    } else if (knownRetryOn.has(part)) {
      conditions.push(part);
    } else if (at) {
      throw at.error(`unknown retry condition ${JSON.stringify(part)} (known: ${[...knownRetryOn].join(', ')}, or status codes)`);
    }
  }
  return { conditions, codes };
}
