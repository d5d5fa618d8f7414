import { describe, expect, it } from 'vitest';
import { SpecError } from '../../../src/errors.ts';
import type { K8sObject } from '../../../src/spec/types.ts';
import {
  customCheck,
  RBAC_DENIED_BODY,
  evaluateAuthorization,
  inboundHcmStatPrefix,
  rbacCounterSeries,
  rbacCounters,
  validateAuthorizationPolicy,
  type RequestAttributes,
} from '../../../src/istio/security/index.ts';
import { istioBehaviour } from '../../../src/istio/version.ts';

function policy(name: string, spec: unknown, namespace = 'default', extra: Partial<K8sObject['metadata']> = {}): K8sObject {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace, ...extra }, spec };
}

const PRODUCTPAGE_SA = 'cluster.local/ns/default/sa/bookinfo-productpage';
const REVIEWS_SA = 'cluster.local/ns/default/sa/bookinfo-reviews';

function req(overrides: Partial<RequestAttributes> = {}): RequestAttributes {
  return {
    namespace: 'default',
    workloadLabels: { app: 'productpage', version: 'v1' },
    method: 'GET',
    path: '/productpage',
    host: 'productpage:9080',
    port: 9080,
    headers: {},
    sourcePrincipal: 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
    sourceIp: '10.0.0.7',
    ...overrides,
  };
}

// istio.io tasks/security/authorization/authz-http, step by step.
const allowNothing = policy('allow-nothing', {});
const productpageViewer = policy('productpage-viewer', {
  selector: { matchLabels: { app: 'productpage' } },
  action: 'ALLOW',
  rules: [{ to: [{ operation: { methods: ['GET'] } }] }],
});
const detailsViewer = policy('details-viewer', {
  selector: { matchLabels: { app: 'details' } },
  action: 'ALLOW',
  rules: [{ from: [{ source: { principals: [PRODUCTPAGE_SA] } }], to: [{ operation: { methods: ['GET'] } }] }],
});

describe('evaluateAuthorization — Istio authz-http task', () => {
  it('no policy: allowed, no RBAC filter', () => {
    expect(evaluateAuthorization([], req())).toEqual({ allowed: true, action: 'none', reason: 'no authorization policy applies', filters: [] });
  });

  it('allow-nothing (spec: {}) denies everything in the namespace with RBAC: access denied', () => {
    const d = evaluateAuthorization([allowNothing], req());
    expect(d).toMatchObject({ allowed: false, action: 'ALLOW', responseDetails: 'rbac_access_denied_matched_policy[none]' });
    expect(d.filters).toEqual([{ action: 'ALLOW', result: 'denied' }]);
    expect(RBAC_DENIED_BODY).toBe('RBAC: access denied');
  });

  it('productpage-viewer lets GET reach productpage, details stays denied', () => {
    const set = [allowNothing, productpageViewer];
    expect(evaluateAuthorization(set, req())).toMatchObject({ allowed: true, action: 'ALLOW', decidedBy: 'default/productpage-viewer' });
    expect(evaluateAuthorization(set, req({ method: 'POST' })).allowed).toBe(false);
    const details = req({ workloadLabels: { app: 'details', version: 'v1' }, path: '/details/0', sourcePrincipal: PRODUCTPAGE_SA });
    expect(evaluateAuthorization(set, details).allowed).toBe(false);
    expect(evaluateAuthorization([...set, detailsViewer], details)).toMatchObject({ allowed: true, decidedBy: 'default/details-viewer' });
    // Another caller, or the same caller in plaintext (no peer identity), is denied.
    expect(evaluateAuthorization([...set, detailsViewer], { ...details, sourcePrincipal: REVIEWS_SA }).allowed).toBe(false);
    expect(evaluateAuthorization([...set, detailsViewer], { ...details, sourcePrincipal: undefined }).allowed).toBe(false);
  });

  it('accepts spiffe:// forms of principals on either side', () => {
    const p = policy('x', { rules: [{ from: [{ source: { principals: [`spiffe://${PRODUCTPAGE_SA}`] } }] }] });
    expect(evaluateAuthorization([p], req({ sourcePrincipal: PRODUCTPAGE_SA })).allowed).toBe(true);
    expect(evaluateAuthorization([p], req({ sourcePrincipal: `spiffe://${PRODUCTPAGE_SA}` })).allowed).toBe(true);
  });
});

describe('evaluateAuthorization — precedence and scope (authorization_policy.proto)', () => {
  const allowAll = policy('allow-all', { rules: [{}] });
  const denyPost = policy('deny-post', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'] } }] }] });

  it('an empty rule matches everything', () => {
    expect(evaluateAuthorization([allowAll], req()).allowed).toBe(true);
  });

  it('DENY is evaluated before ALLOW and overrides it; each RBAC filter counts its own decision', () => {
    const d = evaluateAuthorization([allowAll, denyPost], req({ method: 'POST' }));
    expect(d).toMatchObject({
      allowed: false,
      action: 'DENY',
      decidedBy: 'default/deny-post',
      responseDetails: 'rbac_access_denied_matched_policy[ns[default]-policy[deny-post]-rule[0]]',
      filters: [{ action: 'DENY', result: 'denied' }],
    });
    expect(evaluateAuthorization([allowAll, denyPost], req()).filters).toEqual([
      { action: 'DENY', result: 'allowed' },
      { action: 'ALLOW', result: 'allowed' },
    ]);
  });

  it('a DENY policy without rules never matches', () => {
    expect(evaluateAuthorization([policy('d', { action: 'DENY' })], req())).toMatchObject({ allowed: true, action: 'none' });
  });

  it('AUDIT policies do not change the decision', () => {
    expect(evaluateAuthorization([policy('a', { action: 'AUDIT', rules: [{}] })], req())).toMatchObject({ allowed: true, action: 'none' });
  });

  it('scopes by namespace, selector and the root namespace istio-system', () => {
    const other = req({ namespace: 'prod' });
    expect(evaluateAuthorization([allowNothing], other).allowed).toBe(true);
    const meshWide = policy('mesh-deny-all', {}, 'istio-system');
    expect(evaluateAuthorization([meshWide], other).allowed).toBe(false);
    const rootSelector = policy('v1-only', { selector: { matchLabels: { version: 'v1' } } }, 'istio-system');
    expect(evaluateAuthorization([rootSelector], other).allowed).toBe(false);
    expect(evaluateAuthorization([rootSelector], req({ workloadLabels: { app: 'reviews', version: 'v2' } })).allowed).toBe(true);
    expect(evaluateAuthorization([productpageViewer], req({ workloadLabels: { app: 'reviews' } })).action).toBe('none');
    expect(evaluateAuthorization([allowNothing], req(), 'mesh-root').allowed).toBe(false);
  });

  it('ignores objects of other kinds', () => {
    const pa: K8sObject = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'x' }, spec: {} };
    expect(evaluateAuthorization([pa], req()).action).toBe('none');
  });
});

describe('evaluateAuthorization — matching', () => {
  const allowTo = (operation: unknown) => policy('p', { rules: [{ to: [{ operation }] }] });
  const allowWhen = (when: unknown[]) => policy('p', { rules: [{ when }] });
  const allowFrom = (source: unknown) => policy('p', { rules: [{ from: [{ source }] }] });
  const ok = (p: K8sObject, r: Partial<RequestAttributes> = {}) => evaluateAuthorization([p], req(r)).allowed;

  it('paths: exact, prefix*, *suffix, * presence; the query string is ignored', () => {
    expect(ok(allowTo({ paths: ['/productpage'] }), { path: '/productpage?u=normal' })).toBe(true);
    expect(ok(allowTo({ paths: ['/productpage'] }), { path: '/productpage/x' })).toBe(false);
    expect(ok(allowTo({ paths: ['/api/v1/products*'] }), { path: '/api/v1/products/0/reviews' })).toBe(true);
    expect(ok(allowTo({ paths: ['*/reviews'] }), { path: '/api/v1/products/0/reviews' })).toBe(true);
    expect(ok(allowTo({ paths: ['*'] }), { path: '/x' })).toBe(true);
    expect(ok(allowTo({ notPaths: ['/admin*'] }), { path: '/admin/x' })).toBe(false);
  });

  it('hosts ignore case; methods and ports; not* fields', () => {
    expect(ok(allowTo({ hosts: ['PRODUCTPAGE:9080'] }))).toBe(true);
    expect(ok(allowTo({ hosts: ['productpage'] }))).toBe(false); // the :authority carries the port
    expect(ok(allowTo({ hosts: ['productpage*'] }))).toBe(true);
    expect(ok(allowTo({ ports: ['9080'], methods: ['GET', 'HEAD'] }))).toBe(true);
    expect(ok(allowTo({ ports: ['9081'] }))).toBe(false);
    expect(ok(allowTo({ notMethods: ['GET'] }))).toBe(false);
    expect(ok(allowTo({ notPorts: ['9080'] }))).toBe(false);
  });

  it('operation fields are ANDed, operations ORed', () => {
    const p = policy('p', { rules: [{ to: [{ operation: { methods: ['GET'], paths: ['/a'] } }, { operation: { methods: ['POST'], paths: ['/b'] } }] }] });
    expect(ok(p, { method: 'GET', path: '/a' })).toBe(true);
    expect(ok(p, { method: 'POST', path: '/b' })).toBe(true);
    expect(ok(p, { method: 'GET', path: '/b' })).toBe(false);
  });

  it('sources: namespaces come from the peer identity; notPrincipals ["*"] catches plaintext; ipBlocks CIDR', () => {
    expect(ok(allowFrom({ namespaces: ['default'] }), { sourcePrincipal: PRODUCTPAGE_SA })).toBe(true);
    expect(ok(allowFrom({ namespaces: ['default'] }), { sourcePrincipal: undefined })).toBe(false);
    expect(ok(allowFrom({ notNamespaces: ['default'] }), { sourcePrincipal: PRODUCTPAGE_SA })).toBe(false);
    const denyPlaintext = policy('deny-plaintext', { action: 'DENY', rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] });
    expect(evaluateAuthorization([denyPlaintext], req({ sourcePrincipal: undefined })).allowed).toBe(false);
    expect(evaluateAuthorization([denyPlaintext], req()).allowed).toBe(true);
    expect(ok(allowFrom({ ipBlocks: ['10.0.0.0/24'] }))).toBe(true);
    expect(ok(allowFrom({ ipBlocks: ['10.0.1.0/24', '10.0.0.8'] }))).toBe(false);
    expect(ok(allowFrom({ remoteIpBlocks: ['203.0.113.0/24'] }), { remoteIp: '203.0.113.9' })).toBe(true);
  });

  it('requestPrincipals need a verified JWT ("*" = any)', () => {
    const p = allowFrom({ requestPrincipals: ['*'] });
    expect(ok(p)).toBe(false);
    expect(ok(p, { requestPrincipal: 'testing@secure.istio.io/testing@secure.istio.io' })).toBe(true);
    expect(ok(allowFrom({ requestPrincipals: ['testing@secure.istio.io/*'] }), { requestPrincipal: 'other/x' })).toBe(false);
  });

  it('when: request.headers, claims (string or list, nested), audiences, source.namespace, destination.port, source.ip', () => {
    expect(ok(allowWhen([{ key: 'request.headers[End-User]', values: ['jason'] }]), { headers: { 'end-user': 'jason' } })).toBe(true);
    expect(ok(allowWhen([{ key: 'request.headers[end-user]', values: ['*'] }]), { headers: { 'end-user': '' } })).toBe(true);
    expect(ok(allowWhen([{ key: 'request.headers[end-user]', notValues: ['jason'] }]), { headers: { 'end-user': 'jason' } })).toBe(false);
    expect(ok(allowWhen([{ key: 'request.headers[end-user]', values: ['jason'] }]))).toBe(false);
    const claims = { groups: ['group1', 'group2'], nested: { role: 'admin' }, aud: 'bookinfo', azp: 'web', admin: true };
    expect(ok(allowWhen([{ key: 'request.auth.claims[groups]', values: ['group2'] }]), { requestClaims: claims })).toBe(true);
    expect(ok(allowWhen([{ key: 'request.auth.claims[nested][role]', values: ['adm*'] }]), { requestClaims: claims })).toBe(true);
    expect(ok(allowWhen([{ key: 'request.auth.claims[admin]', values: ['true'] }]), { requestClaims: claims })).toBe(false);
    expect(
      ok(
        allowWhen([
          { key: 'request.auth.audiences', values: ['bookinfo'] },
          { key: 'request.auth.presenter', values: ['web'] },
        ]),
        { requestClaims: claims },
      ),
    ).toBe(true);
    expect(ok(allowWhen([{ key: 'source.namespace', values: ['default'] }]), { sourcePrincipal: PRODUCTPAGE_SA })).toBe(true);
    expect(ok(allowWhen([{ key: 'source.principal', values: [PRODUCTPAGE_SA] }]), { sourcePrincipal: PRODUCTPAGE_SA })).toBe(true);
    expect(ok(allowWhen([{ key: 'destination.port', values: ['9080'] }]))).toBe(true);
    expect(
      ok(
        allowWhen([
          { key: 'source.ip', values: ['10.0.0.0/8'] },
          { key: 'request.auth.principal', values: ['*'] },
        ]),
      ),
    ).toBe(false);
  });
});

describe('validateAuthorizationPolicy refuses what is not emulated, naming the field', () => {
  const cases: [string, K8sObject, string, RegExp][] = [
    ['unknown action', policy('x', { action: 'LOG' }), 'spec.action', /ALLOW, DENY, AUDIT or CUSTOM/],
    // pkg/config/validation/validation.go ValidateAuthorizationPolicy, CUSTOM checks
    ['CUSTOM without rules', policy('x', { action: 'CUSTOM', provider: { name: 'opa' } }), 'spec.rules', /never be triggered/],
    ['CUSTOM without provider', policy('x', { action: 'CUSTOM', rules: [{}] }), 'spec.provider.name', /must not be empty/],
    ['provider without CUSTOM', policy('x', { action: 'ALLOW', provider: { name: 'opa' }, rules: [{}] }), 'spec.provider', /non CUSTOM action/],
    [
      'CUSTOM with principals',
      policy('x', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ from: [{ source: { principals: ['a'] } }] }] }),
      'spec.rules[0].from[0].source.principals',
      /not supported with CUSTOM/,
    ],
    [
      'CUSTOM with request.auth',
      policy('x', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ when: [{ key: 'request.auth.claims[iss]', values: ['a'] }] }] }),
      'spec.rules[0].when[0].key',
      /not supported with CUSTOM/,
    ],
    ['targetRef', policy('x', { targetRef: { kind: 'Gateway', name: 'gw' } }), 'spec.targetRef', /unsupported field/],
    [
      'unknown source field',
      policy('x', { rules: [{ from: [{ source: { principal: ['a'] } }] }] }),
      'spec.rules[0].from[0].source.principal',
      /unsupported field/,
    ],
    ['empty source', policy('x', { rules: [{ from: [{ source: {} }] }] }), 'spec.rules[0].from[0].source', /must not be empty/],
    ['path template', policy('x', { rules: [{ to: [{ operation: { paths: ['/api/{*}/x'] } }] }] }), 'spec.rules[0].to[0].operation.paths[0]', /templates/],
    ['bad port', policy('x', { rules: [{ to: [{ operation: { ports: ['http'] } }] }] }), 'spec.rules[0].to[0].operation.ports[0]', /port/],
    ['bad CIDR', policy('x', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] }), 'spec.rules[0].from[0].source.ipBlocks[0]', /CIDR/],
    ['unknown condition key', policy('x', { rules: [{ when: [{ key: 'connection.sni', values: ['a'] }] }] }), 'spec.rules[0].when[0].key', /not emulated/],
    ['condition without values', policy('x', { rules: [{ when: [{ key: 'source.ip' }] }] }), 'spec.rules[0].when[0]', /values or notValues/],
    ['dry-run', policy('x', {}, 'default', { annotations: { 'istio.io/dry-run': 'true' } }), 'metadata.annotations["istio.io/dry-run"]', /dry-run/],
    ['selector with matchExpressions', policy('x', { selector: { matchExpressions: [] } }), 'spec.selector.matchExpressions', /only matchLabels/],
  ];
  for (const [what, obj, path, message] of cases) {
    it(what, () => {
      let error: unknown;
      try {
        validateAuthorizationPolicy(obj, { file: 'e.yaml', line: 7, col: 3 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SpecError);
      expect((error as SpecError).path).toBe(`AuthorizationPolicy x: ${path}`.replace('AuthorizationPolicy x', `AuthorizationPolicy ${obj.metadata.name}`));
      expect((error as SpecError).message).toMatch(message);
    });
  }
});

describe('customCheck: the CUSTOM step (pilot/pkg/security/authz/builder/builder.go buildHTTP)', () => {
  const request = (path: string) => ({
    namespace: 'default',
    workloadLabels: { app: 'ratings' },
    method: 'GET',
    path,
    host: 'ratings:9080',
    port: 9080,
    headers: {},
  });
  const custom = (name: string, provider: string, paths: string[]) =>
    policy(name, {
      selector: { matchLabels: { app: 'ratings' } },
      action: 'CUSTOM',
      provider: { name: provider },
      rules: [{ to: [{ operation: { paths } }] }],
    });
  const fine = () => undefined;

  it('checks with the provider only the requests its rules match (the shadow rules enable ext_authz)', () => {
    const policies = [custom('ext', 'opa', ['/api/*'])];
    expect(customCheck(policies, request('/api/x'), fine)).toEqual({ kind: 'check', provider: 'opa', policy: 'default/ext' });
    expect(customCheck(policies, request('/health'), fine)).toEqual({ kind: 'none' });
  });

  it('ignores CUSTOM policies of other workloads, and DENY/ALLOW ones', () => {
    const other = policy('ext', { selector: { matchLabels: { app: 'reviews' } }, action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] });
    expect(customCheck([other, policy('deny', { action: 'DENY', rules: [{}] })], request('/'), fine)).toEqual({ kind: 'none' });
  });

  it('a provider istiod cannot build turns the CUSTOM rules into a DENY (getBadCustomDenyRules)', () => {
    const policies = [custom('ext', 'missing', ['/api/*'])];
    const verdict = customCheck(policies, request('/api/x'), () => 'available providers are [] but found "missing"');
    expect(verdict).toMatchObject({
      kind: 'deny',
      policy: 'default/ext',
      responseDetails: 'rbac_access_denied_matched_policy[istio-ext-authz-missing-ns[default]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action]',
    });
    expect(customCheck(policies, request('/health'), () => 'broken')).toEqual({ kind: 'none' });
  });

  it('two providers on one workload deny what their rules match (PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS is off)', () => {
    const verdict = customCheck([custom('a', 'opa', ['/api/*']), custom('b', 'other', ['/x'])], request('/api/x'), fine);
    expect(verdict).toMatchObject({ kind: 'deny', reason: expect.stringMatching(/multiple CUSTOM/) });
  });

  it('CUSTOM policies never decide in evaluateAuthorization: DENY and ALLOW run after them', () => {
    const d = evaluateAuthorization([custom('ext', 'opa', ['/*'])], request('/api/x'));
    expect(d).toMatchObject({ allowed: true, action: 'none' });
  });
});

describe('RBAC counter names (envoy rbac/utility.cc; Istio bootstrap stats_tags authz_enforce_result)', () => {
  it('Istio ≥ 1.23 extracts the connection manager prefix (ENABLE_DELIMITED_STATS_TAG_REGEX)', () => {
    expect(rbacCounterSeries(istioBehaviour('1.28.0'), inboundHcmStatPrefix(9080), 'denied')).toEqual({
      stat: 'http.inbound_0.0.0.0_9080;.rbac.denied',
      name: 'envoy_http_rbac',
      labels: { http_conn_manager_prefix: 'inbound_0.0.0.0_9080', authz_enforce_result: 'denied' },
    });
  });

  it('Istio ≤ 1.22 keeps the prefix in the metric name', () => {
    expect(rbacCounters(istioBehaviour('1.22.3'), inboundHcmStatPrefix(9080))).toEqual([
      { stat: 'http.inbound_0.0.0.0_9080.rbac.allowed', name: 'envoy_http_inbound_0_0_0_0_9080_rbac', labels: { authz_enforce_result: 'allowed' } },
      { stat: 'http.inbound_0.0.0.0_9080.rbac.denied', name: 'envoy_http_inbound_0_0_0_0_9080_rbac', labels: { authz_enforce_result: 'denied' } },
    ]);
  });
});
