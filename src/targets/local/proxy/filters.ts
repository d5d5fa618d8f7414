// The HTTP filters a proxy runs on requests it receives before they reach the app (sidecar inbound) or the router
// (ingress): JWT authentication, RBAC (AuthorizationPolicy) and local rate limits, in Istio's order.
import type { PeerAuthMode } from './mtls.ts';

export interface FilterRequest {
  method: string;
  /** Path with query string. */
  path: string;
  host: string;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /** Listener port (9080 inbound, 8080 at the ingress). */
  port: number;
  /** mTLS peer principal (without spiffe://), undefined for plaintext. */
  principal?: string;
  peerNamespace?: string;
  sourceIp: string;
  connectionId: number;
  decisionKey: string;
}

export type FilterVerdict =
  /** `claims`: the verified JWT payload (jwt_authn's metadata), which routes may match (`@request.auth.claims`). */
  | { action: 'continue'; claims?: Record<string, unknown> }
  | { action: 'reply'; status: number; body: string; headers: Record<string, string>; flags: string[] };

/** A proxy's inbound policy for one config version. */
export interface InboundPolicy {
  peerMode(port: number): PeerAuthMode;
  /** Runs the filters in order; the first local reply wins. */
  filter(request: FilterRequest): FilterVerdict | Promise<FilterVerdict>;
}

export const openPolicy: InboundPolicy = {
  peerMode: () => 'PERMISSIVE',
  filter: () => ({ action: 'continue' }),
};
