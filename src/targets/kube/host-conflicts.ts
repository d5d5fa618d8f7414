// A VirtualService an experiment applies that istiod would ignore for the namespace's sidecars: istiod orders
// VirtualServices by creation time, then name (pilot/pkg/model/config.go configCompareByCreationTime), a namespace's
// own before the others, and builds one virtual host per domain, so for a host that two VirtualServices of the same
// namespace route for the mesh, only the older one reaches a sidecar (Istio's analyzer IST0109,
// ConflictingMeshGatewayVirtualServiceHosts). On a cluster that already has such an object, the experiment would
// measure the old routes and its verdicts would be about something else: meshproof refuses to start it.
import type { K8sObject } from '../../spec/types.ts';
import { valueText } from '../../spec/untyped.ts';

interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
}

/** The FQDNs a VirtualService routes for sidecars (no `gateways`, or `mesh` among them). */
function meshHosts(vs: K8sObject, namespace: string): string[] {
  const spec = (vs.spec ?? {}) as VirtualServiceSpec;
  const gateways = spec.gateways ?? [];
  if (gateways.length > 0 && !gateways.includes('mesh')) return [];
  return (spec.hosts ?? []).map((h) => (h.includes('.') || h === '*' ? h : `${h}.${namespace}.svc.cluster.local`));
}

// Only the same host: how istiod expands a wildcard host against the registry is not judged here (no false refusals).
const overlaps = (a: string, b: string) => a === b;

/** istiod's order: creation time, then name. A VirtualService not created yet comes after every existing one. */
function before(a: K8sObject, b: K8sObject | undefined): boolean {
  if (!b) return true;
  const ta = Date.parse(valueText(a.metadata.creationTimestamp ?? ''));
  const tb = Date.parse(valueText(b.metadata.creationTimestamp ?? ''));
  if (ta !== tb) return ta < tb;
  return a.metadata.name < b.metadata.name;
}

export interface ShadowedHost {
  /** The experiment's VirtualService, as applied. */
  resource: K8sObject;
  host: string;
  /** Its index in spec.hosts. */
  index: number;
  /** The existing VirtualService that wins, and when it was created. */
  by: string;
  created: string;
}

/**
 * For each VirtualService the experiment applies (in `namespace` unless it names one), the hosts an older
 * VirtualService of the same namespace already routes for the mesh. `live` is every VirtualService in the cluster;
 * `existing` finds the live copy of one the experiment replaces (its creation time stays).
 */
export function shadowedHosts(applied: K8sObject[], live: K8sObject[], namespace: string): ShadowedHost[] {
  const out: ShadowedHost[] = [];
  for (const vs of applied) {
    if (vs.kind !== 'VirtualService') continue;
    const ns = vs.metadata.namespace ?? namespace;
    const mine = live.find((o) => o.metadata.name === vs.metadata.name && (o.metadata.namespace ?? namespace) === ns);
    for (const other of live) {
      if ((other.metadata.namespace ?? namespace) !== ns || other.metadata.name === vs.metadata.name) continue;
      // Another VirtualService the experiment applies too is its own business (both are the user's words).
      if (applied.some((a) => a.kind === 'VirtualService' && a.metadata.name === other.metadata.name && (a.metadata.namespace ?? namespace) === ns)) continue;
      if (!before(other, mine)) continue;
      for (const [index, host] of meshHosts(vs, ns).entries()) {
        const theirs = meshHosts(other, ns).find((h) => overlaps(h, host));
        if (theirs)
          out.push({ resource: vs, host, index, by: `${ns}/${other.metadata.name}`, created: valueText(other.metadata.creationTimestamp ?? 'unknown') });
      }
    }
  }
  return out;
}
