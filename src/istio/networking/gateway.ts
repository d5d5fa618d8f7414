// Gateway: the servers of the ingress gateway. The local ingress serves plain HTTP on port 8080 (what Bookinfo uses);
// a server written with the gateway Service's port 80 is listened on at 8080 too, as on a cluster.
import type { K8sObject } from '../../spec/types.ts';
import { FieldPath, readArray, readNumber, readObject, readString, readStringMap } from './fields.ts';
import type { GatewayModel } from './model.ts';

/** The ports the local ingress gateway's pod listens on. */
export const supportedGatewayPorts = [8080];

/**
 * The istio-ingressgateway Service's traffic ports and their target ports, as Istio's default gateway installs them
 * (istio/istio manifests/charts/gateways/istio-ingress/values.yaml service.ports: http2 80 → 8080, https 443 → 8443).
 */
export const ingressServicePorts = [
  { port: 80, targetPort: 8080 },
  { port: 443, targetPort: 8443 },
] as const;

/**
 * The port a Gateway server is listened on: istio/istio pilot/pkg/model/gateway.go resolvePorts (label selector) —
 * a server port that is a port of the gateway's Service becomes that port's targetPort; any other is used as written.
 */
export function gatewayListenerPort(number: number): number {
  return ingressServicePorts.find((p) => p.port === number)?.targetPort ?? number;
}

export function parseGateway(object: K8sObject): GatewayModel {
  const at = FieldPath.of('Gateway', object.metadata.name);
  const spec = readObject(object.spec, at.key('spec'), ['selector', 'servers']);
  const namespace = object.metadata.namespace ?? 'default';
  const selector = spec.selector === undefined ? {} : readStringMap(spec.selector, at.key('spec.selector'));
  const servers = readArray(spec.servers ?? [], at.key('spec.servers')).map((s, i) => {
    const sat = at.key('spec.servers').index(i);
    const o = readObject(s, sat, ['port', 'hosts', 'name'], {
      tls: 'TLS servers are not emulated (the local ingress serves plain HTTP)',
      bind: 'binding to specific addresses is not emulated',
      defaultEndpoint: 'default endpoints are not emulated',
    });
    const port = readObject(o.port, sat.key('port'), ['number', 'name', 'protocol', 'targetPort']);
    const number = readNumber(port.number, sat.key('port.number'), { integer: true, min: 1, max: 65535 });
    const listener = gatewayListenerPort(number);
    if (!supportedGatewayPorts.includes(listener)) {
      const via = listener === number ? '' : `, which the istio-ingressgateway Service maps to ${listener}`;
      throw sat
        .key('port.number')
        .error(
          `the local ingress gateway listens on ${supportedGatewayPorts.join(', ')} only: use 8080, or 80 (the gateway Service's port for it) (found ${number}${via})`,
        );
    }
    const protocol = readString(port.protocol ?? 'HTTP', sat.key('port.protocol')).toUpperCase();
    if (protocol !== 'HTTP') throw sat.key('port.protocol').error(`protocol ${protocol} is not emulated (HTTP only)`);
    const hosts = readArray(o.hosts ?? [], sat.key('hosts')).map((h, j) => readString(h, sat.key('hosts').index(j)));
    if (hosts.length === 0) throw sat.key('hosts').error('at least one host is required');
    const split = hosts.map((h, j) => {
      const slash = h.indexOf('/');
      if (slash < 0) return { namespace: '*', host: h };
      const ns = h.slice(0, slash);
      if (ns === '') throw sat.key('hosts').index(j).error('the namespace before "/" cannot be empty');
      return { namespace: ns === '.' ? namespace : ns, host: h.slice(slash + 1) };
    });
    return { port: listener, declaredPort: number, protocol: 'HTTP' as const, hosts: split.map((h) => h.host), hostNamespaces: split.map((h) => h.namespace) };
  });
  return { kind: 'Gateway', name: object.metadata.name, namespace, selector, servers };
}
