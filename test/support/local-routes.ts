// The routes the local mesh's built-in control plane sends a test's client proxy, for a hand-built snapshot.
import type { RouteConfiguration } from '../../src/envoy/model/index.ts';
import type { DestinationRuleModel } from '../../src/istio/networking/model.ts';
import { DEFAULT_ISTIO_VERSION, istioBehaviour } from '../../src/istio/version.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';
import { proxyDescriptorOf, translationInputOf } from '../../src/targets/local/builtin-control-plane.ts';
import type { MeshSnapshot } from '../../src/targets/local/proxy/config-view.ts';

/** The sidecar routes of a client pod `client` (namespace default) at 10.x.x.x `ip`. */
export function clientRoutes(snapshot: MeshSnapshot, destinationRules: DestinationRuleModel[], ip: string): RouteConfiguration[] {
  const input = translationInputOf({
    behaviour: istioBehaviour(DEFAULT_ISTIO_VERSION),
    virtualServices: snapshot.virtualServices,
    destinationRules,
    gateways: snapshot.gateways,
    services: snapshot.services.values(),
    endpoints: snapshot.endpoints,
    securityObjects: [],
  });
  return buildRoutes(input, proxyDescriptorOf({ podName: 'client-1', namespace: 'default', ip, labels: { app: 'client' }, serviceAccount: 'client' }, 'sidecar'));
}
