// The TranslationInput equivalent of test/fixtures/envoy/istiod/bookinfo.yaml (what istiod translated into the
// fixture dumps): its ServiceEntries as Services (port 9080 `http`, no cluster IP, as a STATIC ServiceEntry without
// addresses has none), its WorkloadEntries as instances, its Istio resources parsed as the local target parses them.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { parseDestinationRule } from '../../../src/istio/networking/destination-rule.ts';
import { parseVirtualService } from '../../../src/istio/networking/virtual-service.ts';
import { istioBehaviour } from '../../../src/istio/version.ts';
import type { ProxyDescriptor, TranslationInput } from '../../../src/istio/xds/input.ts';
import type { K8sObject } from '../../../src/spec/types.ts';

const file = new URL('../../fixtures/envoy/istiod/bookinfo.yaml', import.meta.url);
const objects = parseAllDocuments(readFileSync(file, 'utf8'))
  .map((d) => d.toJS() as K8sObject)
  .filter(Boolean);
const of = (kind: string) => objects.filter((o) => o.kind === kind);
/** The fields of the fixture's ServiceEntries and WorkloadEntries read below. */
interface FixtureSpec {
  hosts: string[];
  workloadSelector: { labels: Record<string, string> };
  labels: Record<string, string>;
  address: string;
  serviceAccount: string;
}
const specOf = (o: K8sObject) => o.spec as FixtureSpec;

export function bookinfoInput(): TranslationInput {
  return {
    behaviour: istioBehaviour('1.31.0'),
    services: of('ServiceEntry').map((se) => {
      const fqdn = specOf(se).hosts[0] as string;
      const [name, namespace] = fqdn.split('.') as [string, string];
      return { name, namespace, fqdn, ports: [{ port: 9080, name: 'http', targetPort: 9080 }], selector: specOf(se).workloadSelector.labels };
    }),
    instances: of('WorkloadEntry').map((we) => ({
      podName: `${specOf(we).labels.app}-${specOf(we).labels.version}`,
      namespace: we.metadata.namespace ?? 'default',
      ip: specOf(we).address,
      labels: specOf(we).labels,
      serviceAccount: specOf(we).serviceAccount,
      ready: true,
    })),
    virtualServices: of('VirtualService').map((o, i) => parseVirtualService(o, i + 1)),
    destinationRules: of('DestinationRule').map((o, i) => parseDestinationRule(o, i + 1)),
    gateways: [],
    authorizationPolicies: of('AuthorizationPolicy'),
    peerAuthentications: of('PeerAuthentication'),
    requestAuthentications: of('RequestAuthentication'),
    envoyFilters: of('EnvoyFilter'),
  };
}

/** The two proxies the fixture dumps are for (generate/main.go: node ids app-version.default). */
export function bookinfoProxy(app: 'productpage' | 'ratings'): ProxyDescriptor {
  const ip = app === 'productpage' ? '10.0.0.10' : '10.0.0.30';
  return { type: 'sidecar', podName: `${app}-v1`, namespace: 'default', ip, labels: { app, version: 'v1' }, serviceAccount: `bookinfo-${app}` };
}
