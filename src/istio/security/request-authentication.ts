// RequestAuthentication: JWT verification as Istio configures Envoy's jwt_authn filter.
//
// Keys: inline `jwks`, a `file:` jwksUri read when the resource is, or an http(s) jwksUri that istiod fetches itself
// when it builds the filter (PILOT_JWT_ENABLE_REMOTE_JWKS=false, the default: pilot/pkg/security/authn
// policy_applier.go → model/jwks_resolver.go BuildLocalJwks) and inlines as local_jwks. The fetched document is looked
// up per request through `remoteJwks` (the caller's cache of istiod's fetches, src/istio/security/jwks-resolver.ts); a
// failed fetch gives istiod's public-only JWKS, whose private key exists nowhere, so every token fails verification.
//
// istio/api security/v1beta1/request_authentication.proto (jwtRules: issuer, audiences, jwks, jwksUri, fromHeaders,
// fromParams, forwardOriginalToken, outputPayloadToHeader). Istio requires any provider but allows a missing token
// (requires_any [..., allow_missing]): no token → no request principal, and only an AuthorizationPolicy with
// requestPrincipals can then deny. An invalid token is refused.
// Envoy jwt_authn (source/extensions/filters/http/jwt_authn/filter.cc onComplete): 401 with the jwt_verify_lib status
// text as body (google/jwt_verify_lib src/status.cc), 403 for "Audiences in Jwt are not allowed", and
// `www-authenticate: Bearer realm="<scheme>://<host><path>", error="invalid_token"`. Default token locations when none
// are configured: `Authorization: Bearer <token>` then the `access_token` query parameter; clock skew 60 s
// (JwtProvider.clock_skew_seconds default). Request principal: `<iss>/<sub>`.
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { K8sObject, SourcePos } from '../../spec/types.ts';
import { FieldReader, protoDurationMs, type Json } from '../fields.ts';
import { ROOT_NAMESPACE, objectNamespace, readSelector, resourceName, scopeApplies, type WorkloadRef } from '../selector.ts';
import { must } from '../../must.ts';
import { field, record } from '../../spec/untyped.ts';
import { publicOnlyJwks } from './jwks-resolver.ts';

export const JWT_MESSAGES = {
  badFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  headerBase64: 'Jwt header is an invalid Base64url encoded',
  headerJson: 'Jwt header is an invalid JSON',
  payloadBase64: 'Jwt payload is an invalid Base64url encoded',
  payloadJson: 'Jwt payload is an invalid JSON',
  badAlg: 'Jwt header [alg] field is required and must be a string',
  unsupportedAlg: 'Jwt header [alg] is not supported',
  unknownIssuer: 'Jwt issuer is not configured',
  expired: 'Jwt is expired',
  notYetValid: 'Jwt not yet valid',
  audience: 'Audiences in Jwt are not allowed',
  noKey: "Jwks doesn't have key to match kid or alg from Jwt",
  verification: 'Jwt verification fails',
  multiple: 'Found multiple Jwt tokens',
  noValidKeys: "Jwks doesn't have any valid public key",
} as const;

const CLOCK_SKEW_S = 60;
export interface Alg {
  hash: string;
  kty: 'RSA' | 'EC';
  pss?: boolean;
  ec?: boolean;
}
const ALGS: Record<string, Alg> = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: true },
  PS384: { hash: 'sha384', kty: 'RSA', pss: true },
  PS512: { hash: 'sha512', kty: 'RSA', pss: true },
  ES256: { hash: 'sha256', kty: 'EC', ec: true },
  ES384: { hash: 'sha384', kty: 'EC', ec: true },
};

interface Location {
  kind: 'header' | 'param';
  name: string;
  prefix: string;
}
interface Key {
  kid?: string;
  alg?: string;
  kty: string;
  key: KeyObject;
}
interface JwtRule {
  issuer: string;
  audiences: string[];
  /** Inline or file: keys; empty for a remote jwksUri (`remote`). */
  keys: Key[];
  /** An http(s) jwksUri istiod fetches, with JWTRule.timeout (default 5 s, policy_applier.go). */
  remote?: { uri: string; timeoutMs: number; path: string };
  locations: Location[];
  forwardOriginalToken: boolean;
  outputPayloadToHeader?: string;
}
interface ParsedRequestAuthentication {
  name: string;
  namespace: string;
  selector?: Record<string, string>;
  rules: JwtRule[];
}

export interface AuthenticationResult {
  /** `<iss>/<sub>` of the verified token; absent when no token was sent. */
  requestPrincipal?: string;
  /** Verified payload, for AuthorizationPolicy request.auth.claims[...] / audiences / presenter. */
  claims?: Record<string, unknown>;
  /** Body of the local reply when the token is refused (Envoy's text), e.g. `Jwt verification fails`. */
  error?: string;
  /** 401, or 403 for an audience mismatch; set with `error`. */
  status?: 401 | 403;
  /** Response headers of the refusal (lower-case): www-authenticate. */
  responseHeaders?: Record<string, string>;
  /** Request headers to remove before forwarding (the token's header unless forwardOriginalToken). */
  removeHeaders: string[];
  /** Request headers to add before forwarding (outputPayloadToHeader: base64url payload). */
  addHeaders: Record<string, string>;
}

const parsed = new WeakMap<K8sObject, ParsedRequestAuthentication>();

export function validateRequestAuthentication(obj: K8sObject, source?: SourcePos): void {
  parse(obj, source);
}

function parse(obj: K8sObject, source?: SourcePos): ParsedRequestAuthentication {
  const cached = parsed.get(obj);
  if (cached) return cached;
  const r = new FieldReader(resourceName(obj), source);
  if (obj.kind !== 'RequestAuthentication') throw r.error('kind', `expected a RequestAuthentication, got ${obj.kind}`);
  if (!/^security\.istio\.io\//.test(obj.apiVersion)) throw r.error('apiVersion', `expected security.istio.io/*, got ${obj.apiVersion}`);
  const spec = r.object(obj.spec ?? {}, 'spec');
  r.onlyKeys(spec, 'spec', ['selector', 'jwtRules']);
  const rules = r.array(spec.jwtRules ?? [], 'spec.jwtRules').map((raw, i) => parseRule(r, raw, `spec.jwtRules[${i}]`));
  const issuers = new Set<string>();
  rules.forEach((rule, i) => {
    if (issuers.has(rule.issuer)) throw r.error(`spec.jwtRules[${i}].issuer`, `issuer ${rule.issuer} appears twice`);
    issuers.add(rule.issuer);
  });
  const result = { name: obj.metadata.name, namespace: objectNamespace(obj), selector: readSelector(obj, 'selector', source), rules };
  parsed.set(obj, result);
  return result;
}

function parseRule(r: FieldReader, raw: unknown, path: string): JwtRule {
  const o = r.object(raw, path);
  r.onlyKeys(o, path, ['issuer', 'audiences', 'jwks', 'jwksUri', 'fromHeaders', 'fromParams', 'forwardOriginalToken', 'outputPayloadToHeader', 'timeout']);
  const issuer = r.string(o.issuer, `${path}.issuer`);
  if (issuer === '') throw r.error(`${path}.issuer`, 'must not be empty');
  const audiences = r.optionalStringList(o.audiences, `${path}.audiences`) ?? [];
  let jwksText: string | undefined;
  let remote: JwtRule['remote'];
  const timeoutMs = o.timeout === undefined ? 5000 : protoDurationMs(o.timeout, r, `${path}.timeout`);
  if (o.jwks !== undefined && o.jwksUri !== undefined) throw r.error(path, 'set jwks or jwksUri, not both');
  if (o.jwks !== undefined) {
    jwksText = r.string(o.jwks, `${path}.jwks`);
  } else if (o.jwksUri !== undefined) {
    const uri = r.string(o.jwksUri, `${path}.jwksUri`);
    if (uri.startsWith('file:')) {
      try {
        jwksText = readFileSync(fileURLToPath(uri), 'utf8');
      } catch (e) {
        throw r.error(`${path}.jwksUri`, `cannot read ${uri}: ${(e as Error).message}`);
      }
    } else {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw r.error(`${path}.jwksUri`, `not a URL: ${JSON.stringify(uri)}`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw r.error(`${path}.jwksUri`, `istiod fetches http or https URIs, found ${url.protocol}`);
      remote = { uri, timeoutMs, path: `${path}.jwksUri` };
    }
  } else {
    throw r.error(path, 'jwks or jwksUri is required (OpenID discovery from the issuer needs the network, which meshproof does not use)');
  }
  const keys = jwksText === undefined ? [] : parseJwks(r, jwksText, o.jwks !== undefined ? `${path}.jwks` : `${path}.jwksUri`);
  const locations: Location[] = [];
  if (o.fromHeaders !== undefined) {
    r.array(o.fromHeaders, `${path}.fromHeaders`).forEach((h, i) => {
      const p = `${path}.fromHeaders[${i}]`;
      const ho = r.object(h, p);
      r.onlyKeys(ho, p, ['name', 'prefix']);
      locations.push({
        kind: 'header',
        name: r.string(ho.name, `${p}.name`).toLowerCase(),
        prefix: ho.prefix === undefined ? '' : r.string(ho.prefix, `${p}.prefix`),
      });
    });
  }
  if (o.fromParams !== undefined) {
    r.stringList(o.fromParams, `${path}.fromParams`).forEach((name) => locations.push({ kind: 'param', name, prefix: '' }));
  }
  if (locations.length === 0) {
    locations.push({ kind: 'header', name: 'authorization', prefix: 'Bearer ' }, { kind: 'param', name: 'access_token', prefix: '' });
  }
  const forwardOriginalToken = o.forwardOriginalToken === undefined ? false : r.bool(o.forwardOriginalToken, `${path}.forwardOriginalToken`);
  const outputPayloadToHeader =
    o.outputPayloadToHeader === undefined ? undefined : r.string(o.outputPayloadToHeader, `${path}.outputPayloadToHeader`).toLowerCase();
  return { issuer, audiences, keys, ...(remote ? { remote } : {}), locations, forwardOriginalToken, outputPayloadToHeader };
}

/** The http(s) jwksUris of a RequestAuthentication istiod fetches, with the field that names each. */
export function remoteJwksRules(obj: K8sObject): { issuer: string; uri: string; timeoutMs: number; path: string }[] {
  return parse(obj).rules.flatMap((rule) => (rule.remote ? [{ issuer: rule.issuer, ...rule.remote }] : []));
}

const fetchedKeys = new Map<string, Key[]>();

/** Whether a fetched JWKS gives Envoy at least one key. */
export function hasUsableKey(text: string): boolean {
  return keysOfFetched(text).length > 0;
}

/**
 * The keys of a fetched JWKS as Envoy builds them from local_jwks (jwt_verify_lib Jwks::createFromJwksCore: a key that
 * does not parse is skipped); none when the document is not a JWKS (jwks_cache.cc then keeps no keys for the issuer).
 */
function keysOfFetched(text: string): Key[] {
  let keys = fetchedKeys.get(text);
  if (!keys) {
    keys = [];
    try {
      const doc: unknown = JSON.parse(text);
      const raw = field(doc, 'keys');
      for (const k of Array.isArray(raw) ? raw : []) {
        const jwk = record(k);
        if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') continue;
        try {
          keys.push({
            kid: jwk.kid as string | undefined,
            alg: jwk.alg as string | undefined,
            kty: jwk.kty,
            key: createPublicKey({ key: jwk, format: 'jwk' }),
          });
        } catch {
          // skipped, as jwt_verify_lib skips a key it cannot extract
        }
      }
    } catch {
      // not JSON: no keys
    }
    fetchedKeys.set(text, keys);
  }
  return keys;
}

function parseJwks(r: FieldReader, text: string, path: string): Key[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw r.error(path, 'Jwks is an invalid JSON');
  }
  const keysRaw = field(doc, 'keys');
  if (!Array.isArray(keysRaw)) throw r.error(path, 'Jwks does not have [keys] field');
  const keys: Key[] = [];
  keysRaw.forEach((k, i) => {
    const jwk = record(k);
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') throw r.error(`${path} keys[${i}].kty`, `key type ${JSON.stringify(jwk.kty)} is not emulated (RSA or EC)`);
    try {
      keys.push({ kid: jwk.kid as string | undefined, alg: jwk.alg as string | undefined, kty: jwk.kty, key: createPublicKey({ key: jwk, format: 'jwk' }) });
    } catch (e) {
      throw r.error(`${path} keys[${i}]`, `not a valid ${jwk.kty} public key: ${(e as Error).message}`);
    }
  });
  if (keys.length === 0) throw r.error(path, "Jwks doesn't have any valid public key");
  return keys;
}

export interface AuthenticateOptions {
  /** When given, only RequestAuthentications scoped to this workload apply; otherwise all given ones do. */
  workload?: WorkloadRef;
  /** Request path with query, for fromParams / access_token and the www-authenticate realm. */
  path?: string;
  /** For the realm: scheme and host of the original request. */
  scheme?: string;
  host?: string;
  /** Clock for exp/nbf, ms since the epoch (default Date.now()). */
  nowMs?: number;
  rootNamespace?: string;
  /** The JWKS istiod fetched for (issuer, jwksUri); undefined when its fetch failed or never happened. */
  remoteJwks?: (issuer: string, uri: string) => string | undefined;
}

/**
 * Verifies the request's JWT against the applicable RequestAuthentications. Headers have lower-case names.
 * No token → `{ removeHeaders: [], addHeaders: {} }` (allowed, no principal).
 */
export function authenticateRequest(
  policies: K8sObject[],
  headers: Record<string, string | string[] | undefined>,
  options: AuthenticateOptions = {},
): AuthenticationResult {
  const rootNamespace = options.rootNamespace ?? ROOT_NAMESPACE;
  const rules = policies
    .filter((p) => p.kind === 'RequestAuthentication')
    .map((p) => parse(p))
    .filter((p) => !options.workload || scopeApplies(p, options.workload, rootNamespace))
    .flatMap((p) => p.rules);
  const none: AuthenticationResult = { removeHeaders: [], addHeaders: {} };
  if (rules.length === 0) return none;

  const query = new URLSearchParams((options.path ?? '').split('?')[1]?.split('#')[0] ?? '');
  const found = new Map<string, { token: string; location: Location }>();
  for (const rule of rules) {
    for (const loc of rule.locations) {
      const token = extract(loc, headers, query);
      if (token !== undefined) found.set(`${loc.kind}:${loc.name}:${token}`, { token, location: loc });
    }
  }
  if (found.size === 0) return none;
  const realm =
    `${options.scheme ?? 'http'}://${options.host ?? firstValue(headers[':authority']) ?? firstValue(headers.host) ?? ''}${(options.path ?? '').split('?')[0]}`.slice(
      0,
      256,
    );
  const refuse = (error: string): AuthenticationResult => ({
    error,
    status: error === JWT_MESSAGES.audience ? 403 : 401,
    responseHeaders: { 'www-authenticate': `Bearer realm="${realm}", error="invalid_token"` },
    removeHeaders: [],
    addHeaders: {},
  });
  const tokens = [...new Set([...found.values()].map((f) => f.token))];
  if (tokens.length > 1) return refuse(JWT_MESSAGES.multiple);
  const token = must(tokens[0], 'the token found');
  const locations = [...found.values()].map((f) => f.location);

  const decoded = decodeJwt(token);
  if ('error' in decoded) return refuse(decoded.error);
  const { header, payload, alg, encodedPayload, signingInput, signature } = decoded;
  const iss = typeof payload.iss === 'string' ? payload.iss : undefined;
  const rule = rules.find((r) => r.issuer === iss && r.locations.some((l) => locations.some((x) => x.kind === l.kind && x.name === l.name)));
  if (!rule) return refuse(JWT_MESSAGES.unknownIssuer);

  const now = (options.nowMs ?? Date.now()) / 1000;
  if (typeof payload.nbf === 'number' && payload.nbf > now + CLOCK_SKEW_S) return refuse(JWT_MESSAGES.notYetValid);
  if (typeof payload.exp === 'number' && payload.exp < now - CLOCK_SKEW_S) return refuse(JWT_MESSAGES.expired);
  if (rule.audiences.length > 0) {
    const aud = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    if (!aud.some((a) => rule.audiences.includes(a as string))) return refuse(JWT_MESSAGES.audience);
  }
  const keys = rule.remote ? keysOfFetched(options.remoteJwks?.(rule.issuer, rule.remote.uri) ?? publicOnlyJwks()) : rule.keys;
  // authenticator.cc startVerify: no usable keys for the issuer (an inline JWKS that did not parse).
  if (keys.length === 0) return refuse(JWT_MESSAGES.noValidKeys);
  const candidates = keys.filter(
    (k) => k.kty === alg.kty && (k.alg === undefined || k.alg === header.alg) && (header.kid === undefined || k.kid === undefined || k.kid === header.kid),
  );
  if (candidates.length === 0) return refuse(JWT_MESSAGES.noKey);
  const ok = candidates.some((k) =>
    verifySignature(
      alg.hash,
      signingInput,
      alg.ec ? { key: k.key, dsaEncoding: 'ieee-p1363' } : alg.pss ? { key: k.key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 } : k.key,
      signature,
    ),
  );
  if (!ok) return refuse(JWT_MESSAGES.verification);

  const sub = typeof payload.sub === 'string' ? payload.sub : '';
  const result: AuthenticationResult = { requestPrincipal: `${iss}/${sub}`, claims: spaceDelimited(payload), removeHeaders: [], addHeaders: {} };
  if (!rule.forwardOriginalToken) {
    for (const l of locations)
      if (l.kind === 'header' && rule.locations.some((x) => x.kind === 'header' && x.name === l.name)) result.removeHeaders.push(l.name);
  }
  if (rule.outputPayloadToHeader) result.addHeaders[rule.outputPayloadToHeader] = encodedPayload;
  return result;
}

/**
 * The payload as jwt_authn puts it in the metadata AuthorizationPolicies and routes match: istiod asks for `scope` and
 * `permission` to be split on spaces into lists (policy_applier.go buildSpaceDelimitedClaims; Envoy's
 * authenticator.cc setPayloadMetadata), so a policy on one scope matches a token granting several.
 */
function spaceDelimited(payload: Json): Json {
  const out: Json = { ...payload };
  for (const claim of ['permission', 'scope']) {
    const v = out[claim];
    if (typeof v === 'string') out[claim] = v.split(' ').filter((s) => s !== '');
  }
  return out;
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function extract(loc: Location, headers: Record<string, string | string[] | undefined>, query: URLSearchParams): string | undefined {
  if (loc.kind === 'param') return query.get(loc.name) ?? undefined;
  const value = firstValue(headers[loc.name]);
  if (value === undefined) return undefined;
  if (loc.prefix === '') return value.trim();
  // Envoy matches the prefix case-sensitively at the start of the value.
  return value.startsWith(loc.prefix) ? value.slice(loc.prefix.length).trim() : undefined;
}

/** A JWT split and parsed as jwt_verify_lib's Jwt::parseFromString does, before any key or time check. */
export interface DecodedJwt {
  header: Json;
  payload: Json;
  alg: Alg;
  encodedPayload: string;
  signingInput: Buffer;
  signature: Buffer;
}
type Decoded = DecodedJwt | { error: string };

export function decodeJwt(token: string): Decoded {
  const [encodedHeader, encodedPayload, encodedSignature, ...extra] = token.split('.');
  if (encodedHeader === undefined || encodedPayload === undefined || encodedSignature === undefined || extra.length > 0)
    return { error: JWT_MESSAGES.badFormat };
  const b64 = /^[A-Za-z0-9_-]*$/;
  if (!b64.test(encodedHeader)) return { error: JWT_MESSAGES.headerBase64 };
  const header = parseJson(encodedHeader);
  if (!header) return { error: JWT_MESSAGES.headerJson };
  if (typeof header.alg !== 'string') return { error: JWT_MESSAGES.badAlg };
  const alg = ALGS[header.alg];
  if (!alg) return { error: JWT_MESSAGES.unsupportedAlg }; // jwt_verify_lib refuses it while parsing
  if (!b64.test(encodedPayload)) return { error: JWT_MESSAGES.payloadBase64 };
  const payload = parseJson(encodedPayload);
  if (!payload) return { error: JWT_MESSAGES.payloadJson };
  if (!b64.test(encodedSignature)) return { error: 'Jwt signature is an invalid Base64url encoded' };
  return {
    header,
    payload,
    alg,
    encodedPayload,
    signingInput: Buffer.from(`${encodedHeader}.${encodedPayload}`),
    signature: Buffer.from(encodedSignature, 'base64url'),
  };
}

function parseJson(part: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}
