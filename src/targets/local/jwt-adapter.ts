// RequestAuthentication (JWT) for the local proxies. The JWT semantics belong to istio/security; until that module
// provides them, a RequestAuthentication is refused rather than silently ignored.
import { SpecError } from '../../errors.ts';
import type { K8sObject } from '../../spec/types.ts';
import type { FilterRequest, FilterVerdict } from './proxy/filters.ts';

export type AuthnOutcome =
  | { kind: 'continue'; principal?: string; claims?: Record<string, unknown> }
  | { kind: 'reply'; verdict: FilterVerdict };

export function validateRequestAuthentication(o: K8sObject): void {
  throw new SpecError('RequestAuthentication is not emulated by the local target yet', undefined, `RequestAuthentication ${o.metadata.name}: kind`);
}

export function authenticateRequest(_policies: K8sObject[], _workload: { namespace: string; labels: Record<string, string> }, _request: FilterRequest): AuthnOutcome {
  return { kind: 'continue' };
}
