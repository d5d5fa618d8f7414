// Differential fidelity of the authorization filters (issue 13 item 6): the built-in builder's RBAC and ext_authz
// filters (src/istio/xds/authorization-filters.ts) against what istiod's own config generation (tools/istio-translate,
// the pinned 1.31 pilot) writes into every HTTP filter chain of a sidecar's `virtualInbound` listener and of a gateway,
// in order, normalised by the Envoy model's loader and compared by src/fidelity/compare.ts.
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AUTHZ_MESH_CONFIG } from '../../src/fidelity/authz-corpus.ts';
import { authzFidelity, type AuthzFidelitySet } from '../../src/fidelity/authz-fidelity.ts';
import { bookinfoProxies, bookinfoRegistry } from '../../src/fidelity/bookinfo.ts';
import { catalogueSets } from '../../src/fidelity/catalogue.ts';
import { Rand, authorizationCorpus } from '../../src/fidelity/corpus.ts';
import { IstiodTranslator } from '../../src/fidelity/istiod-translator.ts';
import { buildInboundAuthzFilters } from '../../src/istio/xds/authorization-filters.ts';
import type { K8sObject } from '../../src/spec/types.ts';

const translator = IstiodTranslator.start();
afterAll(async () => translator.close());

const registry = bookinfoRegistry();
const proxies = bookinfoProxies(registry);
const sidecars = proxies.filter((p) => p.type === 'sidecar');
// istiod's generation costs about 40 ms a proxy (60 ms a set besides): each corpus set is compared on two sidecars,
// drawn with the set, so that 200 sets cover every workload many times.
const corpusProxies = (index: number) => new Rand(index).some(sidecars, 2);

const policy = (name: string, namespace: string, spec: Record<string, unknown>): K8sObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace },
  spec,
});

describe('the AuthorizationPolicy corpus', () => {
  const sets = authorizationCorpus(1, 200);

  it('is the same for the same seed and differs for another', () => {
    expect(authorizationCorpus(1, 20)).toEqual(sets.slice(0, 20));
    expect(JSON.stringify(authorizationCorpus(2, 20))).not.toBe(JSON.stringify(sets.slice(0, 20)));
  });

  it('covers each action, the dry-run annotation, each binding, each field and each condition key in many sets', () => {
    const count = (test: RegExp) => sets.filter((s) => test.test(JSON.stringify(s.objects))).length;
    const features: Record<string, RegExp> = {
      'ALLOW (written)': /"action":"ALLOW"/,
      DENY: /"action":"DENY"/,
      AUDIT: /"action":"AUDIT"/,
      CUSTOM: /"action":"CUSTOM"/,
      'dry-run': /istio\.io\/dry-run/,
      'version selector': /"version":"v\d"/,
      'root namespace': /"namespace":"istio-system"/,
      targetRef: /"targetRef"/,
      ...Object.fromEntries(
        [
          'principals',
          'requestPrincipals',
          'namespaces',
          'serviceAccounts',
          'trustDomains',
          'ipBlocks',
          'remoteIpBlocks',
          'hosts',
          'methods',
          'paths',
          'ports',
        ].flatMap((f) => [
          [f, new RegExp(`"${f}":`)],
          [`not ${f}`, new RegExp(`"not${f.charAt(0).toUpperCase()}${f.slice(1)}":`)],
        ]),
      ),
      ...Object.fromEntries(
        [
          'request.headers',
          'source.ip',
          'remote.ip',
          'destination.ip',
          'destination.port',
          'connection.sni',
          'source.namespace',
          'source.principal',
          'source.serviceAccount',
          'source.trustDomain',
          'request.auth.principal',
          'request.auth.audiences',
          'request.auth.presenter',
          'request.auth.claims',
        ].map((k) => [`when ${k}`, new RegExp(`"key":"${k.replace(/\./g, '\\.')}`)]),
      ),
    };
    const specs = (s: (typeof sets)[number]) => s.objects.map((o) => o.spec as { action?: string; rules?: unknown[] });
    const rare = [
      ...Object.entries(features).map(([name, test]) => [name, count(test)] as const),
      ['ALLOW (no action)', sets.filter((s) => specs(s).some((p) => p.action === undefined)).length] as const,
      ['no rules', sets.filter((s) => specs(s).some((p) => p.rules === undefined)).length] as const,
      ['empty rules', sets.filter((s) => specs(s).some((p) => p.rules?.length === 0)).length] as const,
    ].filter(([, n]) => n < 5);
    expect(rare).toEqual([]);
    expect(sets.filter((s) => s.meshConfig === undefined).length).toBeGreaterThan(10);
  });
});

describe('authorization filters against istiod', () => {
  it("the catalogue's sets with AuthorizationPolicies: every sidecar's inbound chains carry istiod's filters", async () => {
    const sets = catalogueSets(resolve(import.meta.dirname, '../..')).filter((s) => s.objects.some((o) => o.kind === 'AuthorizationPolicy'));
    expect(sets.length).toBeGreaterThanOrEqual(5);
    const result = await authzFidelity({ istiod: translator, registry, proxies: sidecars, sets, builtin: buildInboundAuthzFilters });
    expect([...result.invalid, ...result.refused, ...result.builtinErrors]).toEqual([]);
    expect(result.lines).toEqual([]);
    // Four HTTP chains per sidecar (9080 mTLS and plaintext, the two passthrough ones).
    expect(result.compared).toBe(sets.length * sidecars.length * 4);
    expect(result.drifted).toBe(0);
  }, 60_000);

  it('200 seeded AuthorizationPolicy sets (authorizationCorpus: every action, dry-run, every field, CUSTOM providers): equal to istiod’s, none refused', async () => {
    const sets = authorizationCorpus(1, 200).map((set, i) => ({ ...set, proxies: corpusProxies(i) }));
    const result = await authzFidelity({ istiod: translator, registry, proxies: [], sets, builtin: buildInboundAuthzFilters });
    expect([...result.invalid, ...result.refused, ...result.builtinErrors]).toEqual([]);
    expect(result.lines.slice(0, 20)).toEqual([]);
    expect(result.compared).toBe(200 * 2 * 4);
    expect(result.drifted).toBe(0);
  }, 120_000);

  it("a gateway's HTTP listener: CUSTOM (a provider with every option), DENY on remote IPs, dry-run ALLOW, root-namespace policies", async () => {
    const set: AuthzFidelitySet = {
      name: 'gateway',
      meshConfig: AUTHZ_MESH_CONFIG,
      objects: [
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'Gateway',
          metadata: { name: 'bookinfo-gateway', namespace: 'default' },
          spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
        },
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'bookinfo', namespace: 'default' },
          spec: { hosts: ['*'], gateways: ['bookinfo-gateway'], http: [{ route: [{ destination: { host: 'productpage', port: { number: 9080 } } }] }] },
        },
        policy('ext', 'istio-system', {
          selector: { matchLabels: { istio: 'ingressgateway' } },
          action: 'CUSTOM',
          provider: { name: 'opa-strict' },
          rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }],
        }),
        policy('block', 'istio-system', {
          action: 'DENY',
          rules: [{ from: [{ source: { remoteIpBlocks: ['203.0.113.0/24'], notIpBlocks: ['10.0.0.0/8'] } }] }],
        }),
        {
          ...policy('viewers', 'istio-system', {
            selector: { matchLabels: { app: 'istio-ingressgateway' } },
            rules: [{ to: [{ operation: { methods: ['GET', 'HEAD'] } }] }],
          }),
          metadata: { name: 'viewers', namespace: 'istio-system', annotations: { 'istio.io/dry-run': 'true' } },
        },
      ],
    };
    const result = await authzFidelity({ istiod: translator, registry, proxies, sets: [set], builtin: buildInboundAuthzFilters });
    expect([...result.invalid, ...result.refused, ...result.builtinErrors]).toEqual([]);
    expect(result.lines).toEqual([]);
    expect(result.compared).toBe(sidecars.length * 4 + 1);
    expect(result.drifted).toBe(0);
  }, 60_000);

  it('edge cases the corpus does not draw: keys istiod cannot generate (an ALLOW rule skipped, a DENY value skipped: model.go checkError), nested claims, IPv6 spellings (netip.Addr.String), repeated trust domains, enforced and dry-run DENY in one filter, a duplicated provider', async () => {
    const reviews = { selector: { matchLabels: { app: 'reviews' } } };
    const set: AuthzFidelitySet = {
      name: 'edge cases',
      meshConfig: `${AUTHZ_MESH_CONFIG}- name: opa\n  envoyExtAuthzGrpc:\n    service: ratings.default.svc.cluster.local\n    port: 9191\n`,
      objects: [
        policy('bad-header-key', 'default', {
          ...reviews,
          rules: [
            { when: [{ key: 'request.headersX[a]', values: ['v'] }] },
            { when: [{ key: 'request.auth.claimsX[a]', values: ['v'] }] },
            { to: [{ operation: { methods: ['GET'] } }] },
          ],
        }),
        policy('deny-bad-key', 'default', {
          ...reviews,
          action: 'DENY',
          rules: [
            {
              when: [
                { key: 'request.headersX[a]', values: ['v'] },
                { key: 'request.headers[x-b]', notValues: ['w'] },
              ],
            },
          ],
        }),
        {
          ...policy('deny-dry', 'default', { ...reviews, action: 'DENY', rules: [{ to: [{ operation: { paths: ['/dry*'] } }] }] }),
          metadata: { name: 'deny-dry', namespace: 'default', annotations: { 'istio.io/dry-run': 'true' } },
        },
        policy('claims', 'default', {
          ...reviews,
          rules: [
            {
              when: [
                { key: 'request.auth.claims[a[b]]', values: ['x'] },
                { key: 'request.auth.claims[realm][roles][0]', values: ['admin', 'ops*'] },
              ],
            },
          ],
        }),
        policy('ips', 'default', {
          ...reviews,
          rules: [
            {
              from: [
                {
                  source: { ipBlocks: ['2001:DB8:0:0:1::1', '::', '1::', '0:0:0:0:0:ffff:1.2.3.4', '::1.2.3.4', '2001:db8:0:0:0:0:2:1/64', '1:0:0:2:0:0:0:3'] },
                },
              ],
              when: [{ key: 'destination.ip', values: ['fe80:0000:0000:0000:0204:61ff:fe9d:f156'] }],
            },
          ],
        }),
        policy('domains', 'default', {
          ...reviews,
          rules: [
            { from: [{ source: { trustDomains: ['cluster.local', 'cluster.local', 'a.example'], principals: ['cluster.local/ns/x/sa/y', '*/ns/x/sa/y'] } }] },
          ],
        }),
        policy('ext', 'default', { ...reviews, action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ to: [{ operation: { paths: ['/ext'] } }] }] }),
      ],
    };
    const result = await authzFidelity({ istiod: translator, registry, proxies: sidecars, sets: [set], builtin: buildInboundAuthzFilters });
    expect([...result.invalid, ...result.refused, ...result.builtinErrors]).toEqual([]);
    expect(result.lines).toEqual([]);
    expect(result.compared).toBe(sidecars.length * 4);
    expect(result.drifted).toBe(0);
  }, 60_000);

  it('finds a drift when the two sides differ (a builder that forgets the ALLOW filter)', async () => {
    const set: AuthzFidelitySet = { name: 'allow-get', objects: [policy('viewers', 'default', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })] };
    const result = await authzFidelity({
      istiod: translator,
      registry,
      proxies: corpusProxies(0),
      sets: [set],
      builtin: (input, proxy) => buildInboundAuthzFilters(input, proxy).slice(0, -1),
    });
    expect(result.drifted).toBe(result.compared);
    expect(result.lines[0]).toMatch(
      /^allow-get: \S+ listener virtualInbound filter_chains\[.*\]\.http_filters\(authz\)\[0\]: builtin absent, istiod \{"name":"envoy\.filters\.http\.rbac"/,
    );
  }, 60_000);
});
