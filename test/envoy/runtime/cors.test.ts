// Envoy's CORS filter (source/extensions/filters/http/cors/cors_filter.cc decodeHeaders / encodeHeaders) over
// CorsPolicy as istiod writes it (route.go TranslateCORSPolicy).
import { describe, expect, it } from 'vitest';
import type { CorsPolicy } from '../../../src/envoy/model/index.ts';
import { corsDecision } from '../../../src/envoy/runtime/cors.ts';

const policy: CorsPolicy = {
  allow_origin_string_match: [{ exact: 'https://app.example' }, { prefix: 'http://localhost' }],
  allow_methods: 'GET,POST',
  allow_headers: 'authorization,content-type',
  expose_headers: 'x-request-id',
  max_age: '86400',
  allow_credentials: true,
  filter_enabled: { default_value: { numerator: 100 } },
  forward_not_matching_preflights: true,
};
const headers = (h: Record<string, string>) => (name: string) => h[name];
const always = () => 0;

describe('CORS filter', () => {
  it('answers a preflight from an allowed origin itself, with the allow headers', () => {
    expect(corsDecision([policy], 'OPTIONS', headers({ origin: 'http://localhost:3000', 'access-control-request-method': 'POST' }), always)).toEqual({
      kind: 'preflight',
      headers: {
        'access-control-allow-origin': 'http://localhost:3000',
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET,POST',
        'access-control-allow-headers': 'authorization,content-type',
        'access-control-max-age': '86400',
      },
    });
  });

  it('forwards a preflight from another origin (forward_not_matching_preflights, default true), or answers it without allow-origin when false', () => {
    const evil = headers({ origin: 'https://evil.example', 'access-control-request-method': 'POST' });
    expect(corsDecision([policy], 'OPTIONS', evil, always)).toEqual({ kind: 'continue', responseHeaders: {} });
    const { forward_not_matching_preflights: _, ...unset } = policy;
    expect(corsDecision([unset], 'OPTIONS', evil, always)).toEqual({ kind: 'continue', responseHeaders: {} });
    const ignore = corsDecision([{ ...policy, forward_not_matching_preflights: false }], 'OPTIONS', evil, always);
    expect(ignore.kind).toBe('preflight');
    expect(ignore.kind === 'preflight' ? ignore.headers['access-control-allow-origin'] : 'not a preflight').toBeUndefined();
  });

  it('an OPTIONS without Access-Control-Request-Method is no preflight; any request from an allowed origin gets the origin back', () => {
    expect(corsDecision([policy], 'OPTIONS', headers({ origin: 'https://app.example' }), always)).toEqual({
      kind: 'continue',
      responseHeaders: {
        'access-control-allow-origin': 'https://app.example',
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'x-request-id',
      },
    });
    expect(corsDecision([policy], 'GET', headers({ origin: 'https://evil.example' }), always)).toEqual({ kind: 'continue', responseHeaders: {} });
  });

  it('no Origin, no policy, or a filter_enabled draw above the fraction: nothing happens', () => {
    expect(corsDecision([policy], 'GET', headers({}), always)).toEqual({ kind: 'none' });
    expect(corsDecision([], 'GET', headers({ origin: 'https://app.example' }), always)).toEqual({ kind: 'none' });
    const half = { ...policy, filter_enabled: { default_value: { numerator: 50 } } };
    expect(corsDecision([half], 'GET', headers({ origin: 'https://app.example' }), () => 0.5).kind).toBe('none');
    expect(corsDecision([half], 'GET', headers({ origin: 'https://app.example' }), () => 0.49).kind).toBe('continue');
  });

  it("\"*\" methods and headers echo the request's; each setting is the route's, else the virtual host's", () => {
    const route: CorsPolicy = { allow_origin_string_match: [{ exact: 'https://app.example' }], allow_methods: '*' };
    const vhost: CorsPolicy = { allow_origin_string_match: [{ exact: 'https://other.example' }], allow_headers: '*', max_age: '60' };
    const d = corsDecision(
      [route, vhost],
      'OPTIONS',
      headers({ origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-a' }),
      always,
    );
    expect(d).toEqual({
      kind: 'preflight',
      headers: {
        'access-control-allow-origin': 'https://app.example',
        'access-control-allow-methods': 'PUT',
        'access-control-allow-headers': 'x-a',
        'access-control-max-age': '60',
      },
    });
  });
});
