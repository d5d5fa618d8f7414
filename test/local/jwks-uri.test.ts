// RequestAuthentication with an http(s) jwksUri on the local target: istiod fetches the JWKS itself when it builds the
// jwt_authn filter and inlines it (pilot/pkg/model/jwks_resolver.go BuildLocalJwks, PILOT_JWT_ENABLE_REMOTE_JWKS=false);
// here the host is a stand-in on loopback. A failed fetch gives istiod's public-only JWKS: every token is refused.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { applyAndWait, mesh, restoreBaseline, yaml, type MeshHandle } from './helpers.ts';
import { tempDir } from '../support/temp-dir.ts';

const served = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const JWKS = JSON.stringify({ keys: [{ ...served.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] });
const ISSUER = 'https://auth.example.com';

function token(key: KeyObject, payload: Record<string, unknown> = {}): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${enc({ iss: ISSUER, sub: 'alice', aud: 'demo', exp: Math.floor(Date.now() / 1000) + 3600, ...payload })}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

const scenarioYaml = `
apiVersion: v1
kind: Namespace
metadata: { name: demo, labels: { istio-injection: enabled } }
---
apiVersion: v1
kind: Service
metadata: { name: api, namespace: demo }
spec:
  selector: { app: api }
  ports: [ { name: http, port: 8080 } ]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api-v1, namespace: demo }
spec:
  replicas: 1
  selector: { matchLabels: { app: api, version: v1 } }
  template:
    metadata: { labels: { app: api, version: v1 } }
    spec:
      containers: [ { name: api, image: example.com/api:1, ports: [ { containerPort: 8080 } ] } ]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: demo }
spec:
  selector: { istio: ingressgateway }
  servers: [ { port: { number: 8080, name: http, protocol: HTTP }, hosts: ["*"] } ]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: entry, namespace: demo }
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [ { route: [ { destination: { host: api, port: { number: 8080 } } } ] } ]
---
apiVersion: meshproof.dev/v1alpha1
kind: ExternalHost
metadata: { name: auth.example.com }
spec:
  paths:
    /.well-known/jwks.json: { contentType: application/json, body: '${JWKS}' }
`;

const requestAuthentication = (jwksUri: string, name = 'jwt') =>
  yaml(`
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ${name}, namespace: demo }
spec:
  selector: { matchLabels: { app: api } }
  jwtRules:
    - issuer: ${ISSUER}
      jwksUri: ${jwksUri}
      audiences: [demo]
      timeout: 2s
`);

const work = tempDir('meshproof-jwks-uri-');
writeFileSync(join(work, 'scenario.yaml'), scenarioYaml);

describe.each(['builtin', 'istiod'] as const)('control plane %s', (controlPlane) => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ scenario: work, seed: 11, controlPlane });
  }, 60_000);
  afterAll(async () => m?.close());

  async function get(bearer?: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${m.gatewayUrl}/items`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
    return { status: res.status, body: await res.text() };
  }

  it('a token signed with the served key is accepted, one signed with another key is 401 (Jwt verification fails)', async () => {
    const ra = requestAuthentication('https://auth.example.com/.well-known/jwks.json');
    await applyAndWait(m, ra);
    try {
      expect((await get(token(served.privateKey))).status).toBe(200);
      expect(await get(token(other.privateKey))).toEqual({ status: 401, body: 'Jwt verification fails' });
      expect((await get()).status).toBe(200); // no token: allowed (requires_any with allow_missing)
    } finally {
      await restoreBaseline(m, ra);
    }
  });

  it("an unreachable jwksUri gives istiod's public-only JWKS: even the right key's token is refused", async () => {
    const ra = requestAuthentication('https://auth.example.com:8443/.well-known/jwks.json', 'jwt-unreachable');
    await applyAndWait(m, ra);
    try {
      expect(await get(token(served.privateKey))).toEqual({ status: 401, body: 'Jwt verification fails' });
      expect((await get()).status).toBe(200);
    } finally {
      await restoreBaseline(m, ra);
    }
  });

  it('a document that is not a JWKS leaves the issuer without keys: 401 (authenticator.cc JwksNoValidKeys)', async () => {
    // The stand-in answers any other path as an echo: istiod inlines that text, Envoy finds no key in it.
    const ra = requestAuthentication('https://auth.example.com/echo', 'jwt-not-jwks');
    await applyAndWait(m, ra);
    try {
      expect(await get(token(served.privateKey))).toEqual({ status: 401, body: "Jwks doesn't have any valid public key" });
    } finally {
      await restoreBaseline(m, ra);
    }
  });

  it('a jwksUri whose host has no stand-in is refused with its field (nothing leaves loopback)', async () => {
    const error = await m.apply(requestAuthentication('https://login.example.org/jwks.json', 'jwt-outside')).then(
      () => undefined,
      (e: unknown) => e as SpecError,
    );
    expect(error).toBeInstanceOf(SpecError);
    expect(error?.format()).toMatch(
      /^RequestAuthentication demo\/jwt-outside: spec\.jwtRules\[0\]\.jwksUri: istiod fetches this JWKS itself; login\.example\.org is outside the mesh and has no local stand-in/,
    );
  });
});
