// Envoy's CORS filter (source/extensions/filters/http/cors/cors_filter.cc) over the selected route's CorsPolicy and
// its virtual host's, route first (initializeCorsPolicies): each setting is the first policy's that sets it.
// - no enabled policy, or no Origin header: nothing happens;
// - a preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed origin is answered by the
//   filter itself, 200 with the allow-* headers (response details cors_response); from an origin not allowed it goes
//   on to the upstream, unless forward_not_matching_preflights is false (then answered without allow-origin);
// - any other request from an allowed origin goes on, and its response gets access-control-allow-origin (the
//   request's origin), -allow-credentials and -expose-headers.
import type { CorsPolicy } from '../model/index.ts';
import { matchString } from './matchers.ts';

export type CorsDecision =
  | { kind: 'none' }
  /** Continue; add these headers to the response (empty for an origin not allowed). */
  | { kind: 'continue'; responseHeaders: Record<string, string> }
  /** Answer the preflight with 200 and these headers. */
  | { kind: 'preflight'; headers: Record<string, string> };

function first<T>(policies: CorsPolicy[], get: (p: CorsPolicy) => T | undefined, isSet: (v: T) => boolean = () => true): T | undefined {
  for (const p of policies) {
    const v = get(p);
    if (v !== undefined && isSet(v)) return v;
  }
  return undefined;
}

const nonEmpty = (s: string) => s !== '';

/**
 * @param policies route's first, then its virtual host's
 * @param enabledDraw a uniform draw in [0, 1) for filter_enabled's runtime fraction
 */
export function corsDecision(policies: CorsPolicy[], method: string, header: (name: string) => string | undefined, enabledDraw: () => number): CorsDecision {
  const [primary] = policies;
  if (primary === undefined) return { kind: 'none' };
  const enabled = primary.filter_enabled;
  if (enabled?.default_value) {
    const { numerator = 0, denominator = 'HUNDRED' } = enabled.default_value;
    const d = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 }[denominator];
    if (Math.floor(enabledDraw() * d) >= numerator) return { kind: 'none' };
  }
  const origin = header('origin');
  if (!origin) return { kind: 'none' };
  const origins =
    first(
      policies,
      (p) => p.allow_origin_string_match,
      (l) => l.length > 0,
    ) ?? [];
  const allowed = origins.some((m) => matchString(m, '*') || matchString(m, origin));
  const credentials = first(policies, (p) => p.allow_credentials) === true;
  const requestMethod = header('access-control-request-method');
  if (method === 'OPTIONS' && requestMethod) {
    if (!allowed && (first(policies, (p) => p.forward_not_matching_preflights) ?? true)) return { kind: 'continue', responseHeaders: {} };
    const headers: Record<string, string> = {};
    if (allowed) headers['access-control-allow-origin'] = origin;
    if (credentials) headers['access-control-allow-credentials'] = 'true';
    const methods = first(policies, (p) => p.allow_methods, nonEmpty);
    if (methods) headers['access-control-allow-methods'] = methods === '*' ? requestMethod : methods;
    const allowHeaders = first(policies, (p) => p.allow_headers, nonEmpty);
    if (allowHeaders) headers['access-control-allow-headers'] = allowHeaders === '*' ? (header('access-control-request-headers') ?? '') : allowHeaders;
    const maxAge = first(policies, (p) => p.max_age, nonEmpty);
    if (maxAge) headers['access-control-max-age'] = maxAge;
    if (first(policies, (p) => p.allow_private_network_access) === true && header('access-control-request-private-network') === 'true') {
      headers['access-control-allow-private-network'] = 'true';
    }
    return { kind: 'preflight', headers };
  }
  if (!allowed) return { kind: 'continue', responseHeaders: {} };
  const responseHeaders: Record<string, string> = { 'access-control-allow-origin': origin };
  if (credentials) responseHeaders['access-control-allow-credentials'] = 'true';
  const expose = first(policies, (p) => p.expose_headers, nonEmpty);
  if (expose) responseHeaders['access-control-expose-headers'] = expose;
  return { kind: 'continue', responseHeaders };
}
