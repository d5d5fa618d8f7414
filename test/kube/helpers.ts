// Shared setup for the kube tests: a fake API server (test double), a kubeconfig file pointing at it, a state dir.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { K8sObject } from '../../src/spec/types.ts';
import { bookinfoSeed, FakeApiServer } from './fake-apiserver.ts';

export interface KubeFixture {
  server: FakeApiServer;
  kubeconfig: string;
  stateDir: string;
  /** Stops the fake API server and removes the fixture's folder. */
  stop(): Promise<void>;
}

export async function startFixture(options: ConstructorParameters<typeof FakeApiServer>[0] = {}): Promise<KubeFixture> {
  const server = await new FakeApiServer(options).start();
  // Not test/support/temp-dir.ts: this module is also bundled into kill.test's child process, outside vitest.
  const dir = mkdtempSync(join(tmpdir(), 'meshproof-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig());
  const stateDir = join(dir, 'state');
  process.env.XDG_STATE_HOME = stateDir;
  server.reset(preexisting());
  const stop = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { server, kubeconfig, stateDir, stop };
}

/** The user's own Istio objects for reviews: their VirtualService (with labels and an annotation) and DestinationRule. */
export function userObjects(): K8sObject[] {
  return [
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default', labels: { team: 'books' }, annotations: { 'owner.example/contact': 'books@example.com' } },
      spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: {
        host: 'reviews',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
          { name: 'v3', labels: { version: 'v3' } },
        ],
      },
    },
  ];
}

/** Objects a user had before meshproof ran: Bookinfo plus their own VirtualService and DestinationRule for reviews. */
export function preexisting(): K8sObject[] {
  return [...(bookinfoSeed() as K8sObject[]), ...userObjects()];
}

/** What an experiment applies: changes the user's reviews VirtualService, adds a fault on ratings and a policy. */
export function experimentResources(): K8sObject[] {
  return [
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews' },
      spec: {
        hosts: ['reviews'],
        http: [
          {
            route: [
              { destination: { host: 'reviews', subset: 'v1' }, weight: 80 },
              { destination: { host: 'reviews', subset: 'v3' }, weight: 20 },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'ratings' },
      spec: {
        hosts: ['ratings'],
        http: [{ fault: { abort: { percentage: { value: 50 }, httpStatus: 503 } }, route: [{ destination: { host: 'ratings', subset: 'v1' } }] }],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'ratings' },
      spec: { host: 'ratings', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
    },
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'ratings-viewer' },
      spec: {
        selector: { matchLabels: { app: 'ratings' } },
        action: 'ALLOW',
        rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/bookinfo-reviews'] } }] }],
      },
    },
  ];
}
