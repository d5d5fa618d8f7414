// A RequestAuthentication with an AuthorizationPolicy on productpage, through the ingress gateway, under both control
// planes. Under istiod the sidecar runs istiod's own jwt_authn filter (src/envoy/runtime/jwt-authn.ts), whose payload
// goes to the stream's metadata normalised as istiod asks (policy_applier.go: `scope` and `permission` split on
// spaces), so a policy on one scope matches a token granting several.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { K8sObject } from '../../src/spec/types.ts';
import { applyAndWait, mesh, restoreBaseline } from './helpers.ts';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
const JWKS = JSON.stringify({ keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256' }] });
const ISSUER = 'testing@secure.istio.io';

function token(payload: Record<string, unknown>, key = keys.privateKey): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${enc(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

const objects: K8sObject[] = [
  {
    apiVersion: 'security.istio.io/v1',
    kind: 'RequestAuthentication',
    metadata: { name: 'productpage-jwt', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'productpage' } }, jwtRules: [{ issuer: ISSUER, jwks: JWKS }] },
  },
  {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'productpage-readers', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'productpage' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { requestPrincipals: ['*'] } }], when: [{ key: 'request.auth.claims[scope]', values: ['read'] }] }],
    },
  },
];

describe('JWT at productpage through the gateway', () => {
  for (const controlPlane of ['istiod', 'builtin'] as const) {
    it(`${controlPlane}: no token 403 (RBAC), a forged one 401, a token granting "read write" 200, one granting only "write" 403`, async () => {
      const m = await mesh({ controlPlane, seed: 5 });
      try {
        await applyAndWait(m, objects);
        const get = async (authorization?: string) => {
          const res = await fetch(`${m.gatewayUrl}/productpage`, { headers: authorization ? { authorization } : {} });
          return { status: res.status, body: await res.text(), challenge: res.headers.get('www-authenticate') };
        };
        expect((await get()).status, 'no token').toBe(403);
        const forged = await get(`Bearer ${token({ iss: ISSUER, sub: 'mallory', exp: inAnHour(), scope: 'read' }, forger.privateKey)}`);
        expect(forged.status).toBe(401);
        expect(forged.body).toBe('Jwt verification fails');
        expect(forged.challenge).toMatch(/^Bearer realm="http:\/\/.*\/productpage", error="invalid_token"$/);
        expect((await get(`Bearer ${token({ iss: ISSUER, sub: 'alice', exp: inAnHour(), scope: 'read write' })}`)).status).toBe(200);
        expect((await get(`Bearer ${token({ iss: ISSUER, sub: 'bob', exp: inAnHour(), scope: 'write' })}`)).status).toBe(403);
        await restoreBaseline(m, objects);
      } finally {
        await m.close();
      }
    }, 90_000);
  }
});
