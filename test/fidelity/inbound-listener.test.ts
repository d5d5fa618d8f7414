// The built-in `virtualInbound` listener (src/istio/xds/inbound-listener.ts) against istiod's own
// (tools/istio-translate) for what the generated corpus does not reach: Services with TCP, sniffed and gRPC ports and
// two Services on one target port, PeerAuthentication edge cases, every EnvoyFilter HTTP_FILTER operation, and the
// place of the authorization filters (given istiod's own, so their translation is not what is tested here).
// test/fidelity/corpus-routes.test.ts compares the listener over 60 corpus sets.
import { afterAll, describe, expect, it } from 'vitest';
import { bookinfoProxies, bookinfoRegistry } from '../../src/fidelity/bookinfo.ts';
import { IstiodTranslator, proxyKey } from '../../src/fidelity/istiod-translator.ts';
import { serviceClusterIp, type Registry } from '../../src/fidelity/kube-objects.ts';
import { onlyInboundListener, withoutNetworkAuthzFilters } from '../../src/fidelity/listener-view.ts';
import { runFidelity, translationInput } from '../../src/fidelity/run.ts';
import { TypedConfigType, type EnvoyConfig, type HttpFilter, type Listener } from '../../src/envoy/model/index.ts';
import { inboundHttpFilters, inboundPeerMode } from '../../src/envoy/runtime/listeners.ts';
import { localRateLimitEnvoyFilter } from '../../src/istio/ratelimit/envoy-filter.ts';
import { buildInboundListener } from '../../src/istio/xds/inbound-listener.ts';
import type { ProxyDescriptor, TranslationInput } from '../../src/istio/xds/input.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { k8sObject } from '../support/k8s-object.ts';

const translator = IstiodTranslator.start();
afterAll(async () => translator.close());

const JWKS =
  '{"keys":[{"e":"AQAB","kid":"k1","kty":"RSA","n":"xAE7eB6qugXyCAG3yhh7pkDkT65pHymX-P7KfIupjf59vsdo91bSP9C8H07pSAGQO1MV_xFj9VswgsCg4R6otmg5PV2He95lZdHtOcU5DXIg_pbhLdKXbi66GlVeK6ABZOUW3WYtnNHD-91gVuoeJT_DwtGGcp4ignkgXfkiEm4sw-4sfb4qdt5oLbyVpmW6x9cfa7vs2WTfURiCrBoUqgBo_-4WTiULmmHSGZHOjzwa8WtrtOQGsAFjIbno85jp6MnGGGZPYZbDAa_b3y5u-YpW7ypZrvD8BgtKVjgtQgZhLAGezMt0ua3DRrWnKqTZ0BJ_EyxOGuHJrLsn00fnMQ"}]}';

async function compare(
  name: string,
  objects: K8sObject[],
  options: {
    registry?: Registry;
    meshConfig?: string;
    authz?: (input: TranslationInput, proxy: ProxyDescriptor) => HttpFilter[];
    /** Keep the HTTP authorization filters (the TCP chains' network ones are istiod's TCP translation, not compared). */
    keepHttpAuthz?: boolean;
  } = {},
) {
  const registry = options.registry ?? bookinfoRegistry();
  const proxies = bookinfoProxies(registry);
  const lines: string[] = [];
  const result = await runFidelity({
    sets: [{ name, registry, proxies, objects, ...(options.meshConfig ? { meshConfig: options.meshConfig } : {}) }],
    istiod: translator,
    parts: ['listeners'],
    view: options.keepHttpAuthz ? (c) => withoutNetworkAuthz(onlyInboundListener(c)) : (c) => withoutNetworkAuthzFilters(onlyInboundListener(c)),
    log: (line) => lines.push(line),
    builtin: (input, proxy) => ({ listeners: buildInboundListener(input, proxy, options.authz), routes: [], clusters: [], endpoints: [] }),
  });
  expect(result.invalid).toEqual([]);
  expect(result.refused).toEqual([]);
  expect(result.builtinErrors).toEqual([]);
  expect(lines.slice(0, 20)).toEqual([]);
  expect(result.compared).toBe(proxies.length);
  return result;
}

const NETWORK_AUTHZ = new Set<string>([TypedConfigType.networkRbac, TypedConfigType.networkExtAuthz]);
function withoutNetworkAuthz(config: EnvoyConfig): EnvoyConfig {
  return {
    ...config,
    listeners: config.listeners.map((l) => ({
      ...l,
      filter_chains: (l.filter_chains ?? []).map((c) => ({ ...c, filters: c.filters.filter((f) => !NETWORK_AUTHZ.has(f.typed_config['@type'])) })),
    })),
  };
}

/** The built-in listener of the first proxy whose pod name starts with `pod` (equal to istiod's once compare() passed). */
function builtin(objects: K8sObject[], pod: string, registry = bookinfoRegistry()) {
  const proxy = bookinfoProxies(registry).find((p) => p.podName.startsWith(pod));
  if (!proxy) throw new Error(`no proxy ${pod}`);
  return buildInboundListener(translationInput(registry, objects), proxy);
}
const filterNames = (listeners: Listener[], port: number, mtls: boolean) => (inboundHttpFilters(listeners, port, mtls) ?? []).map((f) => f.name);

/** istiod's answer for one set, to read its listeners. */
async function istiodConfigs(registry: Registry, objects: K8sObject[], meshConfig?: string): Promise<Map<string, EnvoyConfig>> {
  const answer = await translator.translate({ registry, objects, proxies: bookinfoProxies(registry), ...(meshConfig ? { meshConfig } : {}) });
  if (!answer.ok) throw new Error(answer.error);
  return answer.proxies;
}

const rateLimit = (
  name: string,
  app: string | undefined,
  tweak: (patch: Record<string, unknown>, spec: Record<string, unknown>) => void,
  namespace?: string,
) => {
  const filter = localRateLimitEnvoyFilter({
    name,
    app: app ?? 'none',
    maxTokens: 10,
    tokensPerFill: 10,
    fillInterval: '1s',
    ...(namespace ? { namespace } : {}),
  });
  const spec = filter.spec as Record<string, unknown> & { configPatches: Record<string, unknown>[] };
  if (app === undefined) delete spec.workloadSelector;
  tweak(spec.configPatches[0] as Record<string, unknown>, spec);
  return filter;
};
const setOp = (operation: string, subFilter?: string) => (patch: Record<string, unknown>) => {
  (patch.patch as Record<string, unknown>).operation = operation;
  if (subFilter)
    (patch.match as { listener: { filterChain: { filter: Record<string, unknown> } } }).listener.filterChain.filter.subFilter = { name: subFilter };
};

describe('the built-in virtualInbound listener against istiod', () => {
  it('Services with TCP, sniffed and gRPC ports, and two Services on one target port (getFilterChainsByServicePort: the oldest wins, then the first hostname)', async () => {
    const registry = bookinfoRegistry();
    const extra = [
      {
        name: 'ratings-extra',
        ports: [
          { port: 3306, name: 'tcp-db', targetPort: 3306 },
          { port: 8000, name: 'web', targetPort: 8000 },
          { port: 7070, name: 'grpc-api', targetPort: 7070 },
          { port: 9443, name: 'https-x', targetPort: 9443 },
        ],
      },
      { name: 'ratings-alias', ports: [{ port: 80, name: 'tcp-alias', targetPort: 9080 }] },
    ];
    for (const e of extra) {
      registry.services.push({
        name: e.name,
        namespace: 'default',
        fqdn: `${e.name}.default.svc.cluster.local`,
        selector: { app: 'ratings' },
        ports: e.ports,
        clusterIp: serviceClusterIp(registry.services.length),
      });
    }
    await compare('service-ports', [], { registry });
    await compare(
      'service-ports-strict',
      [
        {
          apiVersion: 'security.istio.io/v1',
          kind: 'PeerAuthentication',
          metadata: { name: 'default', namespace: 'istio-system' },
          spec: { mtls: { mode: 'STRICT' } },
        },
      ],
      { registry },
    );
    await compare(
      'service-ports-disable',
      [
        {
          apiVersion: 'security.istio.io/v1',
          kind: 'PeerAuthentication',
          metadata: { name: 'default', namespace: 'default' },
          spec: { mtls: { mode: 'DISABLE' } },
        },
      ],
      { registry },
    );
    const ratings = builtin([], 'ratings', registry);
    const chains = ratings[0]?.filter_chains ?? [];
    const ports = (transport: string) =>
      chains.filter((c) => c.filter_chain_match?.transport_protocol === transport).map((c) => c.filter_chain_match?.destination_port);
    expect(new Set(ports('raw_buffer'))).toEqual(new Set([undefined, 3306, 7070, 8000, 9080, 9443]));
    expect(chains.filter((c) => c.filter_chain_match?.destination_port === 9080).every((c) => c.filters[0]?.name === 'envoy.filters.network.tcp_proxy')).toBe(
      true,
    );
  }, 60_000);

  it('PeerAuthentication (ComposePeerAuthentication): mesh STRICT, namespace UNSET inherits, workload port levels incl. a port no Service targets; a selector in the root namespace is ignored', async () => {
    const pa = (name: string, namespace: string, spec: Record<string, unknown>) =>
      k8sObject('security.istio.io/v1', 'PeerAuthentication', name, namespace, spec);
    const objects = [
      pa('default', 'istio-system', { mtls: { mode: 'STRICT' } }),
      pa('default', 'default', { mtls: {} }),
      pa('reviews', 'default', {
        selector: { matchLabels: { app: 'reviews' } },
        portLevelMtls: { '9080': { mode: 'DISABLE' }, '9090': { mode: 'PERMISSIVE' } },
      }),
      pa('ratings', 'istio-system', { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'DISABLE' } }),
      pa('details', 'default', { selector: { matchLabels: { app: 'details' } }, mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { '9080': {} } }),
      pa('details-newer', 'default', { selector: { matchLabels: { app: 'details' } }, mtls: { mode: 'DISABLE' } }),
    ];
    await compare('peer-authentication', objects);
    const modes = (pod: string, port: number) => inboundPeerMode(builtin(objects, pod), port);
    expect([modes('reviews', 9080), modes('reviews', 9090), modes('reviews', 9091), modes('ratings', 9080), modes('details', 9080)]).toEqual([
      'DISABLE',
      'PERMISSIVE',
      'STRICT',
      'STRICT',
      'PERMISSIVE',
    ]);
  }, 30_000);

  it('EnvoyFilter HTTP_FILTER patches (listener_patch.go patchHTTPFilters): every operation, chain matches, priority and the root namespace first', async () => {
    const cors = (patch: Record<string, unknown>) => {
      setOp('REPLACE', 'envoy.filters.http.cors')(patch);
    };
    const objects = [
      rateLimit('first', 'reviews', setOp('INSERT_FIRST')),
      rateLimit('before-router', 'reviews', setOp('INSERT_BEFORE', 'envoy.filters.http.router')),
      rateLimit('after-fault', 'reviews', setOp('INSERT_AFTER', 'envoy.filters.http.fault')),
      rateLimit('after-nothing', 'reviews', setOp('INSERT_AFTER')),
      rateLimit('before-missing', 'reviews', setOp('INSERT_BEFORE', 'envoy.filters.http.missing')),
      rateLimit('replace-cors', 'ratings', cors),
      rateLimit('remove-fault', 'ratings', setOp('REMOVE', 'envoy.filters.http.fault')),
      rateLimit('plaintext-only', 'details', (patch) => {
        setOp('INSERT_BEFORE', 'envoy.filters.http.router')(patch);
        (patch.match as { listener: { filterChain: Record<string, unknown> } }).listener.filterChain.transportProtocol = 'raw_buffer';
      }),
      rateLimit('port-only', 'details', (patch) => {
        (patch.match as { listener: Record<string, unknown> }).listener.portNumber = 9080;
      }),
      rateLimit('catch-all-only', 'productpage', (patch) => {
        (patch.match as { listener: { filterChain: Record<string, unknown> } }).listener.filterChain.name = 'virtualInbound-catchall-http';
      }),
      rateLimit('late-but-urgent', 'productpage', (_, spec) => (spec.priority = -5)),
      rateLimit('mesh-wide', undefined, setOp('INSERT_BEFORE', 'envoy.filters.http.router'), 'istio-system'),
      rateLimit('namespace-wide', undefined, setOp('INSERT_BEFORE', 'envoy.filters.http.router')),
    ];
    await compare('envoy-filter-operations', objects);
    const L = 'envoy.filters.http.local_ratelimit';
    // INSERT_FIRST, after fault, the mesh-wide one (root namespace first) and this one and the namespace's before the
    // router, INSERT_AFTER without a sub-filter after the router (as ADD); INSERT_BEFORE a missing filter: nothing.
    expect(filterNames(builtin(objects, 'reviews'), 9080, true)).toEqual([
      L,
      'envoy.filters.http.fault',
      L,
      'envoy.filters.http.cors',
      L,
      L,
      L,
      'envoy.filters.http.router',
      L,
    ]);
    // fault removed, CORS replaced, then the mesh-wide and the namespace's before the router.
    expect(filterNames(builtin(objects, 'ratings'), 9080, false)).toEqual([L, L, L, 'envoy.filters.http.router']);
  }, 30_000);

  it('RequestAuthentication (convertToEnvoyJwtConfig): providers by issuer, one or several rules, token locations and outputs, mesh-wide and per workload', async () => {
    const ra = (name: string, namespace: string, spec: Record<string, unknown>): K8sObject => ({
      apiVersion: 'security.istio.io/v1',
      kind: 'RequestAuthentication',
      metadata: { name, namespace },
      spec,
    });
    const objects = [
      ra('mesh', 'istio-system', { jwtRules: [{ issuer: 'z-issuer', jwks: JWKS }] }),
      ra('reviews', 'default', {
        selector: { matchLabels: { app: 'reviews' } },
        jwtRules: [
          {
            issuer: 'b-issuer',
            jwks: JWKS,
            audiences: ['bookinfo'],
            fromHeaders: [{ name: 'x-jwt', prefix: 'Bearer ' }],
            fromParams: ['token'],
            fromCookies: ['session'],
            forwardOriginalToken: true,
            outputPayloadToHeader: 'x-payload',
            spaceDelimitedClaims: ['roles', 'scope'],
          },
          { issuer: 'a-issuer', jwks: JWKS },
        ],
      }),
      ra('targeted', 'default', { targetRefs: [{ kind: 'Service', group: '', name: 'ratings' }], jwtRules: [{ issuer: 'ignored', jwks: JWKS }] }),
    ];
    await compare('request-authentication', objects);
    const jwt = (inboundHttpFilters(builtin(objects, 'reviews'), 9080, true) ?? [])[0]?.typed_config;
    const issuers = jwt?.['@type'] === TypedConfigType.jwtAuthn ? Object.entries(jwt.providers ?? {}).map(([k, p]) => `${k}=${p.issuer}`) : [];
    expect(issuers.sort()).toEqual(['origins-0=a-issuer', 'origins-1=b-issuer', 'origins-2=z-issuer']);
  }, 30_000);

  it("the authorization filters in istiod's place (buildHTTPConnectionManager): CUSTOM before jwt_authn, DENY and ALLOW after it, before the rate limit inserted before the router", async () => {
    const meshConfig = 'extensionProviders:\n- name: ext-authz\n  envoyExtAuthzGrpc:\n    service: ext-authz.default.svc.cluster.local\n    port: 9191\n';
    const policy = (name: string, spec: Record<string, unknown>): K8sObject => ({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name, namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'reviews' } }, ...spec },
    });
    const objects: K8sObject[] = [
      policy('custom', { action: 'CUSTOM', provider: { name: 'ext-authz' }, rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }),
      policy('deny', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] }),
      policy('allow', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['default'] } }] }] }),
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'RequestAuthentication',
        metadata: { name: 'jwt', namespace: 'default' },
        spec: { selector: { matchLabels: { app: 'reviews' } }, jwtRules: [{ issuer: 'issuer', jwks: JWKS }] },
      },
      rateLimit('limit', 'reviews', setOp('INSERT_BEFORE', 'envoy.filters.http.router')),
    ];
    const registry = bookinfoRegistry();
    registry.services.push({
      name: 'ext-authz',
      namespace: 'default',
      fqdn: 'ext-authz.default.svc.cluster.local',
      selector: { app: 'ext-authz' },
      ports: [{ port: 9191, name: 'grpc', targetPort: 9191 }],
      clusterIp: serviceClusterIp(registry.services.length),
    });
    const theirs = await istiodConfigs(registry, objects, meshConfig);
    const authzOf = (proxy: ProxyDescriptor) =>
      (inboundHttpFilters(theirs.get(proxyKey(proxy))?.listeners ?? [], 9080, true) ?? []).filter(
        (f) => f.typed_config?.['@type'] === TypedConfigType.rbac || f.typed_config?.['@type'] === TypedConfigType.extAuthz,
      );
    const reviews = [...theirs.keys()].find((k) => k.startsWith('reviews-v1'));
    const names = (inboundHttpFilters(theirs.get(reviews ?? '')?.listeners ?? [], 9080, true) ?? []).map((f) => f.name);
    expect(names).toEqual([
      'envoy.filters.http.rbac',
      'envoy.filters.http.ext_authz',
      'envoy.filters.http.jwt_authn',
      'envoy.filters.http.rbac',
      'envoy.filters.http.rbac',
      'envoy.filters.http.fault',
      'envoy.filters.http.cors',
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.router',
    ]);
    // The built-in listener gets istiod's own authorization filters, in istiod's order, and must put them where istiod does.
    await compare('authz-placement', objects, { registry, meshConfig, keepHttpAuthz: true, authz: (_, proxy) => authzOf(proxy) });
  }, 30_000);
});
