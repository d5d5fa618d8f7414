// Envoy's jwt_authn filter run from its config (src/envoy/runtime/jwt-authn.ts): on the configs the real istiod writes
// for RequestAuthentications (tools/istio-translate, the pinned pilot-discovery), compared request by request with the
// built-in RequestAuthentication model, and on hand-written configs for what istiod's shapes leave out.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypedConfigType, type JwtAuthentication } from '../../../src/envoy/model/index.ts';
import { inboundHttpFilters } from '../../../src/envoy/runtime/listeners.ts';
import { JwtAuthnFilter, type JwtAuthnRequest } from '../../../src/envoy/runtime/jwt-authn.ts';
import { bookinfoProxies, bookinfoRegistry } from '../../../src/fidelity/bookinfo.ts';
import { IstiodTranslator } from '../../../src/fidelity/istiod-translator.ts';
import { authenticateRequest, JWT_MESSAGES } from '../../../src/istio/security/request-authentication.ts';
import type { K8sObject } from '../../../src/spec/types.ts';
import { must } from '../../../src/must.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (k: KeyObject, kid: string) => ({ ...k.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' });
const JWKS = JSON.stringify({ keys: [jwk(rsa.publicKey, 'a')] });
const OTHER_JWKS = JSON.stringify({ keys: [jwk(other.publicKey, 'b')] });
const ISSUER = 'testing@secure.istio.io';
const OTHER_ISSUER = 'other@secure.istio.io';
const NOW = Date.UTC(2026, 0, 1);

function token(payload: Record<string, unknown>, key: KeyObject = rsa.privateKey, kid = 'a'): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'RS256', kid, typ: 'JWT' })}.${enc(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}
const good = token({ iss: ISSUER, sub: 'alice', exp: NOW / 1000 + 3600, aud: 'bookinfo', scope: 'read write' });
const otherGood = token({ iss: OTHER_ISSUER, sub: 'bob', exp: NOW / 1000 + 3600 }, other.privateKey, 'b');
const forged = token({ iss: ISSUER, sub: 'mallory', exp: NOW / 1000 + 3600 }, other.privateKey, 'a');
const expired = token({ iss: ISSUER, sub: 'alice', exp: NOW / 1000 - 120 });
const withinSkew = token({ iss: ISSUER, sub: 'alice', exp: NOW / 1000 - 30 });
const stranger = token({ iss: 'nobody@example.com', sub: 'eve', exp: NOW / 1000 + 3600 });
const wrongAudience = token({ iss: ISSUER, sub: 'alice', exp: NOW / 1000 + 3600, aud: 'elsewhere' });

function requestAuthentication(name: string, jwtRules: Record<string, unknown>[]): K8sObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'RequestAuthentication',
    metadata: { name, namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'productpage' } }, jwtRules },
  };
}

const request = (headers: Record<string, string>, path = '/productpage'): JwtAuthnRequest => ({
  method: 'GET',
  path,
  host: 'productpage:9080',
  scheme: 'http',
  headers: { ...headers },
});

const cases: { name: string; headers: Record<string, string>; path?: string }[] = [
  { name: 'no token', headers: {} },
  { name: 'a good token', headers: { authorization: `Bearer ${good}` } },
  { name: 'a forged signature', headers: { authorization: `Bearer ${forged}` } },
  { name: 'an expired token', headers: { authorization: `Bearer ${expired}` } },
  { name: 'expired within the clock skew', headers: { authorization: `Bearer ${withinSkew}` } },
  { name: 'an unknown issuer', headers: { authorization: `Bearer ${stranger}` } },
  { name: 'a wrong audience', headers: { authorization: `Bearer ${wrongAudience}` } },
  { name: 'garbage', headers: { authorization: 'Bearer not-a-jwt' } },
  { name: 'a token in access_token', headers: {}, path: `/productpage?access_token=${good}` },
  { name: 'the other issuer', headers: { authorization: `Bearer ${otherGood}` } },
  { name: 'a custom header', headers: { 'x-jwt': good } },
];

/** Istio resource sets, each as istiod translates it for productpage's sidecar. */
const sets: { name: string; objects: K8sObject[] }[] = [
  { name: 'one rule, defaults', objects: [requestAuthentication('jwt', [{ issuer: ISSUER, jwks: JWKS }])] },
  { name: 'one rule with audiences', objects: [requestAuthentication('jwt', [{ issuer: ISSUER, jwks: JWKS, audiences: ['bookinfo'] }])] },
  {
    name: 'one rule, a custom header, forwarded, payload to a header',
    objects: [
      requestAuthentication('jwt', [
        { issuer: ISSUER, jwks: JWKS, fromHeaders: [{ name: 'x-jwt' }], forwardOriginalToken: true, outputPayloadToHeader: 'x-jwt-payload' },
      ]),
    ],
  },
  {
    name: 'two issuers in two policies',
    objects: [requestAuthentication('jwt-a', [{ issuer: ISSUER, jwks: JWKS }]), requestAuthentication('jwt-b', [{ issuer: OTHER_ISSUER, jwks: OTHER_JWKS }])],
  },
];

/**
 * Where Envoy's answer is not the built-in model's: with two issuers istiod sorts the rules by issuer
 * (policy_applier.go newPolicyApplier), so `other@…` is origins-0; a failing token of `testing@…` fails the
 * requires_all's first child, any(origins-0, allow_missing), whose location takes only `other@…` tokens, with
 * JwtUnknownIssuer (verifier.cc AllVerifierImpl stops at the first failure) — the built-in model reported the token's
 * own error. Same status (401), another body.
 */
function envoyBodyFor(set: string, request: string): string | undefined {
  if (set === 'two issuers in two policies' && ['a forged signature', 'an expired token'].includes(request)) return JWT_MESSAGES.unknownIssuer;
  return undefined;
}

let istiod: IstiodTranslator;
const configs = new Map<string, JwtAuthentication>();
beforeAll(async () => {
  istiod = IstiodTranslator.start();
  const registry = bookinfoRegistry();
  const productpage = must(
    bookinfoProxies(registry).find((p) => p.labels.app === 'productpage'),
    'the productpage sidecar',
  );
  for (const set of sets) {
    const answer = await istiod.translate({ registry, objects: set.objects, proxies: [productpage] });
    if (!answer.ok) throw new Error(`${set.name}: istiod refused the set: ${answer.error}`);
    const listeners = must(answer.proxies.get(`${productpage.podName}.${productpage.namespace}`), 'productpage').listeners;
    const filter = (inboundHttpFilters(listeners, 9080, false) ?? []).find((f) => f.typed_config?.['@type'] === TypedConfigType.jwtAuthn);
    if (filter?.typed_config?.['@type'] !== TypedConfigType.jwtAuthn) throw new Error(`${set.name}: istiod wrote no jwt_authn filter`);
    configs.set(set.name, filter.typed_config);
  }
}, 120_000);
afterAll(async () => {
  await istiod.close();
});

describe("jwt_authn on istiod's own configs (policy_applier.go convertToEnvoyJwtConfig) agrees with the built-in RequestAuthentication model", () => {
  for (const set of sets) {
    for (const c of cases) {
      it(`${set.name}: ${c.name}`, () => {
        const filter = new JwtAuthnFilter(must(configs.get(set.name), set.name), set.name);
        const envoyRequest = request(c.headers, c.path);
        const envoy = filter.run(envoyRequest, NOW);
        const builtinHeaders: Record<string, string | string[] | undefined> = { ...c.headers };
        const builtin = authenticateRequest(set.objects, builtinHeaders, {
          path: c.path ?? '/productpage',
          host: 'productpage:9080',
          scheme: 'http',
          nowMs: NOW,
        });
        if (builtin.error !== undefined) {
          expect(envoy).toMatchObject({ kind: 'reply', status: builtin.status, body: envoyBodyFor(set.name, c.name) ?? builtin.error });
        } else {
          expect(envoy.kind).toBe('continue');
          if (envoy.kind !== 'continue') return;
          // The request principal RBAC reads is the payload's iss/sub under jwt_authn's `payload` metadata.
          const payload = envoy.metadata.payload as Record<string, unknown> | undefined;
          expect(payload ? `${String(payload.iss)}/${String(payload.sub)}` : undefined).toBe(builtin.requestPrincipal);
          for (const name of builtin.removeHeaders) expect(envoyRequest.headers[name]).toBeUndefined();
          for (const [name, value] of Object.entries(builtin.addHeaders)) expect(envoyRequest.headers[name]).toBe(value);
        }
      });
    }
  }

  it("istiod's config names the payload `payload` and normalises `scope` and `permission` into lists (RBAC matches one scope)", () => {
    const filter = new JwtAuthnFilter(must(configs.get('one rule, defaults'), 'config'), 'config');
    const outcome = filter.run(request({ authorization: `Bearer ${good}` }), NOW);
    expect(outcome).toMatchObject({ kind: 'continue', metadata: { payload: { iss: ISSUER, sub: 'alice', scope: ['read', 'write'] } } });
  });
});

describe('jwt_authn semantics beyond the shapes above (source/extensions/filters/http/jwt_authn)', () => {
  const single: JwtAuthentication = {
    providers: { 'origins-0': { issuer: ISSUER, local_jwks: { inline_string: JWKS }, payload_in_metadata: 'payload' } },
    rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] } } }],
    bypass_cors_preflight: true,
  };

  it("a refusal's www-authenticate realm is the original URI with its query (http/utility.cc buildOriginalUri) and invalid_token", () => {
    const outcome = new JwtAuthnFilter(single, 'test').run(request({ authorization: `Bearer ${forged}` }, '/productpage?u=1'), NOW);
    expect(outcome).toEqual({
      kind: 'reply',
      status: 401,
      body: JWT_MESSAGES.verification,
      headers: { 'www-authenticate': 'Bearer realm="http://productpage:9080/productpage?u=1", error="invalid_token"' },
    });
  });

  it('the Bearer prefix may sit anywhere in the header value; the token starts at its first base64url character (extractor.cc)', () => {
    const outcome = new JwtAuthnFilter(single, 'test').run(request({ authorization: `Token, Bearer   ${good}` }), NOW);
    expect(outcome.kind).toBe('continue');
  });

  it("a good header token and a bad query token pass under requires_any [provider, allow_missing]: the allow_missing authenticator keeps the first token's verdict (authenticator.cc doneWithStatus)", () => {
    const outcome = new JwtAuthnFilter(single, 'test').run(request({ authorization: `Bearer ${good}` }, `/p?access_token=${forged}`), NOW);
    expect(outcome.kind).toBe('continue');
    const reversed = new JwtAuthnFilter(single, 'test').run(request({ authorization: `Bearer ${forged}` }, `/p?access_token=${good}`), NOW);
    expect(reversed).toMatchObject({ kind: 'reply', status: 401, body: JWT_MESSAGES.verification });
  });

  it('a required provider without allow_missing refuses a request with no token: 401 "Jwt is missing", realm without invalid_token', () => {
    const required: JwtAuthentication = { ...single, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'origins-0' } }] };
    expect(new JwtAuthnFilter(required, 'test').run(request({}), NOW)).toEqual({
      kind: 'reply',
      status: 401,
      body: 'Jwt is missing',
      headers: { 'www-authenticate': 'Bearer realm="http://productpage:9080/productpage"' },
    });
  });

  it('a CORS preflight bypasses the requirement (bypass_cors_preflight)', () => {
    const required: JwtAuthentication = { ...single, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'origins-0' } }] };
    const preflight = { ...request({ origin: 'https://a.example', 'access-control-request-method': 'POST' }), method: 'OPTIONS' };
    expect(new JwtAuthnFilter(required, 'test').run(preflight, NOW).kind).toBe('continue');
  });

  it('rules pick the first whose path matches; no rule: no verification', () => {
    const scoped: JwtAuthentication = { ...single, rules: [{ match: { path: '/api' }, requires: { provider_name: 'origins-0' } }] };
    const filter = new JwtAuthnFilter(scoped, 'test');
    expect(filter.run(request({}, '/api?x=1'), NOW).kind).toBe('reply');
    expect(filter.run(request({}, '/other'), NOW).kind).toBe('continue');
  });

  it('refuses what it cannot run, naming the field: remote_jwks, a JWKS file, cookies, per-route requirements, an unknown provider', () => {
    const provider = must(single.providers?.['origins-0'], 'provider');
    const refuse = (config: JwtAuthentication) => () => new JwtAuthnFilter(config, 'listener virtualInbound');
    expect(refuse({ ...single, providers: { 'origins-0': { ...provider, remote_jwks: { http_uri: { uri: 'https://keys.example/jwks' } } } } })).toThrow(
      /providers\.origins-0\.remote_jwks/,
    );
    expect(refuse({ ...single, providers: { 'origins-0': { ...provider, local_jwks: { filename: '/etc/jwks' } } } })).toThrow(/local_jwks\.filename/);
    expect(refuse({ ...single, providers: { 'origins-0': { ...provider, from_cookies: ['session'] } } })).toThrow(/from_cookies/);
    expect(refuse({ ...single, requirement_map: { r: { provider_name: 'origins-0' } } })).toThrow(/requirement_map/);
    expect(refuse({ ...single, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'origins-9' } }] })).toThrow(
      /Required provider \['origins-9'\] is not configured/,
    );
  });
});
