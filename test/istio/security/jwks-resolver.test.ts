// istiod's JWKS resolver as the local target runs it (pilot/pkg/model/jwks_resolver.go GetPublicKey): one fetch per
// (issuer, jwksUri), cached, a failure cached too (PublicOnlyJwks until istiod's background retry, which a local run
// does not make).
import { describe, expect, it } from 'vitest';
import { JwksCache, publicOnlyJwks } from '../../../src/istio/security/jwks-resolver.ts';

describe('JwksCache', () => {
  it('fetches each (issuer, uri) once, keeps the document or the failure', async () => {
    const cache = new JwksCache();
    const asked: string[] = [];
    const fetch = (uri: string, timeoutMs: number) => {
      asked.push(`${uri} ${timeoutMs}`);
      return uri.includes('down') ? Promise.reject(new Error('connect ECONNREFUSED')) : Promise.resolve(`{"keys":[],"from":"${uri}"}`);
    };
    const rules = [
      { issuer: 'a', uri: 'https://idp/jwks', timeoutMs: 5000 },
      { issuer: 'b', uri: 'https://idp/jwks', timeoutMs: 2000 },
      { issuer: 'a', uri: 'https://down/jwks', timeoutMs: 5000 },
      { issuer: 'a', uri: 'https://idp/jwks', timeoutMs: 5000 },
    ];
    const outcomes = await cache.resolve(rules, fetch);
    expect(outcomes.map((o) => [o.issuer, o.uri, o.error ?? 'ok'])).toEqual([
      ['a', 'https://idp/jwks', 'ok'],
      ['b', 'https://idp/jwks', 'ok'],
      ['a', 'https://down/jwks', 'connect ECONNREFUSED'],
    ]);
    expect(cache.lookup('b', 'https://idp/jwks')).toBe('{"keys":[],"from":"https://idp/jwks"}');
    expect(cache.lookup('a', 'https://down/jwks')).toBeUndefined();
    expect(await cache.resolve(rules, fetch)).toEqual([]);
    expect(asked).toEqual(['https://idp/jwks 5000', 'https://idp/jwks 2000', 'https://down/jwks 5000']);
  });

  it('the public-only JWKS has one RSA public key and nothing private', () => {
    const keys = (JSON.parse(publicOnlyJwks()) as { keys: Record<string, unknown>[] }).keys;
    expect(keys).toHaveLength(1);
    expect(Object.keys(keys[0]!).sort()).toEqual(['e', 'kty', 'n']);
    expect(publicOnlyJwks()).toBe(publicOnlyJwks());
  });
});
