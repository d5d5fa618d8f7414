// The shared Target contract (test/targets/contract.ts) run against KubeTarget and the fake API server (a test double
// that carries no Bookinfo traffic, so the behavioural checks are off and the lifecycle is what is checked).
import { afterAll, beforeAll } from 'vitest';
import type { K8sObject } from '../../src/spec/types.ts';
import { KubeTarget } from '../../src/targets/kube/index.ts';
import { targetContract } from '../targets/contract.ts';
import { bookinfoSeed } from './fake-apiserver.ts';
import { startFixture, type KubeFixture } from './helpers.ts';

let fx: KubeFixture;
beforeAll(async () => {
  fx = await startFixture();
  // the scenario as kind-up leaves it: Bookinfo, its gateway and the gateway's VirtualService
  fx.server.reset([
    ...(bookinfoSeed() as K8sObject[]),
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
      spec: {
        hosts: ['*'],
        gateways: ['bookinfo-gateway'],
        http: [
          {
            match: [{ uri: { exact: '/productpage' } }, { uri: { prefix: '/static' } }, { uri: { exact: '/login' } }, { uri: { exact: '/logout' } }, { uri: { prefix: '/api/v1/products' } }],
            route: [{ destination: { host: 'productpage', port: { number: 9080 } } }],
          },
        ],
      },
    },
  ]);
});
afterAll(async () => {
  await fx.server.stop();
});

targetContract('kube (fake API server)', () => new KubeTarget({ kubeconfig: fx.kubeconfig, pollIntervalMs: 20 }), {
  prepare: { context: 'kind-meshproof' },
  traffic: false,
});
