// What meshproof adds to the objects it applies, and what it strips from saved objects before putting them back.
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
