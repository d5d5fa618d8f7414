// Istio resources through the built-in control plane's RouteConfigurations and Envoy's routing (src/envoy/runtime),
// as the local proxies route: for tests of Istio routing semantics.
import type { Route, RouteConfiguration } from '../../src/envoy/model/index.ts';
import type { DynamicMetadata } from '../../src/envoy/runtime/matchers.ts';
import { selectRoute, selectVirtualHost } from '../../src/envoy/runtime/routes.ts';
import type { GatewayModel, VirtualServiceModel } from '../../src/istio/networking/model.ts';
import { istioBehaviour } from '../../src/istio/version.ts';
import type { ProxyDescriptor, TranslationInput } from '../../src/istio/xds/input.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';
import { evaluateCluster, type EvaluatedCluster } from '../../src/envoy/runtime/cluster.ts';
import { parseDestinationRule } from '../../src/istio/networking/destination-rule.ts';
import { buildClusters } from '../../src/istio/xds/clusters.ts';
import type { K8sObject } from '../../src/spec/types.ts';

/** Bookinfo's four Services on port 9080 in `default`. */
export function bookinfoRegistryInput(virtualServices: VirtualServiceModel[], options: { gateways?: GatewayModel[]; version?: string } = {}): TranslationInput {
  return {
    behaviour: istioBehaviour(options.version ?? '1.28.0'),
    services: ['productpage', 'reviews', 'ratings', 'details'].map((name) => ({
      name,
      namespace: 'default',
      fqdn: `${name}.default.svc.cluster.local`,
      ports: [{ port: 9080, name: 'http', targetPort: 9080 }],
      selector: { app: name },
    })),
    instances: [],
    virtualServices,
    destinationRules: [],
    gateways: options.gateways ?? [],
    authorizationPolicies: [],
    peerAuthentications: [],
    requestAuthentications: [],
    envoyFilters: [],
  };
}

export const productpageProxy: ProxyDescriptor = {
  type: 'sidecar',
  podName: 'productpage-v1-1',
  namespace: 'default',
  ip: '10.0.0.1',
  labels: { app: 'productpage', version: 'v1' },
  serviceAccount: 'bookinfo-productpage',
};

export const ingressProxy: ProxyDescriptor = {
  type: 'router',
  podName: 'istio-ingressgateway-1',
  namespace: 'istio-system',
  ip: '10.0.0.9',
  labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
  serviceAccount: 'istio-ingressgateway-service-account',
};

export interface TestRequest {
  authority?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  metadata?: DynamicMetadata;
}

/** The route Envoy picks for the request in the named RouteConfiguration (`9080` for a sidecar), if any. */
export function routeIn(configs: readonly RouteConfiguration[], configName: string, request: TestRequest = {}): Route | undefined {
  const config = configs.find((c) => c.name === configName);
  if (!config) return undefined;
  const authority = request.authority ?? 'reviews:9080';
  const vhost = selectVirtualHost(config, authority);
  if (!vhost) return undefined;
  const path = request.path ?? '/reviews/0';
  return selectRoute(vhost, {
    path,
    headers: { ...request.headers, ':method': request.method ?? 'GET', ':path': path, ':authority': authority, ':scheme': 'http' },
    metadata: request.metadata,
  });
}

/** The cluster a sidecar sends the request to (`outbound|9080|v2|reviews…`), undefined when no route matches. */
export function sidecarCluster(input: TranslationInput, request: TestRequest = {}, proxy: ProxyDescriptor = productpageProxy): string | undefined {
  const route = routeIn(buildRoutes(input, proxy), '9080', request);
  return route?.route?.cluster ?? route?.route?.weighted_clusters?.clusters.map((c) => c.name).join(',');
}

/**
 * The evaluated CDS cluster the built-in control plane sends a `default` sidecar for Service `x` (port 80, `http`)
 * under a DestinationRule with this trafficPolicy (none: no rule).
 */
export function clusterUnder(trafficPolicy?: Record<string, unknown>): EvaluatedCluster {
  const rules =
    trafficPolicy === undefined
      ? []
      : [
          parseDestinationRule({
            apiVersion: 'networking.istio.io/v1',
            kind: 'DestinationRule',
            metadata: { name: 'x' },
            spec: { host: 'x', trafficPolicy },
          } as K8sObject),
        ];
  const input: TranslationInput = {
    ...bookinfoRegistryInput([]),
    services: [
      { name: 'x', namespace: 'default', fqdn: 'x.default.svc.cluster.local', ports: [{ port: 80, name: 'http', targetPort: 80 }], selector: { app: 'x' } },
    ],
    destinationRules: rules,
  };
  const cluster = buildClusters(input, productpageProxy).find((c) => c.name === 'outbound|80||x.default.svc.cluster.local');
  if (!cluster) throw new Error('no cluster for x');
  return evaluateCluster(cluster);
}
