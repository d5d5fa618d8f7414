// The header checks of istio/istio pkg/config/validation (virtualservice.go validateHTTPRoute, validation.go
// validateHTTPRouteDestinations, ValidateHTTPHeaderWithAuthorityOperationName, ValidateHTTPHeaderOperationName,
// ValidateHTTPHeaderValue, header_value_validator.go validateHeaderValue, ValidateHTTPHeaderNameOrJwtClaimRoute) and
// Envoy's base.proto HeaderValue.key rule, case by case.
import { describe, expect, it } from 'vitest';
import {
  headerOperationProblem,
  headerValueProblem,
  matchHeaderNameProblem,
  virtualServiceHeaderProblems,
} from '../../../src/istio/networking/header-validation.ts';
import { parseVirtualService } from '../../../src/istio/networking/virtual-service.ts';

describe('Istio header operation validation', () => {
  it('request set/add: pseudo-headers are refused except :authority; host is an authority rewrite (ValidateHTTPHeaderWithAuthorityOperationName)', () => {
    for (const op of ['set', 'add'] as const) {
      for (const name of [':path', ':method', ':scheme', ':status', ':x'])
        expect(headerOperationProblem('request', op, name, 'v')).toBe(
          `invalid header ${JSON.stringify(name)}: header cannot have ":" prefix (refused by Istio's validation)`,
        );
      for (const name of [':authority', 'host', 'Host', 'x-user']) expect(headerOperationProblem('request', op, name, 'v')).toBeUndefined();
      expect(headerOperationProblem('request', op, '', 'v')).toMatch(/^header name cannot be empty/);
    }
  });

  it('request remove and every response operation: host and any ":" name are refused (ValidateHTTPHeaderOperationName)', () => {
    const cases: ['request' | 'response', 'set' | 'add' | 'remove'][] = [
      ['request', 'remove'],
      ['response', 'set'],
      ['response', 'add'],
      ['response', 'remove'],
    ];
    for (const [direction, op] of cases) {
      expect(headerOperationProblem(direction, op, 'HOST', 'v')).toBe(`invalid header "HOST": cannot set Host header (refused by Istio's validation)`);
      expect(headerOperationProblem(direction, op, ':authority', 'v')).toMatch(/header cannot have ":" prefix/);
      expect(headerOperationProblem(direction, op, 'x-ok', 'v')).toBeUndefined();
    }
  });

  it('NUL, CR or LF in a name is refused as Envoy refuses the route (base.proto HeaderValue.key, HTTP_HEADER_NAME not strict)', () => {
    expect(headerOperationProblem('request', 'set', 'x-a\r\nx-b', 'v')).toBe(
      'invalid header "x-a\\r\\nx-b": a header name cannot contain NUL, CR or LF (Envoy refuses the route configuration)',
    );
    expect(headerOperationProblem('response', 'remove', 'x\u0000')).toMatch(/cannot contain NUL, CR or LF/);
  });

  it('values: control characters but tab are refused; the %VAR% formatter syntax is checked as validateHeaderValue does', () => {
    expect(headerValueProblem('a\r\nInjected: yes')).toMatch(/^header value configuration "a\\r\\nInjected: yes" is invalid/);
    expect(headerValueProblem('a\u007f')).toMatch(/is invalid/);
    // Istio's own examples (validation.go ValidateHTTPHeaderValue): valid "foo", "%HOSTNAME%", "100%%", "prefix %HOSTNAME% suffix".
    for (const ok of ['', 'a\tb', 'foo', '%HOSTNAME%', '100%%', 'prefix %HOSTNAME% suffix', '%REQ(x-a)%', '%ENVIRONMENT(["a", "b"])%'])
      expect(headerValueProblem(ok), ok).toBeUndefined();
    // ... invalid "abc%123", "%START_TIME%%".
    expect(headerValueProblem('abc%123')).toBe(`header value configuration: invalid header configuration. Un-terminated variable expression "abc%123"`);
    expect(headerValueProblem('%START_TIME%%')).toBe('header value configuration: invalid header configuration. Un-escaped %');
    expect(headerValueProblem('%X(["a" b])%')).toMatch(/Expecting ',', '\]', or whitespace/);
  });

  it('match header names: tokens, pseudo-headers and JWT claims (ValidateHTTPHeaderNameOrJwtClaimRoute)', () => {
    for (const ok of ['end-user', ':authority', ':path', '@request.auth.claims.group', '@request.auth.claims[a][b]'])
      expect(matchHeaderNameProblem(ok), ok).toBeUndefined();
    expect(matchHeaderNameProblem('x user')).toBe('header name "x user" is not a valid header name');
    expect(matchHeaderNameProblem(':other')).toMatch(/not a valid header name/);
    expect(matchHeaderNameProblem('@request.auth.claims.')).toMatch(/not a valid header name/);
  });

  it('finds problems at route and destination level with their paths', () => {
    const problems = virtualServiceHeaderProblems({
      hosts: ['reviews'],
      http: [
        {
          headers: { request: { set: { ':path': '/x' } }, response: { remove: ['host'] } },
          match: [{ headers: { 'bad name': { exact: 'x' } } }],
          route: [{ destination: { host: 'reviews' }, headers: { request: { add: { 'x-a': 'b\nc' } } } }],
        },
      ],
    });
    expect(problems.map((p) => p.path)).toEqual([
      ['spec', 'http', 0, 'headers', 'request', 'set', ':path'],
      ['spec', 'http', 0, 'headers', 'response', 'remove', 0],
      ['spec', 'http', 0, 'route', 0, 'headers', 'request', 'add', 'x-a'],
      ['spec', 'http', 0, 'match', 0, 'headers', 'bad name'],
    ]);
  });
});

describe('the local target refuses header operations it cannot perform, and never sends them broken', () => {
  const vs = (headers: unknown) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews' },
    spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], headers }] },
  });
  const refusal = (headers: unknown): string => {
    try {
      parseVirtualService(vs(headers));
    } catch (error) {
      return (error as { format(): string }).format();
    }
    return 'accepted';
  };

  it('an Istio refusal with the same path and message as the loader gives', () => {
    expect(refusal({ request: { set: { ':method': 'POST' } } })).toBe(
      `VirtualService reviews: spec.http[0].headers.request.set[":method"]: invalid header ":method": header cannot have ":" prefix (refused by Istio's validation)`,
    );
  });

  it("an authority rewrite through headers (pilot route.go translateAppendHeaders) is the route's authority, not a dropped header", () => {
    const parsed = parseVirtualService(vs({ request: { set: { host: 'ratings' } } }));
    expect(parsed.http[0]?.headers?.request?.authority).toBe('ratings');
    expect(parsed.http[0]?.headers?.request?.set).toEqual([]);
  });

  it("%VAR% formatters are refused; %% is Envoy's literal %", () => {
    expect(refusal({ response: { set: { 'x-host': '%HOSTNAME%' } } })).toMatch(/the Envoy formatter %HOSTNAME% is not evaluated by the local target/);
    const parsed = parseVirtualService(vs({ response: { set: { 'x-share': '100%%' } } }));
    expect(parsed.http[0]?.headers?.response?.set).toEqual([['x-share', '100%']]);
  });

  it('names that are not tokens and values beyond Latin-1 are refused (Node cannot send them)', () => {
    expect(refusal({ request: { set: { 'x a': 'b' } } })).toMatch(
      /request\.set\["x a"\]: not supported by the local target: header name "x a" is not an RFC 7230 token/,
    );
    expect(refusal({ response: { add: { 'x-a': 'price €' } } })).toMatch(/beyond Latin-1/);
  });
});
