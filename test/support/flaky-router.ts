// A client proxy's Router with one upstream Service `flaky` (one endpoint, a loopback test server), its route's
// retries and its DestinationRule's traffic policy chosen by the test: the set-up the router-level tests share.
import { parseDestinationRule } from '../../src/istio/networking/destination-rule.ts';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { Router } from '../../src/targets/local/proxy/router.ts';
import type { MeshSnapshot } from '../../src/targets/local/proxy/config-view.ts';
import { clientConfig } from './local-routes.ts';
import type { ProxyStats } from '../../src/targets/local/proxy/stats.ts';

export const FLAKY_HOST = 'flaky.default.svc.cluster.local';

export interface FlakyRouterOptions {
  /** The loopback /24 the test uses: the client is `.31`. */
  block: string;
  /** Where the test server listens. */
  serverIp: string;
  port: number;
  stats: ProxyStats;
  retries: Record<string, unknown>;
  /** The DestinationRule's trafficPolicy besides `tls: DISABLE` (the test server speaks plain HTTP). */
  trafficPolicy?: Record<string, unknown>;
}

export function flakyRouter(o: FlakyRouterOptions): Router {
  const router = new Router({
    name: 'client',
    ip: `${o.block}.31`,
    principal: 'cluster.local/ns/default/sa/client',
    namespace: 'default',
    labels: { app: 'client' },
    meshSecret: 's',
    seed: 1,
    stats: o.stats,
  });
  const vs = parseVirtualService({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'flaky' },
    spec: { hosts: ['flaky'], http: [{ route: [{ destination: { host: 'flaky' } }], retries: o.retries }] },
  } as K8sObject);
  const dr = parseDestinationRule({
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'flaky' },
    spec: { host: 'flaky', trafficPolicy: { tls: { mode: 'DISABLE' }, ...o.trafficPolicy } },
  } as K8sObject);
  const snapshot: MeshSnapshot = {
    version: '1',
    virtualServices: [vs],
    destinationRules: new Map([[FLAKY_HOST, dr]]),
    services: new Map([[FLAKY_HOST, { name: 'flaky', namespace: 'default', fqdn: FLAKY_HOST, ports: [o.port], selector: { app: 'flaky' } }]]),
    gateways: [],
    endpoints: [
      {
        ip: o.serverIp,
        port: o.port,
        podName: 'flaky-1',
        workload: 'flaky',
        namespace: 'default',
        app: 'flaky',
        version: 'v1',
        principal: 'cluster.local/ns/default/sa/flaky',
        labels: { app: 'flaky' },
      },
    ],
  };
  router.configure(snapshot, clientConfig(snapshot, [dr], `${o.block}.31`));
  return router;
}
