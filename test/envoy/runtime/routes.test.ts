import type { Route } from '../../../src/envoy/model/index.ts';
import { describe, expect, it } from 'vitest';
import type { HeaderMatcher, RouteConfiguration, VirtualHost } from '../../../src/envoy/model/index.ts';
import { matchHeader } from '../../../src/envoy/runtime/matchers.ts';
import { compileSafeRegex, UnsupportedRegexError } from '../../../src/envoy/runtime/re2.ts';
import {
  applyHeaderMutations,
  headerMutationLevels,
  perFilterConfig,
  pickCluster,
  selectRoute,
  selectVirtualHost,
  redirectOf,
  type MutableHeaders,
} from '../../../src/envoy/runtime/routes.ts';
import { seededRandom } from '../../../src/assertions/stats/simulate.ts';
import { draws, loadIstiodDump } from './fixtures.ts';

const vh = (name: string, ...domains: string[]): VirtualHost => ({ name, domains, routes: [{ match: { prefix: '/' }, route: { cluster: name } }] });
const config = (ignorePort = false): RouteConfiguration => ({
  name: 'rc',
  ignore_port_in_host_matching: ignorePort,
  virtual_hosts: [
    vh('exact', 'www.example.com', 'Api.Example.com:8080'),
    vh('suffix-short', '*.com'),
    vh('suffix-long', '*.example.com'),
    vh('prefix', 'www.*'),
    vh('prefix-long', 'www.exa*'),
    vh('any', '*'),
  ],
});

describe('selectVirtualHost (config_impl.cc RouteMatcher::findVirtualHost)', () => {
  it('exact first, case-insensitively', () => {
    expect(selectVirtualHost(config(), 'WWW.example.com')?.name).toBe('exact');
    expect(selectVirtualHost(config(), 'api.example.com:8080')?.name).toBe('exact');
  });
  it('then the longest *suffix, then the longest prefix*, then *', () => {
    expect(selectVirtualHost(config(), 'a.example.com')?.name).toBe('suffix-long');
    expect(selectVirtualHost(config(), 'a.b.com')?.name).toBe('suffix-short');
    expect(selectVirtualHost(config(), 'www.example.org')?.name).toBe('prefix-long');
    expect(selectVirtualHost(config(), 'www.x.org')?.name).toBe('prefix');
    expect(selectVirtualHost(config(), 'other')?.name).toBe('any');
  });
  it('a wildcard stands for at least one character (findWildcardVirtualHost skips lengths >= the host)', () => {
    expect(selectVirtualHost(config(), '.example.com')?.name).toBe('suffix-short');
    expect(selectVirtualHost(config(), '.com')?.name).toBe('any');
  });
  it('the port is part of the host unless ignore_port_in_host_matching (HeaderUtility::getPortStart, IPv6 aware)', () => {
    expect(selectVirtualHost(config(), 'www.example.com:80')?.name).toBe('prefix-long');
    expect(selectVirtualHost(config(true), 'www.example.com:80')?.name).toBe('exact');
    const v6: RouteConfiguration = { name: 'v6', ignore_port_in_host_matching: true, virtual_hosts: [vh('v6', '[::1]'), vh('any', '*')] };
    expect(selectVirtualHost(v6, '[::1]:9080')?.name).toBe('v6');
    expect(selectVirtualHost(v6, '[::1]')?.name).toBe('v6');
  });
  it('no match and no * → none; a domain in two virtual hosts is refused', () => {
    expect(selectVirtualHost({ name: 'x', virtual_hosts: [vh('a', 'a')] }, 'b')).toBeUndefined();
    expect(() => selectVirtualHost({ name: 'x', virtual_hosts: [vh('a', 'a'), vh('b', 'A')] }, 'a')).toThrow(/domain "A" is in more than one virtual host/);
  });
});

describe('selectRoute (RouteEntryImplBase::matchRoute)', () => {
  const host: VirtualHost = {
    name: 'h',
    domains: ['*'],
    routes: [
      { name: 'exact', match: { path: '/Exact' } },
      { name: 'exact-ci', match: { path: '/ci', case_sensitive: false } },
      { name: 'regex', match: { safe_regex: { regex: '/r/[0-9]+' } } },
      { name: 'sep', match: { path_separated_prefix: '/api' } },
      {
        name: 'query',
        match: {
          prefix: '/q',
          query_parameters: [
            { name: 'debug', string_match: { exact: 'on' } },
            { name: 'x', present_match: true },
          ],
        },
      },
      { name: 'prefix', match: { prefix: '/P' } },
    ],
  };
  const route = (path: string, headers = {}) => selectRoute(host, { path, headers })?.name;
  it('path is exact on the path without query; case_sensitive false folds case', () => {
    expect(route('/Exact?a=1')).toBe('exact');
    expect(route('/exact')).toBeUndefined();
    expect(route('/CI#frag')).toBe('exact-ci');
  });
  it('safe_regex must match the whole path (RE2::FullMatch)', () => {
    expect(route('/r/123?x')).toBe('regex');
    expect(route('/r/123/more')).toBeUndefined();
  });
  it('path_separated_prefix needs the end or a "/" after the prefix', () => {
    expect(route('/api')).toBe('sep');
    expect(route('/api/v1?x=1')).toBe('sep');
    expect(route('/apiv1')).toBeUndefined();
  });
  it('query parameters: first value only, decoded; present_match', () => {
    expect(route('/q?debug=on&x')).toBe('query');
    expect(route('/q?debug=%6Fn&x=1')).toBe('query');
    expect(route('/q?debug=off&debug=on&x')).toBeUndefined();
    expect(route('/q?debug=on')).toBeUndefined();
  });
  it('prefix is case-sensitive by default', () => {
    expect(route('/Pa')).toBe('prefix');
    expect(route('/pa')).toBeUndefined();
  });
  it('runtime_fraction uses the injected draw (featureEnabled: draw % denominator < numerator)', () => {
    const split: VirtualHost = {
      name: 's',
      domains: ['*'],
      routes: [
        { name: 'tenth', match: { prefix: '/', runtime_fraction: { default_value: { numerator: 10 } } } },
        { name: 'rest', match: { prefix: '/' } },
      ],
    };
    expect(selectRoute(split, { path: '/', headers: {}, uniform: draws(0.099) })?.name).toBe('tenth');
    expect(selectRoute(split, { path: '/', headers: {}, uniform: draws(0.1) })?.name).toBe('rest');
    expect(() => selectRoute(split, { path: '/', headers: {} })).toThrow(/runtime_fraction needs a uniform draw/);
  });
});

describe('HeaderMatcher (header_utility.cc)', () => {
  const m = (matcher: Omit<HeaderMatcher, 'name'>, headers: Record<string, string | string[]>) => matchHeader({ name: 'X-H', ...matcher }, headers);
  it('string_match exact/prefix/suffix/contains with ignore_case; safe_regex ignores ignore_case', () => {
    expect(m({ string_match: { exact: 'AbC', ignore_case: true } }, { 'x-h': 'abc' })).toBe(true);
    expect(m({ string_match: { exact: 'AbC' } }, { 'x-h': 'abc' })).toBe(false);
    expect(m({ string_match: { prefix: 'ab', ignore_case: true } }, { 'x-h': 'ABc' })).toBe(true);
    expect(m({ string_match: { suffix: 'bc' } }, { 'x-h': 'abc' })).toBe(true);
    expect(m({ string_match: { contains: 'B', ignore_case: true } }, { 'x-h': 'abc' })).toBe(true);
    expect(m({ string_match: { safe_regex: { regex: 'a.c' }, ignore_case: true } }, { 'x-h': 'ABC' })).toBe(false);
  });
  it('a repeated header is matched as its values joined with ","', () => {
    expect(m({ exact_match: 'a,b' }, { 'x-h': ['a', 'b'] })).toBe(true);
  });
  it('an absent header matches nothing, inverted or not, unless treat_missing_header_as_empty', () => {
    expect(m({ exact_match: 'a' }, {})).toBe(false);
    expect(m({ exact_match: 'a', invert_match: true }, {})).toBe(false);
    expect(m({ exact_match: 'a', invert_match: true, treat_missing_header_as_empty: true }, {})).toBe(true);
    expect(m({ exact_match: 'a', invert_match: true }, { 'x-h': 'b' })).toBe(true);
  });
  it('present_match (and a matcher with no specifier) checks presence; invert_match flips it', () => {
    expect(m({}, { 'x-h': '' })).toBe(true);
    expect(m({ present_match: true }, {})).toBe(false);
    expect(m({ present_match: false }, {})).toBe(true);
    expect(m({ present_match: true, invert_match: true }, {})).toBe(true);
    expect(m({ present_match: false, invert_match: true }, {})).toBe(false);
    expect(m({ present_match: false }, { 'x-h': 'v' })).toBe(false);
    expect(m({ present_match: false, treat_missing_header_as_empty: true }, {})).toBe(false);
  });
  it('an empty exact_match matches any value of a present header (HeaderMatchType::Value)', () => {
    expect(m({ exact_match: '' }, { 'x-h': 'anything' })).toBe(true);
    expect(m({ exact_match: '' }, {})).toBe(false);
  });
  it('range_match is [start, end) on an integer value; anything else does not match', () => {
    expect(m({ range_match: { start: -10, end: 0 } }, { 'x-h': '-1' })).toBe(true);
    expect(m({ range_match: { start: -10, end: 0 } }, { 'x-h': '0' })).toBe(false);
    expect(m({ range_match: { start: -10, end: 0 } }, { 'x-h': '-1.5' })).toBe(false);
    expect(m({ range_match: { start: -10, end: 0 }, invert_match: true }, { 'x-h': '-1' })).toBe(false);
  });
});

describe('RE2 as a JS RegExp (regex.cc CompiledGoogleReMatcher)', () => {
  it('anchors the pattern as a full match and takes (?P<name>…)', () => {
    expect(compileSafeRegex('a|b').test('ab')).toBe(false);
    expect(compileSafeRegex('(?P<v>v[0-9])').test('v1')).toBe(true);
  });
  it.each([
    ['(?i)abc', /inline flags/],
    ['a(?=b)', /look-around/],
    ['(a)\\1', /back-references/],
    ['\\Aabc\\z', /RE2-only/],
    ['[[:alpha:]]', /POSIX/],
    ['\\pL', /one-letter/],
    ['a{', /JavaScript runs/],
  ])('refuses %s with a clear error', (pattern, reason) => {
    expect(() => compileSafeRegex(pattern)).toThrow(UnsupportedRegexError);
    expect(() => compileSafeRegex(pattern)).toThrow(reason);
  });
});

describe('pickCluster (pickWeightedCluster), perFilterConfig and header mutations', () => {
  const action = {
    weighted_clusters: {
      clusters: [
        { name: 'a', weight: 1 },
        { name: 'zero', weight: 0 },
        { name: 'b', weight: 3 },
      ],
    },
  };
  it('a draw in [0, total) falls into the cluster ranges in order; weight 0 is never picked', () => {
    expect(pickCluster(action, draws(0.2499)).name).toBe('a');
    expect(pickCluster(action, draws(0.25)).name).toBe('b');
    expect(pickCluster({ cluster: 'c' }, draws()).name).toBe('c');
  });
  it('the most specific typed_per_filter_config wins: weighted cluster > route > virtual host > route configuration', () => {
    const cfg = (v: string) => ({ f: { '@type': v } }) as never;
    const rc: RouteConfiguration = { name: 'rc', typed_per_filter_config: cfg('rc') };
    const v: VirtualHost = { name: 'v', domains: ['*'], typed_per_filter_config: cfg('vh') };
    const r = { match: { prefix: '/' }, typed_per_filter_config: cfg('route') };
    expect(perFilterConfig('f', r, { name: 'w', weight: 1, typed_per_filter_config: cfg('w') }, v, rc)).toEqual({ '@type': 'w' });
    expect(perFilterConfig('f', r, { name: 'w', weight: 1 }, v, rc)).toEqual({ '@type': 'route' });
    expect(perFilterConfig('f', { match: {} }, undefined, v, rc)).toEqual({ '@type': 'vh' });
    expect(perFilterConfig('f', undefined, undefined, undefined, rc)).toEqual({ '@type': 'rc' });
    expect(perFilterConfig('g', r, undefined, v, rc)).toBeUndefined();
  });
  it('levels apply weighted cluster, route, virtual host, route configuration; removals before additions; append actions', () => {
    const rc: RouteConfiguration = { name: 'rc', request_headers_to_add: [{ header: { key: 'x-level', value: 'rc' }, append: false }] };
    const v: VirtualHost = {
      name: 'v',
      domains: ['*'],
      request_headers_to_remove: ['x-gone'],
      request_headers_to_add: [{ header: { key: 'x-gone', value: 'vh' }, append_action: 'ADD_IF_ABSENT' }],
    };
    const r = { match: { prefix: '/' }, request_headers_to_add: [{ header: { key: 'x-level', value: 'route' } }, { header: { key: 'x-empty', value: '' } }] };
    const w = { name: 'w', weight: 1, request_headers_to_add: [{ header: { key: 'x-only', value: 'w' }, append_action: 'OVERWRITE_IF_EXISTS' as const }] };
    const headers: MutableHeaders = { 'x-gone': 'old', 'x-level': 'client' };
    applyHeaderMutations(headers, headerMutationLevels(rc, v, r, w), 'request');
    expect(headers).toEqual({ 'x-gone': 'vh', 'x-level': 'rc' });
  });
});

describe('the productpage sidecar istiod wrote (bookinfo.yaml reviews VirtualService)', () => {
  const outbound = loadIstiodDump('productpage').routes.find((r) => r.name === '9080')!;
  const route = (authority: string, headers: Record<string, string>, uniform: () => number) => {
    const vhost = selectVirtualHost(outbound, authority)!;
    const chosen = selectRoute(vhost, { path: '/reviews/0', headers })!;
    return { vhost: vhost.name, cluster: pickCluster(chosen.route!, uniform).name };
  };
  it('reviews:9080 with end-user: jason goes to subset v2', () => {
    expect(route('reviews:9080', { 'end-user': 'jason' }, draws())).toEqual({
      vhost: 'reviews.default.svc.cluster.local:9080',
      cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local',
    });
  });
  it('other requests split 80/20 between v1 and v3 over 10 000 seeded draws', () => {
    const random = seededRandom(13);
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const { cluster } = route('reviews.default.svc.cluster.local:9080', { 'end-user': 'ann' }, random.uniform);
      counts.set(cluster, (counts.get(cluster) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['outbound|9080|v1|reviews.default.svc.cluster.local', 'outbound|9080|v3|reviews.default.svc.cluster.local']);
    // Binomial(10 000, 0.8): sd 40; ±200 is five sd.
    expect(Math.abs(counts.get('outbound|9080|v1|reviews.default.svc.cluster.local')! - 8000)).toBeLessThan(200);
  });
  it('an unknown host falls to allow_any → PassthroughCluster', () => {
    expect(route('example.org:9080', {}, draws())).toEqual({ vhost: 'allow_any', cluster: 'PassthroughCluster' });
  });
});

describe('redirects (config_impl.cc RouteEntryImplBase::newUri)', () => {
  const redirect = (r: NonNullable<Route['redirect']>, match: Route['match'] = { prefix: '/' }) => ({ name: 'r', match, redirect: r }) as Route;
  const request = { scheme: 'http', authority: 'shop.example.com:80', path: '/a/b?x=1' };
  it("301 to the same place by default; https_redirect drops the old scheme's default port", () => {
    expect(redirectOf(redirect({ host_redirect: 'new.example.com' }), request)).toEqual({ status: 301, location: 'http://new.example.com/a/b?x=1' });
    expect(redirectOf(redirect({ https_redirect: true }), request)).toEqual({ status: 301, location: 'https://shop.example.com/a/b?x=1' });
    expect(redirectOf(redirect({ https_redirect: true }), { ...request, authority: 'shop.example.com:8080' }).location).toBe(
      'https://shop.example.com:8080/a/b?x=1',
    );
  });
  it('port_redirect replaces the port; response_code sets the status', () => {
    expect(redirectOf(redirect({ port_redirect: 8443, response_code: 'FOUND' }), request)).toEqual({
      status: 302,
      location: 'http://shop.example.com:8443/a/b?x=1',
    });
    expect(redirectOf(redirect({ response_code: 'PERMANENT_REDIRECT' }), request).status).toBe(308);
  });
  it('path_redirect keeps the query unless strip_query or a query of its own; prefix_rewrite rewrites the matched prefix', () => {
    expect(redirectOf(redirect({ path_redirect: '/new' }), request).location).toBe('http://shop.example.com:80/new?x=1');
    expect(redirectOf(redirect({ path_redirect: '/new', strip_query: true }), request).location).toBe('http://shop.example.com:80/new');
    expect(redirectOf(redirect({ path_redirect: '/new?y=2' }), request).location).toBe('http://shop.example.com:80/new?y=2');
    expect(redirectOf(redirect({ prefix_rewrite: '/v2/' }, { prefix: '/a/' }), request).location).toBe('http://shop.example.com:80/v2/b?x=1');
    expect(redirectOf(redirect({ prefix_rewrite: '/v2/', strip_query: true }, { prefix: '/a/' }), request).location).toBe('http://shop.example.com:80/v2/b');
  });
});
