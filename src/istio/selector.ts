// Which workloads an Istio policy applies to: namespace, workload selector and the root namespace.
//
// Sources (istio/api):
// - security/v1beta1/authorization_policy.proto, request_authentication.proto: "The selector will match with workloads
//   in the same namespace as the policy. If the policy is in the root namespace, the selector will additionally match
//   with workloads in all namespaces"; without a selector the policy applies to every workload of its namespace (all
//   namespaces when it lives in the root namespace).
// - networking/v1alpha3/envoy_filter.proto: `workloadSelector.labels`; "If omitted, the patches will be applied to all
//   workload instances in the same namespace. If the EnvoyFilter is present in the config root namespace, it will be
//   applied to all applicable workloads in any namespace."
// - PeerAuthentication is different (a selector in the root namespace is ignored): see security/peer-authentication.ts.
import { SpecError } from '../errors.ts';
import type { K8sObject, SourcePos } from '../spec/types.ts';

/** Istio's default root namespace (meshConfig.rootNamespace), where mesh-wide policies live. */
export const ROOT_NAMESPACE = 'istio-system';

/** A workload instance as policies see it. */
export interface WorkloadRef {
  namespace: string;
  labels: Record<string, string>;
}

/** Where a policy applies: its namespace and, optionally, the labels its selector requires. */
export interface PolicyScope {
  namespace: string;
  /** Undefined (or empty) means every workload of the namespace (of the mesh, in the root namespace). */
  selector?: Record<string, string>;
}

/** The namespace of an object as applied (Kubernetes defaults to `default`). */
export function objectNamespace(obj: K8sObject): string {
  return obj.metadata.namespace ?? 'default';
}

/** `Kind name` or `Kind namespace/name`, used in error paths. */
export function resourceName(obj: K8sObject): string {
  const ns = obj.metadata.namespace;
  return ns && ns !== 'default' ? `${obj.kind} ${ns}/${obj.metadata.name}` : `${obj.kind} ${obj.metadata.name}`;
}

/** True when every selector label is present with the same value on the workload (Kubernetes matchLabels). */
export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/**
 * AuthorizationPolicy / RequestAuthentication / EnvoyFilter scoping: same namespace, or the root namespace for all
 * namespaces; then the selector (if any) must match the workload's labels.
 */
export function scopeApplies(scope: PolicyScope, workload: WorkloadRef, rootNamespace = ROOT_NAMESPACE): boolean {
  if (scope.namespace !== workload.namespace && scope.namespace !== rootNamespace) return false;
  return labelsMatch(scope.selector, workload.labels);
}

/**
 * Reads `spec.selector.matchLabels` (security policies) or `spec.workloadSelector.labels` (EnvoyFilter).
 * Unknown keys inside the selector are refused with their path. An empty label map means "no selector".
 */
export function readSelector(obj: K8sObject, form: 'selector' | 'workloadSelector', source?: SourcePos): Record<string, string> | undefined {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const raw = spec[form];
  if (raw === undefined || raw === null) return undefined;
  const where = `${resourceName(obj)}: spec.${form}`;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new SpecError(`must be an object`, source, where);
  const key = form === 'selector' ? 'matchLabels' : 'labels';
  for (const k of Object.keys(raw)) {
    if (k !== key) throw new SpecError(`unsupported field (only ${key} is understood)`, source, `${where}.${k}`);
  }
  const labels = (raw as Record<string, unknown>)[key];
  if (labels === undefined || labels === null) return undefined;
  if (typeof labels !== 'object' || Array.isArray(labels)) throw new SpecError(`must be a map of labels`, source, `${where}.${key}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new SpecError(`label values must be strings`, source, `${where}.${key}.${k}`);
    out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
