// Differential fidelity (issue 13 item 6), routes and clusters: for Bookinfo alone and every distinct resource set of the catalogue,
// the built-in translator's route configurations for each Bookinfo sidecar equal what the REAL istiod (the pinned
// pilot-discovery, reading the sandbox's real API server) pushed to that sidecar over xDS, normalised by the Envoy
// model's loader to the fields the data plane executes. `npm run fidelity` runs the same and prints every drift.
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeFidelity, type ResourceSet } from '../../src/fidelity/route-fidelity.ts';
import { SandboxIstiod } from '../../src/fidelity/sandbox-istiod.ts';
import { istioBehaviour } from '../../src/istio/version.ts';
import { sandboxFiles, type SandboxState } from '../../src/sandbox/layout.ts';
import { kustomizationObjects } from '../../src/sandbox/objects.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { catalogueSets } from '../../src/fidelity/catalogue.ts';
import { runSandboxScript } from '../../src/sandbox/scripts.ts';
import { must } from '../../src/must.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = resolve(import.meta.dirname, '../..');
const stateDir = tempDir('meshproof-fidelity-test-');
const env = { ...process.env, MESHPROOF_SANDBOX: stateDir, MESHPROOF_SANDBOX_PORT_BASE: '27800' };
let istiod: SandboxIstiod | undefined;

beforeAll(async () => {
  const up = await runSandboxScript('sandbox-up.ts', env, ['--no-mesh']);
  if (up.code !== 0) throw new Error(`sandbox-up failed (exit ${up.code}):\n${up.output}`);
  const state = JSON.parse(readFileSync(sandboxFiles(stateDir).state, 'utf8')) as SandboxState;
  istiod = await SandboxIstiod.connect(state);
}, 180_000);

afterAll(async () => {
  istiod?.close();
  await runSandboxScript('sandbox-down.ts', env);
  rmSync(stateDir, { recursive: true, force: true });
});

const baseline = () => kustomizationObjects(join(root, 'scenarios', 'bookinfo'), 'default') as K8sObject[];

describe('route fidelity against the real istiod', () => {
  it("the catalogue's resource sets: every sidecar's route configurations equal istiod's", async () => {
    const sets = catalogueSets(root);
    expect(sets.length).toBeGreaterThan(20);
    const result = await routeFidelity(istiod!, sets, istioBehaviour('1.31.0'), undefined, undefined, baseline());
    expect(result.skipped).toEqual([]);
    // Six sidecars and the gateway, several ports each (9080, 80, 15010, 15014, the sniffed status port): hundreds of configurations.
    expect(result.compared).toBeGreaterThan(sets.length * 7 * 3);
    expect(result.lines).toEqual([]);
    expect(result.drifted).toBe(0);
  }, 300_000);

  it("CORS policies (route.go TranslateCORSPolicy) on a sidecar route and the gateway's, and an ISTIO_MUTUAL rule's subjectAltNames (cluster_tls.go; a subset's tls replaces them): equal to istiod's", async () => {
    const cors = (extra: Record<string, unknown>) => ({
      allowOrigins: [{ exact: 'https://app.example' }, { prefix: 'http://localhost' }, { regex: 'https://.*\\.example\\.org' }],
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['authorization'],
      exposeHeaders: ['x-request-id'],
      maxAge: '24h',
      allowCredentials: true,
      ...extra,
    });
    const set: ResourceSet = {
      name: 'cors',
      objects: [
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'reviews', namespace: 'default' },
          spec: { hosts: ['reviews'], http: [{ corsPolicy: cors({ unmatchedPreflights: 'IGNORE' }), route: [{ destination: { host: 'reviews' } }] }] },
        },
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'bookinfo', namespace: 'default' },
          spec: {
            hosts: ['*'],
            gateways: ['bookinfo-gateway'],
            http: [{ corsPolicy: { allowOrigin: ['https://legacy.example'] }, route: [{ destination: { host: 'productpage', port: { number: 9080 } } }] }],
          },
        },
      ],
    };
    const sans: ResourceSet = {
      name: 'subject alt names',
      objects: [
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'DestinationRule',
          metadata: { name: 'details', namespace: 'default' },
          spec: {
            host: 'details',
            trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: ['spiffe://cluster.local/ns/default/sa/pinned'] } },
            subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } }],
          },
        },
      ],
    };
    const result = await routeFidelity(istiod!, [set, sans], istioBehaviour('1.31.0'), undefined, undefined, baseline());
    expect(result.lines).toEqual([]);
    expect(result.drifted).toBe(0);
    expect(result.compared).toBeGreaterThan(7);
  }, 60_000);

  it("consistent hashing (ApplyRingHashLoadBalancer, HashForHTTPDestination, hashForService, retry.go without the host predicate): equal to istiod's", async () => {
    const dr = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name, namespace: 'default' },
      spec,
    });
    const vs = (name: string, http: unknown[]) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name, namespace: 'default' },
      spec: { hosts: [name], http },
    });
    const sets: ResourceSet[] = [
      {
        name: 'cookie hash, default routes',
        objects: [
          dr('reviews', {
            host: 'reviews',
            trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: 'session', ttl: '3600s' } } } },
            subsets: [
              { name: 'v1', labels: { version: 'v1' } },
              { name: 'v2', labels: { version: 'v2' } },
            ],
          }),
        ],
      },
      {
        name: 'header hash on routes, subset and port-level precedence, ring sizes',
        objects: [
          dr('reviews', {
            host: 'reviews',
            trafficPolicy: {
              loadBalancer: { consistentHash: { httpHeaderName: 'x-user', ringHash: { minimumRingSize: 2048 } } },
              portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { consistentHash: { httpQueryParameterName: 'u' } } }],
            },
            subsets: [
              { name: 'v1', labels: { version: 'v1' } },
              { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true, minimumRingSize: 16 } } } },
              { name: 'v3', labels: { version: 'v3' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
            ],
          }),
          vs('reviews', [
            { match: [{ headers: { a: { exact: '1' } } }], route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
            {
              match: [{ headers: { a: { exact: '2' } } }],
              route: [{ destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } } }],
              retries: { attempts: 2, retryOn: '5xx' },
            },
            {
              match: [{ headers: { a: { exact: '3' } } }],
              route: [{ destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } } }],
              retries: { attempts: 2, retryIgnorePreviousHosts: true },
            },
            {
              route: [
                { destination: { host: 'reviews', subset: 'v1' }, weight: 70 },
                { destination: { host: 'reviews', subset: 'v2' }, weight: 30 },
                { destination: { host: 'reviews', subset: 'v3' }, weight: 0 },
              ],
            },
          ]),
          dr('ratings', {
            host: 'ratings',
            trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: 'c', path: '/x' }, ringHash: { minimumRingSize: 0 } } } },
          }),
        ],
      },
    ];
    const result = await routeFidelity(istiod!, sets, istioBehaviour('1.31.0'), undefined, undefined, baseline());
    expect(result.skipped).toEqual([]);
    expect(result.lines).toEqual([]);
    expect(result.drifted).toBe(0);
    // And the comparison sees hashing: a built-in side without the DestinationRules' hashes drifts.
    const unhashed = (objects: K8sObject[]) =>
      objects.map((o) =>
        o.kind === 'DestinationRule'
          ? { ...o, spec: JSON.parse(JSON.stringify(o.spec).replace(/"consistentHash":\{[^{}]*(\{[^{}]*\}[^{}]*)*\}/g, '"simple":"LEAST_REQUEST"')) }
          : o,
      );
    const drift = await routeFidelity(istiod!, [sets[0]!], istioBehaviour('1.31.0'), undefined, unhashed, baseline());
    expect(drift.lines.some((l) => l.includes('hash_policy'))).toBe(true);
    expect(drift.lines.some((l) => l.includes('lb_policy'))).toBe(true);
  }, 90_000);

  it('finds a drift when the two sides differ (a translator that forgets a route timeout)', async () => {
    const timeout: ResourceSet = {
      name: 'reviews timeout',
      objects: [
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'reviews', namespace: 'default' },
          spec: { hosts: ['reviews'], http: [{ timeout: '0.5s', route: [{ destination: { host: 'reviews' } }] }] },
        },
      ],
    };
    // The same resources, but the built-in side is given a set without the timeout: istiod's 0.500s must show.
    const result = await routeFidelity(
      istiod!,
      [timeout],
      istioBehaviour('1.31.0'),
      undefined,
      (o) =>
        o.map((x) => {
          const spec = x.spec as { http: { route: unknown }[] };
          return { ...x, spec: { ...spec, http: [{ route: must(spec.http[0], 'spec.http[0]').route }] } };
        }),
      baseline(),
    );
    expect(result.drifted).toBeGreaterThan(0);
    expect(result.lines.some((l) => l.includes('.route.timeout: builtin "0s", istiod "0.500s"'))).toBe(true);
  }, 60_000);
});
