// The calls an echo workload is configured to make must reach a Service of the mesh on one of its ports: a typo in a
// URL is refused with the annotation field that holds it, not discovered as 502s in a run.
import { FieldPath } from '../../istio/networking/fields.ts';
import { fqdn } from '../../istio/networking/routing.ts';
import { echoAnnotation, type EchoCall } from './apps/echo-config.ts';
import type { ServiceInfo } from './proxy/config-view.ts';
import type { ExternalHostSpec } from './external-host.ts';
import type { WorkloadSpec } from './topology.ts';
import { splitAuthority } from './authority.ts';

/**
 * A call names a Service (or ServiceEntry host) and one of its ports; an https call names an external host: a
 * ServiceEntry's, or one the scenario gives a stand-in (ExternalHost) though no entry registers it (a call the mesh
 * may block, which an experiment may want to show).
 */
export function checkEchoCalls(w: WorkloadSpec, services: Map<string, ServiceInfo>, externalHosts: ReadonlyMap<string, ExternalHostSpec> = new Map()): void {
  if (!w.echo) return;
  const annotation = FieldPath.of('Deployment', w.deployment).key('spec.template.metadata.annotations').entry(echoAnnotation);
  const check = (calls: EchoCall[], at: FieldPath) =>
    calls.forEach((call, i) => {
      const { host, port } = splitAuthority(call.authority);
      const service = services.get(fqdn(host, w.namespace));
      const field = at.key('calls').index(i).key('url');
      if (call.tls) {
        if (service && !service.external)
          throw field.error(`${host} is a Service of the mesh: call it with http:// (its sidecar originates mTLS); https:// is for external hosts`);
        const standIn = externalHosts.get(host);
        if (!service && !standIn) throw field.error(`no ServiceEntry or ExternalHost (stand-in) for ${host}: the local mesh reaches no host outside it`);
        if (!service?.ports.includes(port) && !standIn?.ports.some((p) => p.number === port)) throw field.error(`${host} has no port ${port}`);
        return;
      }
      if (!service && externalHosts.has(host)) return;
      if (!service) {
        const known = [...services.values()].map((s) => (s.namespace === w.namespace ? s.name : `${s.name}.${s.namespace}`)).sort();
        throw field.error(`no Service ${host} (from namespace ${w.namespace}); the mesh has ${known.join(', ')}`);
      }
      if (!service.ports.includes(port)) throw field.error(`Service ${host} has no port ${port} (its ports: ${service.ports.join(', ')})`);
    });
  check(w.echo.calls, annotation);
  for (const p of w.echo.paths) check(p.behaviour.calls, annotation.key('paths').entry(p.prefix));
}
