// An external host's local stand-in, as a scenario declares it: nothing leaves loopback, so a host outside the mesh
// (api.openai.com) is answered by a server meshproof starts on a loopback address of the mesh, which the mesh's own
// name resolution maps the host to.
//
//   apiVersion: meshproof.dev/v1alpha1
//   kind: ExternalHost
//   metadata: { name: api.openai.com }              # the host name
//   spec:
//     ports: [ { number: 443, protocol: HTTPS } ]   # optional: 443 HTTPS. HTTPS: TLS with a self-signed
//                                                   # certificate for the host; HTTP: plain
//     paths:                                        # optional: documents it serves (e.g. a JWKS); any other
//       /.well-known/jwks.json:                     # path is answered as an echo
//         contentType: application/json
//         body: '{"keys": [...]}'
import type { K8sObject } from '../../spec/types.ts';
import { FieldPath, isObj, readArray, readNumber, readObject, readString } from '../../istio/networking/fields.ts';

export const EXTERNAL_HOST_API_VERSION = 'meshproof.dev/v1alpha1';

export interface ExternalHostSpec {
  host: string;
  ports: { number: number; protocol: 'HTTPS' | 'HTTP' }[];
  /** Documents served at exact paths (the query ignored), on every port. */
  paths?: Record<string, { body: string; contentType: string; status: number }>;
}

const HOST = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;

export function parseExternalHost(object: K8sObject): ExternalHostSpec {
  const at = FieldPath.of('ExternalHost', object.metadata.name);
  const host = object.metadata.name.toLowerCase();
  if (!HOST.test(host))
    throw at.key('metadata.name').error(`the name is the external host's DNS name (e.g. api.openai.com), found ${JSON.stringify(object.metadata.name)}`);
  if (host.endsWith('.cluster.local') || host.endsWith('.svc'))
    throw at.key('metadata.name').error("a host inside the cluster's domain is a Service, not an external host");
  const spec = readObject(object.spec ?? {}, at.key('spec'), ['ports', 'paths']);
  const portsAt = at.key('spec.ports');
  const ports =
    spec.ports === undefined
      ? [{ number: 443, protocol: 'HTTPS' as const }]
      : readArray(spec.ports, portsAt).map((p, i): ExternalHostSpec['ports'][number] => {
          const o = readObject(p, portsAt.index(i), ['number', 'protocol']);
          const number = readNumber(o.number, portsAt.index(i).key('number'), { integer: true, min: 1, max: 65535 });
          const protocol = readString(o.protocol ?? 'HTTPS', portsAt.index(i).key('protocol')).toUpperCase();
          if (protocol !== 'HTTPS' && protocol !== 'HTTP') throw portsAt.index(i).key('protocol').error(`a stand-in answers HTTPS or HTTP, found ${protocol}`);
          return { number, protocol };
        });
  if (ports.length === 0) throw portsAt.error('at least one port is required');
  if (new Set(ports.map((p) => p.number)).size !== ports.length) throw portsAt.error('a port is listed twice');
  let paths: ExternalHostSpec['paths'];
  if (spec.paths !== undefined) {
    paths = {};
    const pathsAt = at.key('spec.paths');
    if (!isObj(spec.paths)) throw pathsAt.error('expected a map of paths');
    for (const [path, raw] of Object.entries(spec.paths)) {
      const pathAt = pathsAt.entry(path);
      if (!path.startsWith('/')) throw pathAt.error('a path starts with /');
      const o = readObject(raw, pathAt, ['body', 'contentType', 'status']);
      paths[path] = {
        body: readString(o.body, pathAt.key('body')),
        contentType: o.contentType === undefined ? 'text/plain' : readString(o.contentType, pathAt.key('contentType')),
        status: o.status === undefined ? 200 : readNumber(o.status, pathAt.key('status'), { integer: true, min: 200, max: 599 }),
      };
    }
  }
  return { host, ports, ...(paths ? { paths } : {}) };
}
