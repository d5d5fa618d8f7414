// RequestAuthentication (JWT) in the local proxies' filter chain, using istio/security's verification.
import type { K8sObject } from '../../spec/types.ts';
import { authenticateRequest as verify, validateRequestAuthentication as validate } from '../../istio/security/request-authentication.ts';
import type { FilterRequest, FilterVerdict } from './proxy/filters.ts';

export type AuthnOutcome = { kind: 'continue'; principal?: string; claims?: Record<string, unknown> } | { kind: 'reply'; verdict: FilterVerdict };

export function validateRequestAuthentication(o: K8sObject): void {
  validate(o);
}

/** Verify the request's token; a refused token is a local reply, a valid one gives the request principal. */
export function authenticateRequest(
  policies: K8sObject[],
  workload: { namespace: string; labels: Record<string, string> },
  request: FilterRequest,
  remoteJwks?: (issuer: string, uri: string) => string | undefined,
): AuthnOutcome {
  const result = verify(policies, request.headers, { workload, path: request.path, scheme: 'http', host: request.host, ...(remoteJwks ? { remoteJwks } : {}) });
  if (result.error !== undefined) {
    return { kind: 'reply', verdict: { action: 'reply', status: result.status ?? 401, body: result.error, headers: result.responseHeaders ?? {}, flags: [] } };
  }
  for (const name of result.removeHeaders) delete request.headers[name];
  for (const [name, value] of Object.entries(result.addHeaders)) request.headers[name] = value;
  return { kind: 'continue', principal: result.requestPrincipal, claims: result.claims };
}
