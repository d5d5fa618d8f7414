// Envoy's JWT authentication filter (envoy.filters.http.jwt_authn) run from its config, as istiod writes it from
// RequestAuthentications (pilot/pkg/security/authn/policy_applier.go convertToEnvoyJwtConfig): providers `origins-<i>`
// with inline JWKS, one rule `prefix: /` requiring, for one provider, `requires_any [provider, allow_missing]`, and for
// several, `requires_any [P1, P2, …, requires_all [any(P1, allow_missing), any(P2, allow_missing), …]]`.
//
// source/extensions/filters/http/jwt_authn/:
// - filter.cc decodeHeaders: a CORS preflight bypasses when bypass_cors_preflight; the first rule whose path matches
//   picks the requirement (none: allowed); onComplete answers a failure with 401 (403 for a disallowed audience), the
//   status text as body and `www-authenticate: Bearer realm="<scheme>://<host><path>"` (path cut at 256) plus
//   `, error="invalid_token"` unless the token was missing;
// - verifier.cc: requires_any completes with the first child that succeeds, else with the status of its last child
//   (allow_missing / allow_missing_or_failed always run last, over the providers the list names); requires_all stops
//   at the first failure;
// - extractor.cc: a provider's tokens come from its from_headers (the value after the first occurrence of the
//   prefix, from its first base64url character), from_params, or by default `Authorization: Bearer` and the
//   `access_token` parameter; a location accepts the issuers of the providers that name it (an empty issuer: any);
// - authenticator.cc: tokens are verified from the last one found to the first; unless missing or failed tokens are
//   allowed every one must verify; the verdict of an allow_missing authenticator is the first token's (a missing
//   token: success); a good token's payload goes to the metadata under payload_in_metadata, its header is removed
//   unless forward, forward_payload_header gets the base64url payload.
// jwt_verify_lib (status.cc texts, jwt.cc verifyTimeConstraint with clock_skew_seconds, default 60; verify.cc key
// selection by kid/alg) is shared with the built-in RequestAuthentication model (src/istio/security/request-authentication.ts).
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { JsonValue, JwtAuthentication, JwtProvider, JwtRequirement } from '../model/index.ts';
import { decodeJwt, JWT_MESSAGES, type DecodedJwt } from '../../istio/security/request-authentication.ts';

const DEFAULT_CLOCK_SKEW_S = 60;
const MAX_URI_PATH = 256;
const BASE64URL_OR_DOT = /[A-Za-z0-9_.-]/;

/** jwt_verify_lib's Status texts the filter answers with, beyond the token-parsing ones. */
export const JWT_AUTHN_MESSAGES = {
  ...JWT_MESSAGES,
  missing: 'Jwt is missing',
  noValidKeys: "Jwks doesn't have any valid public key",
} as const;

export interface JwtAuthnRequest {
  method: string;
  /** Path with query string. */
  path: string;
  host: string;
  /** Lower-case names; the filter removes the token's header and adds forward_payload_header in place. */
  headers: Record<string, string | string[] | undefined>;
  /** `:scheme` for the realm of a refusal. */
  scheme: string;
}

export type JwtAuthnOutcome =
  | { kind: 'reply'; status: 401 | 403; body: string; headers: Record<string, string> }
  /** `metadata`: the verified payloads by payload_in_metadata key (the stream's envoy.filters.http.jwt_authn metadata). */
  | { kind: 'continue'; metadata: Record<string, JsonValue> };

interface Key {
  kid?: string;
  alg?: string;
  kty: string;
  key: KeyObject;
}

interface Provider {
  name: string;
  config: JwtProvider;
  /** undefined: the inline JWKS has no usable key. */
  keys: Key[] | undefined;
}

interface Location {
  kind: 'header' | 'param';
  name: string;
  prefix: string;
  /** Issuers of the providers naming this location; undefined: any issuer (a provider without one names it). */
  issuers: Set<string> | undefined;
}

interface Token {
  value: string;
  location: Location;
}

/** `ok`, or the jwt_verify_lib status text of the failure. */
type Status = string;

/** The keys of a JWKS document (RSA and EC keys; others are skipped, as jwt_verify_lib skips unknown key types). */
function jwksKeys(text: string): Key[] | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const raw = doc !== null && typeof doc === 'object' ? (doc as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(raw)) return undefined;
  const keys: Key[] = [];
  for (const k of raw) {
    if (k === null || typeof k !== 'object') continue;
    const jwk = k as Record<string, unknown>;
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') continue;
    try {
      keys.push({
        ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}),
        ...(typeof jwk.alg === 'string' ? { alg: jwk.alg } : {}),
        kty: jwk.kty,
        key: createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
      });
    } catch {
      // jwt_verify_lib drops a key it cannot build.
    }
  }
  return keys.length > 0 ? keys : undefined;
}

/** One jwt_authn filter config, ready to run requests through. Throws, naming the field, on what it cannot run. */
export class JwtAuthnFilter {
  private readonly providers = new Map<string, Provider>();

  constructor(
    private readonly config: JwtAuthentication,
    where: string,
  ) {
    for (const [name, p] of Object.entries(config.providers ?? {})) {
      if (p.remote_jwks) {
        throw new Error(
          `${where}: providers.${name}.remote_jwks: fetching a JWKS from the data plane is not run here (istiod inlines it unless PILOT_JWT_ENABLE_REMOTE_JWKS)`,
        );
      }
      if (p.from_cookies?.length) throw new Error(`${where}: providers.${name}.from_cookies: tokens in cookies are not run here`);
      if (p.local_jwks?.filename !== undefined) throw new Error(`${where}: providers.${name}.local_jwks.filename: only an inline JWKS is run here`);
      this.providers.set(name, { name, config: p, keys: jwksKeys(p.local_jwks?.inline_string ?? '') });
    }
    if (config.requirement_map && Object.keys(config.requirement_map).length > 0) {
      throw new Error(`${where}: requirement_map: per-route requirements (PerRouteConfig) are not run here`);
    }
    for (const [i, rule] of (config.rules ?? []).entries()) this.check(rule.requires, `${where}: rules[${i}].requires`);
  }

  private check(requirement: JwtRequirement | undefined, where: string): void {
    if (!requirement) return;
    const name = requirement.provider_name ?? requirement.provider_and_audiences?.provider_name;
    // verifier.cc innerCreate: "Required provider ['<name>'] is not configured."
    if (name !== undefined && !this.providers.has(name)) throw new Error(`${where}: Required provider ['${name}'] is not configured.`);
    for (const [i, r] of (requirement.requires_any?.requirements ?? []).entries()) this.check(r, `${where}.requires_any.requirements[${i}]`);
    for (const [i, r] of (requirement.requires_all?.requirements ?? []).entries()) this.check(r, `${where}.requires_all.requirements[${i}]`);
  }

  run(request: JwtAuthnRequest, nowMs: number = Date.now()): JwtAuthnOutcome {
    const metadata: Record<string, JsonValue> = {};
    if (this.config.bypass_cors_preflight && isCorsPreflight(request)) return { kind: 'continue', metadata };
    const pathOnly = request.path.split('?')[0] ?? '';
    // matcher.cc: rules in order, the first whose route match takes the path (prefix, or the whole path without query).
    const rule = (this.config.rules ?? []).find((r) => (r.match.path !== undefined ? pathOnly === r.match.path : pathOnly.startsWith(r.match.prefix ?? '')));
    if (!rule?.requires) return { kind: 'continue', metadata };
    const status = this.verify(rule.requires, [], request, nowMs, metadata);
    if (status === 'ok') return { kind: 'continue', metadata };
    const path = request.path.length > MAX_URI_PATH ? request.path.slice(0, MAX_URI_PATH) : request.path;
    let challenge = `Bearer realm="${request.scheme}://${request.host}${path}"`;
    if (status !== JWT_AUTHN_MESSAGES.missing) challenge += ', error="invalid_token"';
    return { kind: 'reply', status: status === JWT_MESSAGES.audience ? 403 : 401, body: status, headers: { 'www-authenticate': challenge } };
  }

  /** verifier.cc: one requirement node; `parentProviders` are the providers an allow_missing(_or_failed) child covers. */
  private verify(requirement: JwtRequirement, parentProviders: string[], request: JwtAuthnRequest, nowMs: number, metadata: Record<string, JsonValue>): Status {
    const named = requirement.provider_name ?? requirement.provider_and_audiences?.provider_name;
    if (named !== undefined) {
      const provider = this.provider(named);
      const audiences = requirement.provider_and_audiences?.audiences;
      return this.authenticate(this.extract([provider], request), { provider, audiences }, request, nowMs, metadata);
    }
    if (requirement.requires_any) {
      const children = requirement.requires_any.requirements;
      const regular = children.filter((c) => c.allow_missing === undefined && c.allow_missing_or_failed === undefined);
      const used = regular.flatMap((c) => {
        const name = c.provider_name ?? c.provider_and_audiences?.provider_name;
        return name !== undefined ? [name] : [];
      });
      // AnyVerifierImpl: one by-pass child, allow_missing_or_failed winning over allow_missing, run after the others.
      const bypass = children.find((c) => c.allow_missing_or_failed !== undefined) ?? children.find((c) => c.allow_missing !== undefined);
      let last: Status = 'ok';
      for (const child of regular) {
        last = this.verify(child, [], request, nowMs, metadata);
        if (last === 'ok') return 'ok';
      }
      if (bypass) last = this.verify(bypass, used, request, nowMs, metadata);
      return last;
    }
    if (requirement.requires_all) {
      for (const child of requirement.requires_all.requirements) {
        const status = this.verify(child, [], request, nowMs, metadata);
        if (status !== 'ok') return status;
      }
      return 'ok';
    }
    if (requirement.allow_missing_or_failed !== undefined || requirement.allow_missing !== undefined) {
      const providers = parentProviders.map((n) => this.provider(n));
      const allowFailed = requirement.allow_missing_or_failed !== undefined;
      return this.authenticate(this.extract(providers, request), { allowMissing: !allowFailed, allowFailed }, request, nowMs, metadata);
    }
    return 'ok'; // REQUIRES_TYPE_NOT_SET: AllowAllVerifierImpl
  }

  private provider(name: string): Provider {
    const p = this.providers.get(name);
    if (!p) throw new Error(`Required provider ['${name}'] is not configured.`);
    return p;
  }

  /** extractor.cc ExtractorImpl::extract: header locations (ordered by name and prefix), then query parameters. */
  private extract(providers: Provider[], request: JwtAuthnRequest): Token[] {
    const headers = new Map<string, Location>();
    const params = new Map<string, Location>();
    const add = (map: Map<string, Location>, key: string, location: Omit<Location, 'issuers'>, issuer: string | undefined) => {
      let l = map.get(key);
      if (!l) map.set(key, (l = { ...location, issuers: new Set() }));
      if (!issuer) l.issuers = undefined;
      else l.issuers?.add(issuer);
    };
    for (const { config: p } of providers) {
      for (const h of p.from_headers ?? []) {
        const name = h.name.toLowerCase();
        add(headers, name + (h.value_prefix ?? ''), { kind: 'header', name, prefix: h.value_prefix ?? '' }, p.issuer);
      }
      for (const name of p.from_params ?? []) add(params, name, { kind: 'param', name, prefix: '' }, p.issuer);
      if (!p.from_headers?.length && !p.from_params?.length && !p.from_cookies?.length) {
        add(headers, 'authorizationBearer ', { kind: 'header', name: 'authorization', prefix: 'Bearer ' }, p.issuer);
        add(params, 'access_token', { kind: 'param', name: 'access_token', prefix: '' }, p.issuer);
      }
    }
    const tokens: Token[] = [];
    for (const [, location] of [...headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const raw = request.headers[location.name];
      for (const value of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
        if (location.prefix === '') {
          tokens.push({ value, location });
          continue;
        }
        const at = value.indexOf(location.prefix);
        if (at < 0) continue;
        const rest = value.slice(at + location.prefix.length);
        const start = rest.search(BASE64URL_OR_DOT);
        tokens.push({ value: start < 0 ? value : rest.slice(start), location });
      }
    }
    if (params.size > 0) {
      const query = new URLSearchParams(request.path.includes('?') ? request.path.slice(request.path.indexOf('?') + 1) : '');
      for (const [name, location] of [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const value = query.get(name);
        if (value !== null) tokens.push({ value, location });
      }
    }
    return tokens;
  }

  /** authenticator.cc AuthenticatorImpl: verify every token, from the last found to the first. */
  private authenticate(
    tokens: Token[],
    mode: { provider?: Provider; audiences?: string[]; allowMissing?: boolean; allowFailed?: boolean },
    request: JwtAuthnRequest,
    nowMs: number,
    metadata: Record<string, JsonValue>,
  ): Status {
    const lenient = mode.allowFailed === true || mode.allowMissing === true;
    const finish = (status: Status): Status => (mode.allowFailed || (mode.allowMissing && status === JWT_AUTHN_MESSAGES.missing) ? 'ok' : status);
    if (tokens.length === 0) return finish(JWT_AUTHN_MESSAGES.missing);
    let status: Status = 'ok';
    for (let i = tokens.length - 1; i >= 0; i--) {
      const token = tokens[i];
      if (!token) continue;
      status = this.verifyToken(token, mode, request, nowMs, metadata);
      if (status !== 'ok' && !lenient) return finish(status);
    }
    return finish(status);
  }

  private verifyToken(
    token: Token,
    mode: { provider?: Provider; audiences?: string[] },
    request: JwtAuthnRequest,
    nowMs: number,
    metadata: Record<string, JsonValue>,
  ): Status {
    const jwt = decodeJwt(token.value);
    if ('error' in jwt) return jwt.error;
    const iss = typeof jwt.payload.iss === 'string' ? jwt.payload.iss : '';
    if (token.location.issuers && !token.location.issuers.has(iss)) return JWT_MESSAGES.unknownIssuer;
    // jwks_cache.cc findByIssuer: the first provider with the token's issuer, else the first without an issuer.
    const provider =
      mode.provider ?? [...this.providers.values()].find((p) => p.config.issuer === iss) ?? [...this.providers.values()].find((p) => !p.config.issuer);
    if (!provider) return JWT_MESSAGES.unknownIssuer;
    const skew = provider.config.clock_skew_seconds || DEFAULT_CLOCK_SKEW_S;
    const now = Math.floor(nowMs / 1000);
    if (typeof jwt.payload.nbf === 'number' && now + skew < jwt.payload.nbf) return JWT_MESSAGES.notYetValid;
    if (typeof jwt.payload.exp === 'number' && now > jwt.payload.exp + skew) return JWT_MESSAGES.expired;
    const allowed = mode.audiences ?? provider.config.audiences ?? [];
    if (allowed.length > 0) {
      const aud = typeof jwt.payload.aud === 'string' ? [jwt.payload.aud] : Array.isArray(jwt.payload.aud) ? jwt.payload.aud : [];
      if (!aud.some((a) => typeof a === 'string' && allowed.includes(a))) return JWT_MESSAGES.audience;
    }
    if (!provider.keys) return JWT_AUTHN_MESSAGES.noValidKeys;
    const status = verifyWithKeys(jwt, provider.keys);
    if (status !== 'ok') return status;
    // handleGoodJwt
    const p = provider.config;
    if (p.forward_payload_header) request.headers[p.forward_payload_header.toLowerCase()] = jwt.encodedPayload;
    // Not done here: a query-parameter token is also cut from the path Envoy forwards (extractor.cc
    // JwtParamLocation::removeJwt); the local proxies hand the app the path as sent (docs/fidelity.md).
    if (!p.forward && token.location.kind === 'header') delete request.headers[token.location.name];
    if (p.payload_in_metadata)
      metadata[p.payload_in_metadata] = normalizePayload(
        jwt.payload as Record<string, JsonValue>,
        p.normalize_payload_in_metadata?.space_delimited_claims ?? [],
      );
    return 'ok';
  }
}

/** verify.cc verifyJwtWithoutTimeChecking: the keys whose kid, alg and type fit the token; one must verify it. */
function verifyWithKeys(jwt: DecodedJwt, keys: Key[]): Status {
  const alg = jwt.alg;
  const candidates = keys.filter(
    (k) =>
      k.kty === alg.kty &&
      (k.alg === undefined || k.alg === jwt.header.alg) &&
      (jwt.header.kid === undefined || k.kid === undefined || k.kid === jwt.header.kid),
  );
  if (candidates.length === 0) return JWT_MESSAGES.noKey;
  const ok = candidates.some((k) =>
    verifySignature(
      alg.hash,
      jwt.signingInput,
      alg.ec ? { key: k.key, dsaEncoding: 'ieee-p1363' } : alg.pss ? { key: k.key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 } : k.key,
      jwt.signature,
    ),
  );
  return ok ? 'ok' : JWT_MESSAGES.verification;
}

/** normalize_payload_in_metadata: the named claims, when strings, become lists of their space-separated parts. */
function normalizePayload(payload: Record<string, JsonValue>, spaceDelimited: readonly string[]): Record<string, JsonValue> {
  if (spaceDelimited.length === 0) return payload;
  const out = { ...payload };
  for (const claim of spaceDelimited) {
    const v = out[claim];
    if (typeof v === 'string') out[claim] = v.split(' ').filter((s) => s !== '');
  }
  return out;
}

function isCorsPreflight(request: JwtAuthnRequest): boolean {
  const has = (name: string) => {
    const v = request.headers[name];
    return v !== undefined && (Array.isArray(v) ? v.length > 0 : v !== '');
  };
  return request.method === 'OPTIONS' && has('origin') && has('access-control-request-method');
}
