// Responses Envoy generates itself, with the bodies and flags clients see (Envoy local replies; facts file).

export interface LocalReply {
  status: number;
  body: string;
  flags: string[];
  headers?: Record<string, string>;
}

export const replies = {
  noRoute: (): LocalReply => ({ status: 404, body: '', flags: ['NR'] }),
  noCluster: (): LocalReply => ({ status: 503, body: '', flags: ['NC'] }),
  noHealthyUpstream: (): LocalReply => ({ status: 503, body: 'no healthy upstream', flags: ['UH'] }),
  overflow: (): LocalReply => ({
    status: 503,
    body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
    flags: ['UO'],
    headers: { 'x-envoy-overloaded': 'true' },
  }),
  timeout: (): LocalReply => ({ status: 504, body: 'upstream request timeout', flags: ['UT'] }),
  connectFailure: (transportFailure?: string): LocalReply => ({
    status: 503,
    body: `upstream connect error or disconnect/reset before headers. reset reason: connection failure${transportFailure ? `, transport failure reason: ${transportFailure}` : ''}`,
    flags: ['UF'],
  }),
  connectionTermination: (): LocalReply => ({
    status: 503,
    body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
    flags: ['UC'],
  }),
  faultAbort: (status: number): LocalReply => ({ status, body: 'fault filter abort', flags: ['FI'] }),
  rbacDenied: (): LocalReply => ({ status: 403, body: 'RBAC: access denied', flags: [] }),
  jwtInvalid: (): LocalReply => ({ status: 401, body: 'Jwt verification fails', flags: [] }),
};
