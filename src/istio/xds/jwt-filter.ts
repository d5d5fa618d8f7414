// The jwt_authn HTTP filter istiod writes for a workload's RequestAuthentications (pilot/pkg/security/authn/
// policy_applier.go newPolicyApplier, JwtFilter, convertToEnvoyJwtConfig; model/authentication.go
// getConfigsForWorkload; model/policyattachment.go ShouldAttachPolicy), as Envoy JSON.
import type { K8sObject } from '../../spec/types.ts';
import { field, isRecord, stringField, type Json } from '../../spec/untyped.ts';
import { ROOT_NAMESPACE, objectNamespace, scopeApplies } from '../selector.ts';
import type { ProxyDescriptor, TranslationInput } from './input.ts';

const JWT_AUTHN = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';

/** The RequestAuthentications of the proxy: its namespace's, then the root namespace's, each in creation order; a
 * selector must match, and one with targetRef(s) is ignored by a sidecar. */
function requestAuthenticationsFor(input: TranslationInput, proxy: ProxyDescriptor): K8sObject[] {
  const applies = (o: K8sObject) => {
    if (o.kind !== 'RequestAuthentication' || field(o.spec, 'targetRef') !== undefined || field(o.spec, 'targetRefs') !== undefined) return false;
    const labels = field(o.spec, 'selector', 'matchLabels');
    const selector = isRecord(labels) && Object.keys(labels).length > 0 ? (labels as Record<string, string>) : undefined;
    return scopeApplies({ namespace: objectNamespace(o), selector }, { namespace: proxy.namespace, labels: proxy.labels });
  };
  const all = input.requestAuthentications.filter(applies);
  const own = all.filter((o) => objectNamespace(o) === proxy.namespace);
  return proxy.namespace === ROOT_NAMESPACE ? own : [...own, ...all.filter((o) => objectNamespace(o) === ROOT_NAMESPACE)];
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined);

/** buildSpaceDelimitedClaims: `permission` and `scope` always, with the rule's own, sorted. */
function spaceDelimitedClaims(rule: unknown): string[] {
  const own = strings(field(rule, 'spaceDelimitedClaims'));
  if (own === undefined) return ['permission', 'scope'];
  return [...new Set([...own, 'permission', 'scope'])].sort();
}

/** A JwtProvider from one jwtRule. The JWKS: the rule's inline `jwks`; istiod fetches a `jwksUri` itself at push time
 * (JwksResolver, PILOT_JWT_ENABLE_REMOTE_JWKS=false) and inlines the keys, which a translator cannot know, so the
 * provider fetches them (`remote_jwks`, as istiod writes it with PILOT_JWT_ENABLE_REMOTE_JWKS=true). */
function provider(rule: unknown, clearRouteCache: boolean): Json {
  const p: Json = { issuer: stringField(rule, 'issuer') ?? '' };
  const audiences = strings(field(rule, 'audiences'));
  if (audiences?.length) p.audiences = audiences;
  const jwks = stringField(rule, 'jwks');
  const jwksUri = stringField(rule, 'jwksUri');
  if (jwks || !jwksUri) p.local_jwks = { inline_string: jwks ?? '' };
  else {
    const url = new URL(jwksUri);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const timeout = stringField(rule, 'timeout') ?? '5s';
    p.remote_jwks = { http_uri: { uri: jwksUri, cluster: `outbound|${port}||${url.hostname}`, timeout }, cache_duration: '300s' };
  }
  if (field(rule, 'forwardOriginalToken') === true) p.forward = true;
  const fromHeaders = field(rule, 'fromHeaders');
  if (Array.isArray(fromHeaders) && fromHeaders.length > 0) {
    p.from_headers = fromHeaders.map((h) => ({
      name: stringField(h, 'name') ?? '',
      ...(stringField(h, 'prefix') ? { value_prefix: stringField(h, 'prefix') } : {}),
    }));
  }
  const params = strings(field(rule, 'fromParams'));
  if (params?.length) p.from_params = params;
  const cookies = strings(field(rule, 'fromCookies'));
  if (cookies?.length) p.from_cookies = cookies;
  const payloadHeader = stringField(rule, 'outputPayloadToHeader');
  if (payloadHeader) p.forward_payload_header = payloadHeader;
  p.payload_in_metadata = 'payload';
  p.normalize_payload_in_metadata = { space_delimited_claims: spaceDelimitedClaims(rule) };
  if (clearRouteCache) p.clear_route_cache = true;
  const claimToHeaders = field(rule, 'outputClaimToHeaders');
  if (Array.isArray(claimToHeaders) && claimToHeaders.length > 0) {
    p.claim_to_headers = claimToHeaders.map((c) => ({ header_name: stringField(c, 'header'), claim_name: stringField(c, 'claim') }));
  }
  return p;
}

/** The jwt_authn filter of the proxy's inbound (and gateway) HTTP connection managers, or undefined without rules.
 * Each rule is provider `origins-<i>` (rules sorted by issuer); one rule: that provider or no token; several: any one
 * provider, or every provider's "that provider or no token". */
export function buildJwtFilter(input: TranslationInput, proxy: ProxyDescriptor): Json | undefined {
  const rules = requestAuthenticationsFor(input, proxy).flatMap((o): unknown[] => {
    const r: unknown = field(o.spec, 'jwtRules');
    return Array.isArray(r) ? (r as unknown[]) : [];
  });
  if (rules.length === 0) return undefined;
  // slices.SortBy by issuer (insertion sort, stable, for the few rules a workload has).
  const sorted = rules.map((rule, i) => ({ rule, i })).sort((a, b) => compare(issuer(a.rule), issuer(b.rule)) || a.i - b.i);
  const providers: Record<string, Json> = {};
  const eachOrMissing: Json[] = [];
  const anyProvider: Json[] = [];
  sorted.forEach(({ rule }, i) => {
    const name = `origins-${i}`;
    providers[name] = provider(rule, proxy.type !== 'sidecar');
    eachOrMissing.push({ requires_any: { requirements: [{ provider_name: name }, { allow_missing: {} }] } });
    anyProvider.push({ provider_name: name });
  });
  const requires =
    eachOrMissing.length === 1 ? eachOrMissing[0] : { requires_any: { requirements: [...anyProvider, { requires_all: { requirements: eachOrMissing } }] } };
  return {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: { '@type': JWT_AUTHN, rules: [{ match: { prefix: '/' }, requires }], providers, bypass_cors_preflight: true },
  };
}

const issuer = (rule: unknown) => stringField(rule, 'issuer') ?? '';
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
