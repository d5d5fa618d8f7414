// The built-in authorization filters (src/istio/xds/authorization-filters.ts), run by the local data plane's own RBAC
// engine (src/envoy/runtime: authzStepsOf, evaluateRbac, matchMetadata, as security.ts runs istiod's filters), decide
// every request as the Istio-level evaluator the local target runs today (src/istio/security/authorization.ts
// evaluateAuthorization and customCheck): a behavioural cross-check over seeded policy sets and requests. Their
// equality with istiod's own filters is test/fidelity/authz-vs-istiod.test.ts. Also: what the builder refuses.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../../src/envoy/model/index.ts';
import { authzStepsOf, type AuthzStep } from '../../../src/envoy/runtime/listeners.ts';
import { matchMetadata, type DynamicMetadata } from '../../../src/envoy/runtime/matchers.ts';
import { evaluateRbac, type RbacFacts } from '../../../src/envoy/runtime/rbac.ts';
import { SpecError } from '../../../src/errors.ts';
import { AUTHZ_MESH_CONFIG, authorizationPolicy } from '../../../src/fidelity/authz-corpus.ts';
import { authzTranslationInput } from '../../../src/fidelity/authz-fidelity.ts';
import { bookinfoProxies, bookinfoRegistry } from '../../../src/fidelity/bookinfo.ts';
import { Rand } from '../../../src/fidelity/corpus.ts';
import { customCheck, evaluateAuthorization, validateAuthorizationPolicy, type RequestAttributes } from '../../../src/istio/security/authorization.ts';
import { buildCustomAuthzFilters, buildInboundAuthzFilters, buildLocalAuthzFilters } from '../../../src/istio/xds/authorization-filters.ts';
import type { ProxyDescriptor, TranslationInput } from '../../../src/istio/xds/input.ts';
import type { K8sObject } from '../../../src/spec/types.ts';
import { must } from '../../../src/must.ts';

const registry = bookinfoRegistry();
const sidecars = bookinfoProxies(registry).filter((p) => p.type === 'sidecar');

/** What a request meets: the ext_authz provider its CUSTOM step calls (the service allowing), then allowed or denied. */
interface Outcome {
  extAuthz?: string;
  allowed: boolean;
}

interface Request {
  proxy: ProxyDescriptor;
  method: string;
  path: string;
  host: string;
  port: number;
  headers: Record<string, string>;
  principal?: string;
  sourceIp: string;
  remoteIp: string;
  destinationIp: string;
  claims?: Record<string, JsonValue>;
}

/** The built-in filters as the runtime runs them (security.ts runIstiodSteps, with every ext_authz check allowing). */
function runFilters(steps: AuthzStep[], r: Request): Outcome {
  const metadata: DynamicMetadata = r.claims ? { 'envoy.filters.http.jwt_authn': { payload: r.claims } } : {};
  const facts: RbacFacts & { metadata: DynamicMetadata } = {
    headers: { ...r.headers, ':method': r.method, ':path': r.path, ':authority': r.host },
    destinationIp: r.destinationIp,
    destinationPort: r.port,
    directRemoteIp: r.sourceIp,
    remoteIp: r.remoteIp,
    ...(r.principal ? { peerPrincipal: `spiffe://${r.principal}` } : {}),
    metadata,
  };
  const outcome: Outcome = { allowed: true };
  for (const step of steps) {
    if (step.kind === 'ext_authz') {
      if (step.config.filter_enabled_metadata && !matchMetadata(step.config.filter_enabled_metadata, facts.metadata)) continue;
      outcome.extAuthz = must(step.config.filter_enabled_metadata?.value.string_match?.prefix, 'the provider prefix').replace('istio-ext-authz-', '');
      continue;
    }
    if (step.shadow) {
      const shadow = evaluateRbac(step.shadow.rules, facts);
      facts.metadata['envoy.filters.http.rbac'] = {
        ...facts.metadata['envoy.filters.http.rbac'],
        ...(shadow.matchedPolicy !== undefined ? { [`${step.shadow.prefix}shadow_effective_policy_id`]: shadow.matchedPolicy } : {}),
      };
    }
    if (step.rules && !evaluateRbac(step.rules, facts).allowed) return { ...outcome, allowed: false };
  }
  return outcome;
}

/** Today's evaluator: customCheck (providers as the local mesh resolves them, mesh.ts extAuthz), then evaluateAuthorization. */
function evaluate(input: TranslationInput, policies: K8sObject[], r: Request): Outcome {
  const attributes: RequestAttributes = {
    namespace: r.proxy.namespace,
    workloadLabels: r.proxy.labels,
    method: r.method,
    path: r.path,
    host: r.host,
    port: r.port,
    headers: r.headers,
    ...(r.principal ? { sourcePrincipal: r.principal } : {}),
    ...(r.claims ? { requestPrincipal: `${String(r.claims.iss)}/${String(r.claims.sub)}`, requestClaims: r.claims } : {}),
    sourceIp: r.sourceIp,
    remoteIp: r.remoteIp,
    destinationIp: r.destinationIp,
  };
  const providerError = (name: string) => {
    const p = input.extensionProviders?.get(name);
    if (!p) return 'undefined provider';
    if ('invalid' in p) return p.invalid;
    return input.services.some((s) => s.fqdn === p.service.replace(/^[^/]*\//, '')) ? undefined : 'no such service';
  };
  const custom = customCheck(policies, attributes, providerError);
  if (custom.kind === 'deny') return { allowed: false };
  const rest = evaluateAuthorization(policies, attributes).allowed;
  return custom.kind === 'check' ? { extAuthz: custom.provider, allowed: rest } : { allowed: rest };
}

const PRINCIPALS = [
  'none',
  'cluster.local/ns/default/sa/bookinfo-productpage',
  'cluster.local/ns/default/sa/bookinfo-reviews',
  'cluster.local/ns/default/sa/bookinfo-ratings',
  'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
  'cluster.local/ns/foo.bar/sa/client',
];
const IPS = ['10.244.0.5', '192.0.2.12', '10.1.2.3', '172.16.0.1', '2001:db8::7'];

function request(r: Rand): Request {
  const headers: Record<string, string> = {};
  if (r.chance(50)) headers['x-token'] = r.pick(['secret', 'prefix-x', 'x-suffix', '', 'other']);
  if (r.chance(40)) headers['user-agent'] = r.pick(['curl/8.0', 'Mozilla', 'Go-http-client']);
  const claims = r.chance(40)
    ? {
        iss: r.pick(['https://issuer.example', 'issuer-only', 'prefix-only-x', 'other']),
        sub: r.pick(['user-1', 'user-2', 'x-suffix-only']),
        aud: r.pick<JsonValue>(['bookinfo', ['api-1', 'web'], 'other']),
        azp: r.pick(['client-1', 'client-2']),
        groups: r.pick<JsonValue>([['admins'], ['developers', 'x'], 'admins', []]),
        nested: { role: r.pick(['reader', 'writer']) },
      }
    : undefined;
  const principal = r.pick(PRINCIPALS);
  const mtls = principal !== 'none';
  return {
    proxy: r.pick(sidecars),
    method: r.pick(['GET', 'POST', 'DELETE', 'PUT']),
    path: r.pick(['/productpage', '/ratings/1', '/reviews/2?x=1', '/health', '/x/health', '/api/v1/products/0']),
    host: r.pick(['reviews:9080', 'reviews.default.svc.cluster.local', 'productpage:9080', 'ratings', 'Productpage:9080', 'details.default.svc.cluster.local']),
    port: r.pick([9080, 8080]),
    headers,
    ...(mtls ? { principal } : {}),
    sourceIp: r.pick(IPS),
    remoteIp: r.pick(IPS),
    destinationIp: r.pick(['10.244.0.12', '192.0.2.12']),
    ...(claims ? { claims } : {}),
  };
}

const DRY_RUN = 'istio.io/dry-run';
/** builder.go isDryRun (strconv.ParseBool). */
const isDryRun = (p: K8sObject) => ['1', 't', 'T', 'true', 'True', 'TRUE'].includes(p.metadata.annotations?.[DRY_RUN] ?? '');

/**
 * The set as today's evaluator reads it — dry-run policies left out, `dry-run: false` ones without the annotation —
 * or undefined when it refuses a policy (a field it does not run) or the two knowingly differ: a `spiffe://` principal
 * (istiod adds a second prefix, so it never matches; the evaluator strips it) and a `*` inside a trust domain
 * (istiod's trust-domain migration rewrites `cluster*\/…` to `cluster.local/…`; the evaluator reads the `*` literally);
 * an IPv4-mapped IPv6 block (Envoy's CidrRange::isInRange needs the address's IP version; the evaluator's node:net
 * BlockList matches a mapped address against IPv4 ranges and the other way round).
 */
function evaluatorSet(policies: K8sObject[]): K8sObject[] | undefined {
  const out: K8sObject[] = [];
  for (const p of policies) {
    if (isDryRun(p)) continue;
    if (/spiffe:\/\/|cluster\*|::ffff:/.test(JSON.stringify(p.spec))) return undefined;
    const plain: K8sObject = { ...p, metadata: { name: p.metadata.name, ...(p.metadata.namespace ? { namespace: p.metadata.namespace } : {}) } };
    try {
      validateAuthorizationPolicy(plain);
    } catch {
      return undefined;
    }
    out.push(plain);
  }
  return out;
}

describe('buildInboundAuthzFilters run by the local RBAC engine decides as evaluateAuthorization and customCheck', () => {
  it('seeded policy sets × requests: the same ext_authz call and the same allow or deny', () => {
    const r = new Rand(20261205);
    let compared = 0;
    let denied = 0;
    let extAuthz = 0;
    let sets = 0;
    const mismatches: unknown[] = [];
    for (let attempt = 0; sets < 400 && attempt < 5000; attempt++) {
      const policies = Array.from({ length: r.int(1, 3) }, (_, i) => authorizationPolicy(r.fork(), `p-${i}`));
      const evaluatorPolicies = evaluatorSet(policies);
      if (!evaluatorPolicies) continue;
      sets++;
      const input = authzTranslationInput(registry, { name: 'cross-check', objects: policies, ...(r.chance(80) ? { meshConfig: AUTHZ_MESH_CONFIG } : {}) });
      const steps = new Map(sidecars.map((p) => [p.podName, authzStepsOf(buildInboundAuthzFilters(input, p))]));
      for (let k = 0; k < 25; k++) {
        const req = request(r);
        const ours = runFilters(must(steps.get(req.proxy.podName), 'the proxy'), req);
        const theirs = evaluate(input, evaluatorPolicies, req);
        compared++;
        if (!ours.allowed) denied++;
        if (ours.extAuthz) extAuthz++;
        if (!isDeepStrictEqual(ours, theirs)) mismatches.push({ ours, theirs, policies, request: { ...req, proxy: req.proxy.podName } });
      }
    }
    expect(mismatches.slice(0, 3)).toEqual([]);
    expect(sets).toBe(400);
    // Both outcomes and the CUSTOM step are exercised.
    expect(denied).toBeGreaterThan(compared / 10);
    expect(compared - denied).toBeGreaterThan(compared / 2);
    expect(extAuthz).toBeGreaterThan(50);
  });
});

describe('what the builder refuses, naming the field (as istiod’s webhook refuses it, or as the local data plane cannot run it)', () => {
  const input = (spec: Record<string, unknown>, annotations?: Record<string, string>): TranslationInput =>
    authzTranslationInput(registry, {
      name: 'refusal',
      objects: [
        {
          apiVersion: 'security.istio.io/v1',
          kind: 'AuthorizationPolicy',
          metadata: { name: 'p', namespace: 'default', ...(annotations ? { annotations } : {}) },
          spec,
        },
      ],
    });
  const reviews = must(
    sidecars.find((p) => p.labels.app === 'reviews'),
    'a reviews sidecar',
  );
  const refusal = (spec: Record<string, unknown>, annotations?: Record<string, string>) => {
    try {
      buildInboundAuthzFilters(input(spec, annotations), reviews);
    } catch (error) {
      if (error instanceof SpecError) return error.format();
      throw error;
    }
    return 'accepted';
  };

  it.each([
    [{ rules: [{ to: [{ operation: { paths: ['/api/{*}/items'] } }] }] }, undefined, 'spec.rules[0].to[0].operation.paths[0]: path templates'],
    [
      { rules: [{ when: [{ key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]'] }] }] },
      undefined,
      'spec.rules[0].when[0].key: experimental',
    ],
    [{ rules: [{ when: [{ key: 'request.time', values: ['now'] }] }] }, undefined, 'spec.rules[0].when[0].key: unknown attribute: request.time'],
    [
      { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ from: [{ source: { principals: ['a'] } }] }] },
      undefined,
      'spec.rules[0].from[0].source.principals: From.Principals is currently not supported with CUSTOM action',
    ],
    [
      { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ when: [{ key: 'request.auth.claims[iss]', values: ['a'] }] }] },
      undefined,
      'spec.rules[0].when[0].key: request.auth.claims[iss] is currently not supported with CUSTOM action',
    ],
    [
      { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] },
      { 'istio.io/dry-run': 'true' },
      'metadata.annotations["istio.io/dry-run"]: the annotation istio.io/dry-run currently only supports action ALLOW/DENY',
    ],
    [{ action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': 'yes' }, 'metadata.annotations["istio.io/dry-run"]: invalid value'],
    [{ action: 'DENY' }, undefined, 'spec.rules: DENY action without `rules` is meaningless'],
    [{ action: 'CUSTOM', rules: [{}] }, undefined, 'spec.provider.name: `provider.name` must not be empty'],
    [
      { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] },
      undefined,
      'spec.rules[0].from[0].source.ipBlocks[0]: bad IP address or CIDR range (10.0.0.0/33)',
    ],
    [{ rules: [{ to: [{ operation: { ports: ['http'] } }] }] }, undefined, 'spec.rules[0].to[0].operation.ports[0]: bad port (http)'],
    [
      { rules: [{ from: [{ source: { principals: ['a'], serviceAccounts: ['b'] } }] }] },
      undefined,
      'spec.rules[0].from[0].source: cannot set serviceAccounts with namespaces or principals',
    ],
    [
      { rules: [{ from: [{ source: { trustDomains: ['a*b'] } }] }] },
      undefined,
      'spec.rules[0].from[0].source.trustDomains[0]: wildcard is only allowed at the start or end',
    ],
    [{ rules: [{ to: [{ operation: { methods: ['GET'], verbs: ['x'] } }] }] }, undefined, 'spec.rules[0].to[0].operation.verbs: unsupported field'],
    [{ targetRef: { kind: 'Service', name: 'reviews', namespace: 'other' } }, undefined, 'spec.targetRef.namespace: targetRef namespace must not be set'],
  ])('%j %j → %s', (spec, annotations, expected) => {
    expect(refusal(spec, annotations)).toContain(`AuthorizationPolicy p: ${expected}`);
  });

  it('accepts what it translates, ext_authz after its shadow RBAC filter and before the DENY and ALLOW filters (listener_builder.go: jwt_authn goes between the two parts)', () => {
    const objects: K8sObject[] = [
      { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'allow', namespace: 'default' }, spec: { rules: [{}] } },
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'deny', namespace: 'istio-system' },
        spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] },
      },
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'ext', namespace: 'default' },
        spec: { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] },
      },
    ];
    const withProviders = authzTranslationInput(registry, { name: 'order', objects, meshConfig: AUTHZ_MESH_CONFIG });
    const names = (filters: { name: string }[]) => filters.map((f) => f.name);
    expect(names(buildCustomAuthzFilters(withProviders, reviews))).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.ext_authz']);
    expect(buildLocalAuthzFilters(withProviders, reviews).map((f) => JSON.stringify(f.typed_config).match(/"action":"(\w+)"/)?.[1] ?? 'ALLOW')).toEqual([
      'DENY',
      'ALLOW',
    ]);
    expect(buildInboundAuthzFilters(withProviders, reviews)).toEqual([
      ...buildCustomAuthzFilters(withProviders, reviews),
      ...buildLocalAuthzFilters(withProviders, reviews),
    ]);
  });
});
