// The calls an echo workload is configured to make must reach a Service of the mesh on one of its ports: a typo in a
// URL is refused with the annotation field that holds it, not discovered as 502s in a run.
import { FieldPath } from '../../istio/networking/fields.ts';
import { fqdn } from '../../istio/networking/routing.ts';
import { echoAnnotation, type EchoCall } from './apps/echo-config.ts';
import type { ServiceInfo } from './proxy/config-view.ts';
import type { WorkloadSpec } from './topology.ts';

export function checkEchoCalls(w: WorkloadSpec, services: Map<string, ServiceInfo>): void {
  if (!w.echo) return;
  const annotation = FieldPath.of('Deployment', w.deployment).key('spec.template.metadata.annotations').entry(echoAnnotation);
  const check = (calls: EchoCall[], at: FieldPath) => calls.forEach((call, i) => {
    const colon = call.authority.lastIndexOf(':');
    const host = colon > 0 ? call.authority.slice(0, colon) : call.authority;
    const port = colon > 0 ? Number(call.authority.slice(colon + 1)) : 80;
    const service = services.get(fqdn(host, w.namespace));
    const field = at.key('calls').index(i).key('url');
    if (!service) {
      const known = [...services.values()].map((s) => (s.namespace === w.namespace ? s.name : `${s.name}.${s.namespace}`)).sort();
      throw field.error(`no Service ${host} (from namespace ${w.namespace}); the mesh has ${known.join(', ')}`);
    }
    if (!service.ports.includes(port)) throw field.error(`Service ${host} has no port ${port} (its ports: ${service.ports.join(', ')})`);
  });
  check(w.echo.calls, annotation);
  for (const p of w.echo.paths) check(p.behaviour.calls, annotation.key('paths').entry(p.prefix));
}
