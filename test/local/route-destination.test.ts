// What a route sends upstream: the authority rewrite istiod makes of `headers.request.set.host` (route.go
// TranslateHeadersOperations, applyHTTPRouteDestination, processDestination/processWeightedDestination; validation.go
// validateAuthorityRewrite) and the cluster a destination port names (route.go GetDestinationCluster: a port the
// Service lacks has no cluster, so Envoy answers 503 NC).
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { Router } from '../../src/targets/local/proxy/router.ts';
import type { MeshSnapshot } from '../../src/targets/local/proxy/config-view.ts';
import { clientConfig } from '../support/local-routes.ts';
import { ProxyStats } from '../../src/targets/local/proxy/stats.ts';

const block = `127.${200 + (process.pid % 40)}.${(process.pid >> 6) % 250}`;
const host = 'echo.default.svc.cluster.local';
let server: http.Server;
let port = 0;
let requests = 0;
const hosts: (string | undefined)[] = [];
const paths: (string | undefined)[] = [];
const marks: (string | string[] | undefined)[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++;
    hosts.push(req.headers.host);
    paths.push(req.url);
    marks.push(req.headers['x-mark']);
    res.writeHead(200);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, `${block}.40`, r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const virtualService = (http: unknown[]) =>
  parseVirtualService({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'echo' },
    spec: { hosts: ['echo'], http },
  } as K8sObject);

/** The client's router, as its sidecar runs it. */
function clientRouter(): Router {
  const stats = new ProxyStats({ inclusionPrefixes: [], inclusionSuffixes: [], inclusionRegexps: [] });
  return new Router({
    name: 'client',
    ip: `${block}.41`,
    principal: 'cluster.local/ns/default/sa/client',
    namespace: 'default',
    labels: { app: 'client' },
    meshSecret: 's',
    seed: 1,
    stats,
  });
}

/** The echo Service on the test server's port, with these VirtualServices and no endpoints yet. */
function echoSnapshot(virtualServices: MeshSnapshot['virtualServices']): MeshSnapshot {
  return {
    version: '1',
    virtualServices,
    destinationRules: new Map(),
    services: new Map([[host, { name: 'echo', namespace: 'default', fqdn: host, ports: [port], selector: { app: 'echo' } }]]),
    gateways: [],
    endpoints: [],
  };
}

async function send(http: unknown[], path = '/'): Promise<{ status: number; flags: string[]; host?: string; path?: string; mark?: string | string[] }> {
  const router = clientRouter();
  const snapshot: MeshSnapshot = {
    ...echoSnapshot([virtualService(http)]),
    endpoints: [
      {
        ip: `${block}.40`,
        port,
        podName: 'echo-1',
        workload: 'echo',
        namespace: 'default',
        app: 'echo',
        version: 'v1',
        principal: 'cluster.local/ns/default/sa/echo',
        labels: { app: 'echo' },
      },
    ],
  };
  // The test server speaks plaintext: a mesh-wide PeerAuthentication DISABLE has EDS send its endpoint without tlsMode.
  const plaintext = {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'default', namespace: 'istio-system' },
    spec: { mtls: { mode: 'DISABLE' } },
  } as K8sObject;
  router.configure(snapshot, clientConfig(snapshot, [], `${block}.41`, [plaintext]));
  try {
    const before = hosts.length;
    const result = await router.handle({ method: 'GET', path, authority: `echo:${port}`, headers: {}, requestId: 'r', decisionKey: 'k' });
    const sent = hosts.length > before;
    return {
      status: result.status,
      flags: result.flags,
      host: sent ? hosts[hosts.length - 1] : undefined,
      path: sent ? paths[paths.length - 1] : undefined,
      mark: sent ? marks[marks.length - 1] : undefined,
    };
  } finally {
    router.close();
  }
}

const to = (extra: Record<string, unknown> = {}, weight?: number) => ({ destination: { host: 'echo' }, ...(weight === undefined ? {} : { weight }), ...extra });

describe('headers.request.set.host is the authority rewrite', () => {
  it('on the route, and with add when there is no set', async () => {
    expect((await send([{ route: [to()], headers: { request: { set: { host: 'set.example' } } } }])).host).toBe('set.example');
    expect((await send([{ route: [to()], headers: { request: { add: { ':authority': 'added.example' } } } }])).host).toBe('added.example');
    expect((await send([{ route: [to()], headers: { request: { add: { host: 'a.example' }, set: { Host: 's.example' } } } }])).host).toBe('s.example');
  });

  it("a destination's only when the route sets none, single or weighted (Envoy applies the route's host rewrite after the cluster weight's)", async () => {
    const dest = to({ headers: { request: { set: { host: 'dest.example' } } } });
    expect((await send([{ route: [dest] }])).host).toBe('dest.example');
    expect((await send([{ route: [dest], rewrite: { authority: 'route.example' } }])).host).toBe('route.example');
    const weighted = [to({ headers: { request: { set: { host: 'dest.example' } } } }, 100), to({}, 0)];
    expect((await send([{ route: weighted, rewrite: { authority: 'route.example' } }])).host).toBe('route.example');
    expect((await send([{ route: weighted }])).host).toBe('dest.example');
  });

  it('is refused twice in one route, and pseudo-headers or host elsewhere are refused (validation.go)', () => {
    expect(() => virtualService([{ route: [to()], rewrite: { authority: 'a' }, headers: { request: { set: { host: 'b' } } } }])).toThrow(
      /authority header cannot be set multiple times/,
    );
    expect(() => virtualService([{ route: [to()], headers: { request: { set: { ':path': '/x' } } } }])).toThrow(/header cannot have ":" prefix/);
    expect(() => virtualService([{ route: [to()], headers: { response: { set: { host: 'x' } } } }])).toThrow(/cannot set Host header/);
    expect(() => virtualService([{ route: [to()], headers: { request: { remove: ['host'] } } }])).toThrow(/cannot set Host header/);
  });
});

describe('a destination port the Service does not have (GetDestinationCluster)', () => {
  it('answers 503 NC at once, sending nothing upstream', async () => {
    const before = requests;
    const result = await send([{ route: [{ destination: { host: 'echo', port: { number: port === 9 ? 10 : 9 } } }] }]);
    expect(result.status).toBe(503);
    expect(result.flags).toEqual(['NC']);
    expect(requests).toBe(before);
  });

  it("the Service's port works", async () => {
    expect((await send([{ route: [{ destination: { host: 'echo', port: { number: port } } }] }])).status).toBe(200);
  });
});

describe('rewrite.uri at the router (prefix_rewrite, see test/istio/rewrite.test.ts)', () => {
  it('without a uri match replaces only the leading `/`; after a regex match keeps the query', async () => {
    expect((await send([{ rewrite: { uri: '/v2/' }, route: [to()] }], '/reviews/0?a=1')).path).toBe('/v2/reviews/0?a=1');
    expect((await send([{ match: [{ uri: { regex: '/reviews/[0-9]+' } }], rewrite: { uri: '/r' }, route: [to()] }], '/reviews/7?a=1')).path).toBe('/r?a=1');
  });
});

describe('route- and destination-level header operations (route.go processDestination / processWeightedDestination)', () => {
  const setMark = (v: string) => ({ request: { set: { 'x-mark': v } } });
  it("a single destination's operations join the route's level: all removals first, then the sets in order", async () => {
    expect((await send([{ headers: setMark('route'), route: [to({ headers: setMark('dest') })] }])).mark).toBe('dest');
    expect((await send([{ headers: setMark('route'), route: [to({ headers: { request: { remove: ['x-mark'] } } })] }])).mark).toBe('route');
  });

  it("a weighted destination's are their own, more specific level, evaluated before the route's (which wins)", async () => {
    const weighted = [to({ headers: setMark('dest') }, 100), to({}, 0)];
    expect((await send([{ headers: setMark('route'), route: weighted }])).mark).toBe('route');
    const removing = [to({ headers: setMark('dest') }, 100), to({}, 0)];
    expect((await send([{ headers: { request: { remove: ['x-mark'] } }, route: removing }])).mark).toBeUndefined();
  });
});

describe('header values are Envoy formats (header_value_validator.go validateHeaderValue)', () => {
  it('`%%` is a literal %', async () => {
    expect((await send([{ headers: { request: { set: { 'x-mark': '100%%' } } }, route: [to()] }])).mark).toBe('100%');
  });

  it('an un-escaped % is refused as Istio refuses it; a formatter the local target does not evaluate is refused, not sent as text', () => {
    expect(() => virtualService([{ headers: { request: { set: { 'x-mark': 'abc%' } } }, route: [to()] }])).toThrow(/Un-escaped %/);
    let error: unknown;
    try {
      virtualService([{ route: [to({ headers: { response: { add: { 'x-mark': 'on %HOSTNAME%' } } } })] }]);
    } catch (e) {
      error = e;
    }
    expect((error as { path?: string }).path).toBe('VirtualService echo: spec.http[0].route[0].headers.response.add.x-mark');
    expect((error as Error).message).toMatch(/%HOSTNAME% is not evaluated by the local target/);
  });
});

describe('a cluster the local data plane does not execute (an HTTP/2 upstream: istiod writes one for a gRPC port)', () => {
  it('does not stop the proxy when the config arrives (only ext_authz may talk to it); a request routed to it fails with the reason', async () => {
    const router = clientRouter();
    const snapshot = echoSnapshot([]);
    const config = clientConfig(snapshot, [], `${block}.41`);
    const clusters = config.clusters.map((c) =>
      c.name === `outbound|${port}||${host}`
        ? {
            ...c,
            typed_extension_protocol_options: {
              'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { explicit_http_config: { http2_protocol_options: {} } },
            },
          }
        : c,
    );
    expect(clusters.some((c) => c.typed_extension_protocol_options)).toBe(true);
    try {
      expect(() => router.configure(snapshot, { ...config, clusters } as typeof config)).not.toThrow();
      await expect(router.handle({ method: 'GET', path: '/', authority: `echo:${port}`, headers: {}, requestId: 'r', decisionKey: 'k' })).rejects.toThrow(
        /explicit_http_config\.http2_protocol_options: HTTP\/2 upstreams are not executed/,
      );
    } finally {
      router.close();
    }
  });
});
