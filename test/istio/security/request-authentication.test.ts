import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../../src/errors.ts';
import type { K8sObject } from '../../../src/spec/types.ts';
import { JWT_MESSAGES, authenticateRequest, evaluateAuthorization, validateRequestAuthentication } from '../../../src/istio/security/index.ts';
import { tempDir } from '../../support/temp-dir.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (k: KeyObject, kid: string, alg: string) => ({ ...k.export({ format: 'jwk' }), kid, alg, use: 'sig' });
const JWKS = JSON.stringify({ keys: [jwk(rsa.publicKey, 'rsa-1', 'RS256'), jwk(ec.publicKey, 'ec-1', 'ES256')] });
const ISSUER = 'testing@secure.istio.io';
const NOW = Date.UTC(2025, 0, 1) / 1000;

function token(payload: Record<string, unknown>, opts: { alg?: 'RS256' | 'ES256'; kid?: string; key?: KeyObject } = {}): string {
  const alg = opts.alg ?? 'RS256';
  const header = { alg, kid: opts.kid ?? (alg === 'RS256' ? 'rsa-1' : 'ec-1'), typ: 'JWT' };
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  const key = opts.key ?? (alg === 'RS256' ? rsa.privateKey : ec.privateKey);
  const sig = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${sig.toString('base64url')}`;
}

const claims = { iss: ISSUER, sub: ISSUER, exp: NOW + 3600, groups: ['group1'] };

// istio.io tasks/security/authentication/authn-policy (jwt-example): issuer testing@secure.istio.io on productpage.
function ra(rule: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): K8sObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'RequestAuthentication',
    metadata: { name: 'jwt-example', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'productpage' } }, jwtRules: [{ issuer: ISSUER, jwks: JWKS, ...rule }], ...extra },
  };
}

const at = { nowMs: NOW * 1000, path: '/productpage', host: 'productpage:9080' };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('authenticateRequest (Envoy jwt_authn as Istio configures it)', () => {
  it('a valid RS256 token yields the request principal iss/sub and the token header is removed', () => {
    const r = authenticateRequest([ra()], bearer(token(claims)), at);
    expect(r).toMatchObject({ requestPrincipal: `${ISSUER}/${ISSUER}`, removeHeaders: ['authorization'], addHeaders: {} });
    expect(r.claims?.groups).toEqual(['group1']);
    expect(r.error).toBeUndefined();
  });

  it('verifies ES256 (JOSE r||s signatures)', () => {
    expect(authenticateRequest([ra()], bearer(token(claims, { alg: 'ES256' })), at).requestPrincipal).toBe(`${ISSUER}/${ISSUER}`);
  });

  it('no token: no principal and no error (missing tokens are allowed)', () => {
    expect(authenticateRequest([ra()], {}, at)).toEqual({ removeHeaders: [], addHeaders: {} });
  });

  it('a bad signature: 401 "Jwt verification fails" with www-authenticate (jwt_authn filter.cc, jwt_verify_lib status.cc)', () => {
    const forged = token(claims, { key: other.privateKey });
    expect(authenticateRequest([ra()], bearer(forged), at)).toEqual({
      error: 'Jwt verification fails',
      status: 401,
      responseHeaders: { 'www-authenticate': 'Bearer realm="http://productpage:9080/productpage", error="invalid_token"' },
      removeHeaders: [],
      addHeaders: {},
    });
  });

  it('expiry with Envoy’s 60 s clock skew', () => {
    expect(authenticateRequest([ra()], bearer(token({ ...claims, exp: NOW - 30 })), at).error).toBeUndefined();
    expect(authenticateRequest([ra()], bearer(token({ ...claims, exp: NOW - 61 })), at)).toMatchObject({ error: JWT_MESSAGES.expired, status: 401 });
    expect(authenticateRequest([ra()], bearer(token({ ...claims, nbf: NOW + 120 })), at).error).toBe('Jwt not yet valid');
  });

  it('audiences: 403 "Audiences in Jwt are not allowed" on a mismatch', () => {
    const withAud = ra({ audiences: ['bookinfo'] });
    expect(authenticateRequest([withAud], bearer(token({ ...claims, aud: ['other', 'bookinfo'] })), at).error).toBeUndefined();
    expect(authenticateRequest([withAud], bearer(token({ ...claims, aud: 'other' })), at)).toMatchObject({
      error: 'Audiences in Jwt are not allowed',
      status: 403,
    });
  });

  it('an unknown issuer, a malformed token, an unknown kid', () => {
    expect(authenticateRequest([ra()], bearer(token({ ...claims, iss: 'evil' })), at).error).toBe('Jwt issuer is not configured');
    expect(authenticateRequest([ra()], bearer('abc.def'), at).error).toBe('Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
    expect(authenticateRequest([ra()], bearer(token(claims, { kid: 'nope' })), at).error).toBe("Jwks doesn't have key to match kid or alg from Jwt");
  });

  it('fromHeaders with prefix, fromParams, forwardOriginalToken, outputPayloadToHeader', () => {
    const t = token(claims);
    const custom = ra({ fromHeaders: [{ name: 'X-Jwt', prefix: 'Token ' }], forwardOriginalToken: true, outputPayloadToHeader: 'X-Payload' });
    const r = authenticateRequest([custom], { 'x-jwt': `Token ${t}` }, at);
    expect(r).toMatchObject({ requestPrincipal: `${ISSUER}/${ISSUER}`, removeHeaders: [], addHeaders: { 'x-payload': t.split('.')[1] } });
    // The default Authorization header is not a location any more.
    expect(authenticateRequest([custom], bearer(t), at).requestPrincipal).toBeUndefined();
    const params = ra({ fromParams: ['my_token'] });
    expect(authenticateRequest([params], {}, { ...at, path: `/productpage?my_token=${t}` }).requestPrincipal).toBe(`${ISSUER}/${ISSUER}`);
    // Default locations include the access_token query parameter.
    expect(authenticateRequest([ra()], {}, { ...at, path: `/productpage?access_token=${t}` }).requestPrincipal).toBe(`${ISSUER}/${ISSUER}`);
  });

  it('reads jwksUri from a local file: URL', () => {
    const dir = tempDir('meshproof-jwks-');
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JWKS);
    const fromFile = ra({ jwks: undefined, jwksUri: pathToFileURL(file).href });
    expect(authenticateRequest([fromFile], bearer(token(claims)), at).requestPrincipal).toBe(`${ISSUER}/${ISSUER}`);
  });

  it('applies only to the selected workload when one is given', () => {
    const forged = bearer(token(claims, { key: other.privateKey }));
    expect(authenticateRequest([ra()], forged, { ...at, workload: { namespace: 'default', labels: { app: 'reviews' } } })).toEqual({
      removeHeaders: [],
      addHeaders: {},
    });
    expect(authenticateRequest([ra()], forged, { ...at, workload: { namespace: 'default', labels: { app: 'productpage' } } }).status).toBe(401);
  });

  it('with an AuthorizationPolicy requiring requestPrincipals, a missing token is denied (authn-policy task)', () => {
    const requireJwt: K8sObject = {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'frontend-ingress', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'productpage' } }, action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }] }] },
    };
    const base = { namespace: 'default', workloadLabels: { app: 'productpage' }, method: 'GET', path: '/productpage', host: 'x', port: 9080, headers: {} };
    const missing = authenticateRequest([ra()], {}, at);
    expect(evaluateAuthorization([requireJwt], { ...base, requestPrincipal: missing.requestPrincipal }).allowed).toBe(false);
    const good = authenticateRequest([ra()], bearer(token(claims)), at);
    expect(evaluateAuthorization([requireJwt], { ...base, requestPrincipal: good.requestPrincipal, requestClaims: good.claims }).allowed).toBe(true);
  });
});

describe('validateRequestAuthentication', () => {
  const fails = (obj: K8sObject, path: string, message: RegExp) => {
    let error: unknown;
    try {
      validateRequestAuthentication(obj);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).path).toBe(`RequestAuthentication jwt-example: ${path}`);
    expect((error as SpecError).message).toMatch(message);
  };
  it('refuses a jwksUri istiod cannot fetch, unknown fields and bad keys', () => {
    fails(ra({ jwks: undefined, jwksUri: 'ftp://auth.example.com/jwks.json' }), 'spec.jwtRules[0].jwksUri', /istiod fetches http or https URIs, found ftp:/);
    fails(ra({ jwks: undefined, jwksUri: 'https://auth.example.com/jwks.json', timeout: '5' }), 'spec.jwtRules[0].timeout', /not a protobuf Duration/);
    fails(ra({ jwks: undefined }), 'spec.jwtRules[0]', /jwks or jwksUri is required/);
    fails(ra({ outputClaimToHeaders: [{ header: 'x', claim: 'sub' }] }), 'spec.jwtRules[0].outputClaimToHeaders', /unsupported field/);
    fails(ra({ jwks: '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}' }), 'spec.jwtRules[0].jwks keys[0].kty', /not emulated/);
    fails(ra({ jwks: 'not json' }), 'spec.jwtRules[0].jwks', /invalid JSON/);
    fails(ra({}, { targetRefs: [] }), 'spec.targetRefs', /unsupported field/);
    fails(ra({ jwks: undefined, jwksUri: 'file:///nonexistent/meshproof/jwks.json' }), 'spec.jwtRules[0].jwksUri', /cannot read/);
  });
});

describe('an http(s) jwksUri: the JWKS istiod fetched, looked up per request (jwks_resolver.go BuildLocalJwks)', () => {
  const URI = 'https://auth.example.com/jwks.json';
  const remote = ra({ jwks: undefined, jwksUri: URI });
  const fetched = (text: string | undefined) => ({ ...at, remoteJwks: (issuer: string, uri: string) => (issuer === ISSUER && uri === URI ? text : undefined) });

  it('verifies with the fetched keys', () => {
    expect(authenticateRequest([remote], bearer(token(claims)), fetched(JWKS)).requestPrincipal).toBe(`${ISSUER}/${ISSUER}`);
    expect(authenticateRequest([remote], bearer(token(claims, { key: other.privateKey })), fetched(JWKS)).error).toBe(JWT_MESSAGES.verification);
  });

  it("a failed fetch: istiod's public-only JWKS refuses every token", () => {
    expect(authenticateRequest([remote], bearer(token(claims)), fetched(undefined))).toMatchObject({ status: 401, error: JWT_MESSAGES.verification });
    expect(authenticateRequest([remote], bearer(token(claims)), at).error).toBe(JWT_MESSAGES.verification);
  });

  it('a fetched document without a usable key: Envoy keeps no keys for the issuer (authenticator.cc: JwksNoValidKeys)', () => {
    expect(authenticateRequest([remote], bearer(token(claims)), fetched('<html>not found</html>')).error).toBe("Jwks doesn't have any valid public key");
    expect(authenticateRequest([remote], bearer(token(claims)), fetched('{"keys": [{"kty": "RSA", "n": "!"}]}')).error).toBe(
      "Jwks doesn't have any valid public key",
    );
  });
});
