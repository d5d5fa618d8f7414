// Istio security resources: AuthorizationPolicy (RBAC), PeerAuthentication (mTLS), RequestAuthentication (JWT).
export * from './authorization.ts';
export * from './peer-authentication.ts';
export * from './request-authentication.ts';
export * from './stats.ts';
