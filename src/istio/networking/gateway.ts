// Gateway: the servers of the ingress gateway. The local ingress serves plain HTTP on port 8080 (what Bookinfo uses).
import type { K8sObject } from '../../spec/types.ts';
import { FieldPath, readArray, readNumber, readObject, readString, readStringMap } from './fields.ts';
import type { GatewayModel } from './model.ts';

export const supportedGatewayPorts = [8080];

export function parseGateway(object: K8sObject): GatewayModel {
  const at = FieldPath.of('Gateway', object.metadata.name);
  const spec = readObject(object.spec, at.key('spec'), ['selector', 'servers']);
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
    if (!supportedGatewayPorts.includes(number)) {
      throw sat.key('port.number').error(`the local ingress gateway listens on ${supportedGatewayPorts.join(', ')} only (found ${number})`);
    }
    const protocol = readString(port.protocol ?? 'HTTP', sat.key('port.protocol')).toUpperCase();
    if (protocol !== 'HTTP') throw sat.key('port.protocol').error(`protocol ${protocol} is not emulated (HTTP only)`);
    const hosts = readArray(o.hosts ?? [], sat.key('hosts')).map((h, j) => readString(h, sat.key('hosts').index(j)));
    if (hosts.length === 0) throw sat.key('hosts').error('at least one host is required');
    return { port: number, protocol: 'HTTP' as const, hosts: hosts.map((h) => (h.includes('/') ? h.slice(h.indexOf('/') + 1) : h)) };
  });
  return { kind: 'Gateway', name: object.metadata.name, namespace: object.metadata.namespace ?? 'default', selector, servers };
}
