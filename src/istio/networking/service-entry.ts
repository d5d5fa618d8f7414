// ServiceEntry: hosts outside the mesh added to its registry (networking.istio.io ServiceEntry), as istiod converts
// one (pilot/pkg/serviceregistry/serviceentry/conversion.go convertServices: a model.Service per host, MeshExternal
// from `location`, its ports with their protocol, the resolution). Read strictly: what changes behaviour and is not
// emulated is refused with its field path.
import type { K8sObject } from '../../spec/types.ts';
import { FieldPath, readArray, readNumber, readObject, readString } from './fields.ts';

/** The port protocols a ServiceEntry may name here (protocol.Parse): HTTP takes the HTTP path, the others TCP proxying. */
export const serviceEntryProtocols = ['HTTP', 'HTTPS', 'TLS', 'TCP'] as const;
export type ServiceEntryProtocol = (typeof serviceEntryProtocols)[number];

export interface ServiceEntryPort {
  number: number;
  name: string;
  protocol: ServiceEntryProtocol;
}

export interface ServiceEntryModel {
  name: string;
  namespace: string;
  hosts: string[];
  ports: ServiceEntryPort[];
  /** DNS: a STRICT_DNS cluster resolving each host; NONE: an original-destination cluster (the address the app resolved). */
  resolution: 'DNS' | 'NONE';
  /** Namespaces the entry is visible to (`.` resolved to its own); absent or empty: every namespace. */
  exportTo?: string[];
}

const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function parseServiceEntry(object: K8sObject): ServiceEntryModel {
  const at = FieldPath.of('ServiceEntry', object.metadata.name);
  const namespace = object.metadata.namespace ?? 'default';
  const spec = readObject(object.spec, at.key('spec'), ['hosts', 'ports', 'location', 'resolution', 'exportTo'], {
    addresses: 'virtual IPs are not emulated (the local mesh reaches an external host by name: its SNI or Host header)',
    endpoints: "explicit endpoints are addresses outside the local mesh; a scenario's external stand-in answers for a host name instead (resolution: DNS)",
    workloadSelector: 'WorkloadEntries are not emulated',
    subjectAltNames: 'the SANs are checked only when a sidecar originates Istio mTLS to the entry, which the local mesh does not do for external hosts',
  });
  const hostsAt = at.key('spec.hosts');
  const hosts = readArray(spec.hosts ?? [], hostsAt).map((h, i) => {
    const host = readString(h, hostsAt.index(i)).toLowerCase();
    if (host.startsWith('*')) throw hostsAt.index(i).error('wildcard hosts are not emulated (each external host needs its own stand-in)');
    if (!HOST.test(host)) throw hostsAt.index(i).error(`not a DNS name: ${JSON.stringify(host)}`);
    return host;
  });
  if (hosts.length === 0) throw hostsAt.error('at least one host is required');
  const portsAt = at.key('spec.ports');
  const seen = new Set<number>();
  const ports = readArray(spec.ports ?? [], portsAt).map((p, i) => {
    const pat = portsAt.index(i);
    const o = readObject(p, pat, ['number', 'name', 'protocol'], {
      targetPort: 'a target port applies to explicit endpoints, which are not emulated',
    });
    const number = readNumber(o.number, pat.key('number'), { integer: true, min: 1, max: 65535 });
    if (seen.has(number)) throw pat.key('number').error(`port ${number} is listed twice`);
    seen.add(number);
    const name = o.name === undefined ? '' : readString(o.name, pat.key('name'));
    // conversion.go convertPort: protocol.Parse(port.Protocol); an empty one is Unsupported.
    if (o.protocol === undefined) throw pat.key('protocol').error(`required (one of ${serviceEntryProtocols.join(', ')})`);
    const protocol = readString(o.protocol, pat.key('protocol')).toUpperCase();
    if (!(serviceEntryProtocols as readonly string[]).includes(protocol)) {
      throw pat.key('protocol').error(`protocol ${protocol} is not emulated for external hosts (supported here: ${serviceEntryProtocols.join(', ')})`);
    }
    return { number, name, protocol: protocol as ServiceEntryProtocol };
  });
  if (ports.length === 0) throw portsAt.error('at least one port is required');
  const location = readString(spec.location ?? 'MESH_EXTERNAL', at.key('spec.location'));
  if (location !== 'MESH_EXTERNAL') {
    throw at
      .key('spec.location')
      .error(`${location} is not emulated: only MESH_EXTERNAL entries (hosts outside the mesh, answered by a scenario's external stand-in)`);
  }
  const resolution = readString(spec.resolution ?? 'NONE', at.key('spec.resolution'));
  if (resolution !== 'DNS' && resolution !== 'NONE') {
    const why =
      resolution === 'STATIC'
        ? "STATIC sends to the entry's endpoint addresses, which are outside the local mesh; use DNS (the host name resolves to its stand-in)"
        : `${resolution} is not emulated (supported here: DNS, NONE)`;
    throw at.key('spec.resolution').error(why);
  }
  const exportTo =
    spec.exportTo === undefined
      ? undefined
      : readArray(spec.exportTo, at.key('spec.exportTo')).map((e, i) => {
          const value = readString(e, at.key('spec.exportTo').index(i));
          return value === '.' ? namespace : value;
        });
  return { name: object.metadata.name, namespace, hosts, ports, resolution, ...(exportTo ? { exportTo } : {}) };
}
