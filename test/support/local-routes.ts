// The routes and clusters the local mesh's built-in control plane sends a test's client proxy, for a hand-built snapshot.
import type { DestinationRuleModel } from '../../src/istio/networking/model.ts';
import { DEFAULT_ISTIO_VERSION, istioBehaviour } from '../../src/istio/version.ts';
import { buildClusters } from '../../src/istio/xds/clusters.ts';
import { buildEndpoints } from '../../src/istio/xds/endpoints.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';
import type { RouterConfig } from '../../src/targets/local/proxy/router.ts';
import { proxyDescriptorOf, translationInputOf } from '../../src/targets/local/builtin-control-plane.ts';
import type { MeshSnapshot } from '../../src/targets/local/proxy/config-view.ts';
import type { K8sObject } from '../../src/spec/types.ts';

/** The routes and clusters of a client pod `client` (namespace default) at `ip`. */
export function clientConfig(snapshot: MeshSnapshot, destinationRules: DestinationRuleModel[], ip: string, securityObjects: K8sObject[] = []): RouterConfig {
  const input = translationInputOf({
    behaviour: istioBehaviour(DEFAULT_ISTIO_VERSION),
    virtualServices: snapshot.virtualServices,
    destinationRules,
    gateways: snapshot.gateways,
    services: snapshot.services.values(),
    endpoints: snapshot.endpoints,
    securityObjects,
  });
  const proxy = proxyDescriptorOf({ podName: 'client-1', namespace: 'default', ip, labels: { app: 'client' }, serviceAccount: 'client' }, 'sidecar');
  return { routes: buildRoutes(input, proxy), clusters: buildClusters(input, proxy), endpoints: buildEndpoints(input, proxy) };
}
