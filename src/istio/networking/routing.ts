// Host names and VirtualService visibility as istiod resolves them (the routes themselves are built by
// src/istio/xds/routes.ts and run by src/envoy/runtime).
import type { VirtualServiceModel } from './model.ts';

export const clusterDomain = 'svc.cluster.local';

/** `reviews` → `reviews.default.svc.cluster.local` (the forms Kubernetes DNS resolves in one namespace). */
/**
 * A host as a resource names it, resolved as istiod resolves VirtualService hosts and destinations
 * (pkg/config/model.go ResolveShortnameToFQDN with the CRD store's domain cluster.local): only a name without a dot
 * becomes `<name>.<namespace>.svc.cluster.local`; anything with a dot (`reviews.default`, an FQDN, a wildcard) is
 * taken as written — so `reviews.default` names no Kubernetes Service.
 */
export function resolveShortname(host: string, namespace = 'default'): string {
  const h = host.toLowerCase();
  if (h === '*' || h.includes('.')) return h;
  return `${h}.${namespace}.${clusterDomain}`;
}

/** The Service FQDN an HTTP authority's host names, the ways Envoy's virtual host domains accept it (`reviews`,
 * `reviews.default`, `reviews.default.svc`, the FQDN). Not for hosts written in resources: see resolveShortname. */
export function fqdn(host: string, namespace = 'default'): string {
  const h = host.toLowerCase();
  if (h === '*' || h.startsWith('*.')) return h;
  if (h.endsWith(`.${clusterDomain}`)) return h;
  const parts = h.split('.');
  if (parts.length === 1) return `${h}.${namespace}.${clusterDomain}`;
  if (parts.length === 2) return `${h}.${clusterDomain}`;
  if (parts.length === 3 && parts[2] === 'svc') return `${h}.cluster.local`;
  return h;
}

/** How specifically `pattern` matches `host`: exact > longer wildcard > `*`; -1 when it does not match. */
export function hostMatchScore(pattern: string, host: string): number {
  if (pattern === host) return 10_000;
  if (pattern === '*') return 0;
  if (pattern.startsWith('*.') && host.endsWith(pattern.slice(1))) return pattern.length;
  return -1;
}

/** Whether a proxy of `namespace` sees `vs` (exportTo; Istio's default is every namespace). */
export function virtualServiceVisible(vs: VirtualServiceModel, namespace: string): boolean {
  return vs.exportTo === undefined || vs.exportTo.includes('*') || vs.exportTo.includes(namespace);
}

/**
 * push_context.go VirtualServicesForGateway order, for a proxy of `namespace`: its namespace's private
 * VirtualServices, then those exported to it by name, then the public ones.
 */
export function visibilityRank(vs: VirtualServiceModel, namespace: string): number {
  if (vs.exportTo === undefined || vs.exportTo.includes('*')) return 2;
  return vs.namespace === namespace ? 0 : 1;
}
