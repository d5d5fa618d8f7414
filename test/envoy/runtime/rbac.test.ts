import { describe, expect, it } from 'vitest';
import type { HttpConnectionManager, HttpRbac, JsonValue, Rbac } from '../../../src/envoy/model/index.ts';
import { matchValue } from '../../../src/envoy/runtime/matchers.ts';
import { evaluateRbac, inCidr, type RbacFacts } from '../../../src/envoy/runtime/rbac.ts';
import { loadIstiodDump } from './fixtures.ts';
import { must } from '../../../src/must.ts';

const facts = (over: Partial<RbacFacts> = {}): RbacFacts => ({
  headers: { ':method': 'GET', ':path': '/a/b?x=1' },
  destinationPort: 9080,
  directRemoteIp: '10.1.2.3',
  ...over,
});

describe('evaluateRbac (rbac engine_impl.cc handleAction)', () => {
  const policies: Rbac['policies'] = {
    'b-get': { permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }], principals: [{ any: true }] },
    'a-port': { permissions: [{ destination_port: 9080 }], principals: [{ direct_remote_ip: { address_prefix: '10.1.0.0', prefix_len: 16 } }] },
  };
  it('ALLOW (also when unset): allowed iff a policy matches; the first in name order is reported', () => {
    expect(evaluateRbac({ policies }, facts())).toEqual({ allowed: true, matchedPolicy: 'a-port' });
    expect(evaluateRbac({ action: 'ALLOW', policies }, facts({ directRemoteIp: '10.2.0.1', headers: { ':method': 'PUT' } }))).toEqual({ allowed: false });
  });
  it('DENY: denied iff a policy matches; LOG always allows', () => {
    expect(evaluateRbac({ action: 'DENY', policies }, facts({ directRemoteIp: '10.2.0.1' }))).toEqual({ allowed: false, matchedPolicy: 'b-get' });
    expect(evaluateRbac({ action: 'DENY', policies }, facts({ directRemoteIp: '10.2.0.1', headers: { ':method': 'PUT' } }))).toEqual({ allowed: true });
    expect(evaluateRbac({ action: 'LOG', policies }, facts())).toMatchObject({ allowed: true });
  });
  it('a policy needs a matching permission AND a matching principal', () => {
    const rbac: Rbac = {
      policies: { p: { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { prefix: 'spiffe://cluster.local/' } } }] } },
    };
    expect(evaluateRbac(rbac, facts()).allowed).toBe(false);
    expect(evaluateRbac(rbac, facts({ peerPrincipal: 'spiffe://cluster.local/ns/a/sa/b' })).allowed).toBe(true);
    expect(
      evaluateRbac({ policies: { p: { permissions: [{ any: true }], principals: [{ authenticated: {} }] } } }, facts({ peerPrincipal: 'x' })).allowed,
    ).toBe(true);
  });
  it('and/or/not rules, url_path without the query, destination_port_range, remote_ip', () => {
    const rbac = (permission: NonNullable<Rbac['policies']>[string]['permissions'][number], principal = { any: true }) => ({
      policies: { p: { permissions: [permission], principals: [principal] } },
    });
    expect(evaluateRbac(rbac({ url_path: { path: { exact: '/a/b' } } }), facts()).allowed).toBe(true);
    expect(evaluateRbac(rbac({ not_rule: { url_path: { path: { prefix: '/a' } } } }), facts()).allowed).toBe(false);
    expect(evaluateRbac(rbac({ and_rules: { rules: [{ any: true }, { destination_port_range: { start: 9000, end: 9080 } }] } }), facts()).allowed).toBe(false);
    expect(
      evaluateRbac(rbac({ or_rules: { rules: [{ destination_port: 1 }, { destination_port_range: { start: 9000, end: 9081 } }] } }), facts()).allowed,
    ).toBe(true);
    expect(
      evaluateRbac(rbac({ any: true }, { remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } } as never), facts({ remoteIp: '192.168.4.4' })).allowed,
    ).toBe(true);
    expect(evaluateRbac(rbac({ any: true }, { not_id: { direct_remote_ip: { address_prefix: '10.1.2.3', prefix_len: 32 } } } as never), facts()).allowed).toBe(
      false,
    );
  });
  it('CIDR ranges match within one address family only', () => {
    expect(inCidr({ address_prefix: '::', prefix_len: 0 }, '10.0.0.1')).toBe(false);
    expect(inCidr({ address_prefix: 'fd00::', prefix_len: 8 }, 'fd12::1')).toBe(true);
    expect(() => inCidr({ address_prefix: 'nope' }, '10.0.0.1')).toThrow(/not an IP address/);
  });
  it('ValueMatcher: string, list one_of, or, present, null, double, bool', () => {
    expect(matchValue({ list_match: { one_of: { string_match: { exact: 'a' } } } }, ['b', 'a'])).toBe(true);
    expect(matchValue({ string_match: { exact: 'a' } }, ['a'])).toBe(false);
    expect(matchValue({ present_match: true }, undefined)).toBe(false);
    expect(matchValue({ null_match: {} }, null)).toBe(true);
    expect(matchValue({ double_match: { range: { start: 1, end: 2 } } }, 1.5)).toBe(true);
    expect(matchValue({ bool_match: true }, true)).toBe(true);
  });
});

describe("the ratings sidecar's RBAC filters istiod wrote (bookinfo.yaml deny-delete and ratings-viewer)", () => {
  const inbound = loadIstiodDump('ratings').listeners.find((l) => l.name === 'virtualInbound')!;
  const chain = inbound.filter_chains!.find((c) => c.name === 'virtualInbound-catchall-http')!;
  const hcm = must(chain.filters[0], 'chain.filters[0]').typed_config as unknown as HttpConnectionManager;
  const rbacFilters = hcm.http_filters!.filter((f) => f.name === 'envoy.filters.http.rbac').map((f) => (f.typed_config as unknown as HttpRbac).rules!);
  const [deny = {}, allow = {}] = rbacFilters;
  const reviews = 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews';
  const request = (method: string, peerPrincipal: string, claims?: Record<string, JsonValue>): RbacFacts => ({
    headers: { ':method': method, ':path': '/ratings/0' },
    destinationPort: 9080,
    peerPrincipal,
    metadata: claims ? { 'envoy.filters.http.jwt_authn': { payload: claims } } : undefined,
  });
  it('DENY first, then ALLOW, as istiod orders them', () => {
    expect(rbacFilters).toHaveLength(2);
    expect(deny.action).toBe('DENY');
    expect(allow.action ?? 'ALLOW').toBe('ALLOW');
  });
  it('deny-delete: DELETE with request.auth.claims[scope] admin is denied, as a list (space_delimited_claims) or a string', () => {
    expect(evaluateRbac(deny, request('DELETE', reviews, { scope: ['read', 'admin'] }))).toEqual({
      allowed: false,
      matchedPolicy: 'ns[default]-policy[deny-delete]-rule[0]',
    });
    expect(evaluateRbac(deny, request('DELETE', reviews, { scope: 'admin' })).allowed).toBe(false);
    expect(evaluateRbac(deny, request('DELETE', reviews, { scope: ['read'] })).allowed).toBe(true);
    expect(evaluateRbac(deny, request('DELETE', reviews)).allowed).toBe(true);
    expect(evaluateRbac(deny, request('GET', reviews, { scope: ['admin'] })).allowed).toBe(true);
  });
  it('ratings-viewer: only GET from the reviews service account is allowed', () => {
    expect(evaluateRbac(allow, request('GET', reviews))).toEqual({ allowed: true, matchedPolicy: 'ns[default]-policy[ratings-viewer]-rule[0]' });
    expect(evaluateRbac(allow, request('GET', 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage')).allowed).toBe(false);
    expect(evaluateRbac(allow, request('POST', reviews)).allowed).toBe(false);
    expect(evaluateRbac(allow, { headers: { ':method': 'GET' }, destinationPort: 9080 }).allowed).toBe(false);
  });
});
