// What meshproof adds to the objects it applies, and what it strips from saved objects before putting them back.
import { isDeepStrictEqual } from 'node:util';
import type { K8sObject } from '../../spec/types.ts';
import { TargetError } from '../../errors.ts';
import type { ObjectRef } from './api.ts';

export const runLabel = 'meshproof.dev/run';
export const journalLabel = 'meshproof.dev/journal';

/** A run id is a label value: at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
const labelValuePattern = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function checkRunId(runId: string): void {
  if (!labelValuePattern.test(runId)) {
    throw new TargetError(`run id "${runId}" cannot label Kubernetes objects: use at most 63 letters, digits, '-', '_' or '.'`);
  }
}

/** Name of the in-cluster journal ConfigMap of a run (a DNS subdomain; distinct run ids give distinct names). */
export function journalConfigMapName(runId: string): string {
  const lower = runId.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (lower === runId) return `meshproof-journal-${runId}`;
  let hash = 0;
  for (const c of runId) hash = (Math.imul(hash, 31) + c.charCodeAt(0)) >>> 0;
  return `meshproof-journal-${lower}-${hash.toString(36)}`;
}

/** Namespaced kinds without a namespace go to `namespace`; the run label is added; the caller's object is not changed. */
export function labelledForRun(object: K8sObject, runId: string, namespace: string | undefined): K8sObject {
  const copy = structuredClone(object);
  if (namespace !== undefined && copy.metadata.namespace === undefined) copy.metadata.namespace = namespace;
  copy.metadata.labels = { ...(copy.metadata.labels ?? {}), [runLabel]: runId };
  return copy;
}

/** Fields the API server sets and owns; a saved object is put back without them. */
const serverManagedMetadata = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
] as const;

/** The saved form of an existing object: everything a client may set (spec, data, labels, annotations, ...). */
export function savedForm(live: K8sObject): K8sObject {
  const copy = structuredClone(live);
  for (const key of serverManagedMetadata) delete copy.metadata[key];
  delete copy.status;
  if (Array.isArray(copy.metadata.managedFields) && copy.metadata.managedFields.length === 0) delete copy.metadata.managedFields;
  return copy;
}

/** What "restored exactly" compares: the saved form without ownership bookkeeping. */
export function comparableForm(object: K8sObject): K8sObject {
  const copy = savedForm(object);
  delete copy.metadata.managedFields;
  if (copy.metadata.labels && Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  if (copy.metadata.annotations && Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  return copy;
}

export function refKey(ref: ObjectRef): string {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
  return `${group}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** True when every manager of the object is meshproof: it was created by a meshproof run. */
export function onlyManagedByMeshproof(object: K8sObject, manager: string): boolean {
  const fields = object.metadata.managedFields;
  if (!Array.isArray(fields) || fields.length === 0) return false;
  return fields.every((f) => (f as { manager?: string }).manager === manager);
}

/**
 * What meshproof PUTs over an object that exists: the experiment's object replaces it whole — spec and every other
 * field it gives, so fields another tool set that the experiment does not mention are gone while the run lasts
 * (server-side apply would keep fields other managers own). Labels and annotations the experiment does not name are
 * kept (e.g. `istio.io/rev`, which decides which istiod reads the object), as are finalizers and owner references.
 * `resourceVersion` makes the PUT conditional on the object read (and journalled) just before.
 */
export function replacementFor(desired: K8sObject, live: K8sObject): K8sObject {
  const kept = savedForm(live).metadata;
  delete kept.managedFields;
  const copy = structuredClone(desired);
  copy.metadata = {
    ...kept,
    ...copy.metadata,
    labels: { ...(live.metadata.labels ?? {}), ...(desired.metadata.labels ?? {}) },
    annotations: { ...(live.metadata.annotations ?? {}), ...(desired.metadata.annotations ?? {}) },
    resourceVersion: live.metadata.resourceVersion as string,
  };
  if (Object.keys(copy.metadata.annotations ?? {}).length === 0) delete copy.metadata.annotations;
  return copy;
}

/**
 * Does istiod push after `prev` became `next`? Istio skips the push for an update of an Istio kind whose spec is
 * unchanged unless a label or annotation key of either contains `istio.io` (pilot/pkg/bootstrap/config_compare.go,
 * needsPush). Specs are compared as JSON values: istiod compares parsed protos, which also equate an explicit default
 * (`weight: 0`) with an absent field; such a spec counts as changed here, so meshproof waits rather than trusting an
 * old push — a timeout, never a verdict on the old config.
 */
export function pushesOnUpdate(prev: K8sObject, next: K8sObject): boolean {
  const slash = next.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : next.apiVersion.slice(0, slash);
  if (!group.endsWith('istio.io')) return true;
  for (const o of [prev, next]) {
    for (const key of [...Object.keys(o.metadata.labels ?? {}), ...Object.keys(o.metadata.annotations ?? {})]) if (key.includes('istio.io')) return true;
  }
  const plain = (value: unknown) => JSON.parse(JSON.stringify(value ?? null)) as unknown;
  return !isDeepStrictEqual(plain(prev.spec), plain(next.spec));
}
