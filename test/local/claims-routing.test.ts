// Routing on JWT claims at the ingress gateway: a VirtualService header key `@request.auth.claims.<path>` (or
// `[a][b]`) becomes a metadata match on jwt_authn's verified payload (istio/istio pkg/jwt/routing.go ToRoutingClaim,
// pilot/pkg/networking/core/route/route.go translateMetadataMatch, authz/matcher/metadata.go MetadataListMatcher: a
// string claim, or any element of a list claim).
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/envoy/model/index.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';
import { bookinfoRegistryInput, productpageProxy, routeIn } from '../support/envoy-routing.ts';
import { parseVirtualService, routingClaim } from '../../src/istio/networking/virtual-service.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { applyAndWait, mesh, yaml, type MeshHandle } from './helpers.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const JWKS = JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] });
const ISSUER = 'testing@secure.istio.io';

function token(payload: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${enc({ iss: ISSUER, sub: 'u', exp: Math.floor(Date.now() / 1000) + 3600, ...payload })}`;
  return `${input}.${sign('sha256', Buffer.from(input), rsa.privateKey).toString('base64url')}`;
}

describe('@request.auth.claims header keys (ToRoutingClaim)', () => {
  it('dot and bracket forms give the claim path, keeping its case; anything else is a header', () => {
    expect(routingClaim('@request.auth.claims.groups')).toEqual(['groups']);
    expect(routingClaim('@request.auth.claims.Nested.Key')).toEqual(['Nested', 'Key']);
    expect(routingClaim('@request.auth.claims[a.b][c]')).toEqual(['a.b', 'c']);
    expect(routingClaim('@request.auth.claims')).toBeUndefined();
    expect(routingClaim('end-user')).toBeUndefined();
  });

  it('matches a string claim or any element of a list; no payload (a sidecar, no token) never matches', () => {
    const vs = parseVirtualService({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'v' },
      spec: {
        hosts: ['reviews'],
        http: [
          {
            match: [{ headers: { '@request.auth.claims.groups': { exact: 'admin' } }, withoutHeaders: { '@request.auth.claims[org][id]': { prefix: 'x' } } }],
            route: [{ destination: { host: 'productpage' } }],
          },
        ],
      },
    } as K8sObject);
    expect(vs.http[0]?.match[0]?.headers).toEqual([]);
    // istiod's translation: route dynamic_metadata on jwt_authn's payload; Envoy's route matching runs it.
    const routes = buildRoutes(bookinfoRegistryInput([vs]), productpageProxy);
    const matches = (payload?: Record<string, unknown>) =>
      routeIn(routes, '9080', { metadata: payload ? { 'envoy.filters.http.jwt_authn': { payload: payload as JsonValue } } : undefined })?.route?.cluster ===
      'outbound|9080||productpage.default.svc.cluster.local';
    expect(matches({ groups: ['dev', 'admin'] })).toBe(true);
    expect(matches({ groups: 'admin' })).toBe(true);
    expect(matches({ groups: ['dev'] })).toBe(false);
    expect(matches({ groups: 'admin', org: { id: 'x1' } })).toBe(false);
    expect(matches(undefined)).toBe(false);
  });
});

describe('on the local ingress gateway', () => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 37 });
  });
  afterAll(async () => m?.close());

  it('a request whose verified token has the claim takes the claim route; others fall through', async () => {
    await applyAndWait(
      m,
      yaml(`
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ingress-jwt, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  jwtRules: [{ issuer: "${ISSUER}", jwks: '${JWKS}' }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo }
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match: [{ uri: { exact: /productpage }, headers: { "@request.auth.claims.groups": { exact: group1 } } }]
    route: [{ destination: { host: productpage, port: { number: 9080 } } }]
  - route: [{ destination: { host: ratings, port: { number: 9080 } } }]
`),
    );
    const get = async (auth?: string) => {
      const res = await fetch(`${m.gatewayUrl}/productpage`, { headers: auth ? { authorization: `Bearer ${auth}` } : {} });
      return (await res.text()).includes('The Comedy of Errors');
    };
    expect(await get(token({ groups: ['group1', 'group2'] }))).toBe(true);
    expect(await get(token({ groups: ['group2'] }))).toBe(false);
    expect(await get()).toBe(false);
  });
});
