// The HTTP filters of the ingress gateway and of a sidecar's outbound side under both control planes: under istiod
// the gateway runs the filters of istiod's listener for its port (`0.0.0.0_8080`: local_ratelimit, jwt_authn, rbac in
// istiod's order; gateway.go buildGatewayListeners, EnvoyFilter patches in the GATEWAY context) and a sidecar's call
// the filters of its outbound HTTP listener for the called port (`0.0.0.0_9080`, SIDECAR_OUTBOUND patches); built in
// otherwise. Same requests, same answers.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { localRateLimitEnvoyFilter } from '../../src/istio/ratelimit/envoy-filter.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { applyAndWait, counters, mesh, page, restoreBaseline, sum } from './helpers.ts';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
const JWKS = JSON.stringify({ keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256' }] });
const ISSUER = 'gateway@secure.istio.io';

function token(key = keys.privateKey): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${enc({ iss: ISSUER, sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

const atGateway = { matchLabels: { istio: 'ingressgateway' } };
const denyApi: K8sObject = {
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'deny-api', namespace: 'istio-system' },
  spec: { selector: atGateway, action: 'DENY', rules: [{ to: [{ operation: { paths: ['/api/*'] } }] }] },
};
const jwt: K8sObject = {
  apiVersion: 'security.istio.io/v1',
  kind: 'RequestAuthentication',
  metadata: { name: 'gateway-jwt', namespace: 'istio-system' },
  spec: { selector: atGateway, jwtRules: [{ issuer: ISSUER, jwks: JWKS }] },
};
const rateLimit = (() => {
  const filter = localRateLimitEnvoyFilter({
    name: 'gateway-limit',
    namespace: 'istio-system',
    app: 'unused',
    maxTokens: 4,
    tokensPerFill: 4,
    fillInterval: '3600s',
  });
  const spec = filter.spec as { workloadSelector: unknown; configPatches: { match: { context: string } }[] };
  spec.workloadSelector = { labels: { istio: 'ingressgateway' } };
  for (const patch of spec.configPatches) patch.match.context = 'GATEWAY';
  return filter;
})();

describe('the gateway runs its listener filters', () => {
  for (const controlPlane of ['istiod', 'builtin'] as const) {
    it(`${controlPlane}: a DENY policy and a JWT rule at the gateway, then a local rate limit of 4 tokens`, async () => {
      const m = await mesh({ controlPlane, seed: 6 });
      try {
        await applyAndWait(m, [denyApi, jwt]);
        const status = async (path: string, authorization?: string) =>
          (await fetch(`${m.gatewayUrl}${path}`, { headers: authorization ? { authorization } : {} })).status;
        expect(await status('/productpage')).toBe(200);
        expect(await status('/api/v1/products')).toBe(403);
        expect(await status('/productpage', `Bearer ${token()}`)).toBe(200);
        expect(await status('/productpage', `Bearer ${token(forger.privateKey)}`)).toBe(401);
        const denied = sum(await counters(m), 'envoy_http_rbac', { authz_enforce_result: 'denied' }, 'istio-ingressgateway');
        expect(denied).toBeGreaterThanOrEqual(1);
        await restoreBaseline(m, [denyApi, jwt]);

        await applyAndWait(m, [rateLimit]);
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) statuses.push(await status('/productpage'));
        expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
        await restoreBaseline(m, [rateLimit]);
      } finally {
        await m.close();
      }
    }, 90_000);
  }
});

const outboundLimit = (() => {
  const filter = localRateLimitEnvoyFilter({ name: 'productpage-calls', app: 'productpage', maxTokens: 4, tokensPerFill: 4, fillInterval: '3600s' });
  for (const patch of (filter.spec as { configPatches: { match: { context: string } }[] }).configPatches) patch.match.context = 'SIDECAR_OUTBOUND';
  return filter;
})();

describe("a sidecar's outbound calls run its outbound listener's filters", () => {
  for (const controlPlane of ['istiod', 'builtin'] as const) {
    it(`${controlPlane}: 4 tokens on productpage's outbound side serve two pages (details and reviews each), the third page gets 429s from its own sidecar`, async () => {
      const m = await mesh({ controlPlane, seed: 7 });
      try {
        await applyAndWait(m, [outboundLimit]);
        const served = [await page(m), await page(m), await page(m)];
        expect(served.map((p) => [p.detailsError, p.reviews === 'reviews-error'])).toEqual([
          [false, false],
          [false, false],
          [true, true],
        ]);
        const limited = sum(await counters(m), 'envoy_http_local_rate_limiter_http_local_rate_limit_rate_limited', {}, 'productpage-v1');
        expect(limited).toBeGreaterThanOrEqual(2);
        await restoreBaseline(m, [outboundLimit]);
      } finally {
        await m.close();
      }
    }, 90_000);
  }
});
