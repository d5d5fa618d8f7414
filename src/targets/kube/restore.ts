// Undo a run from its journal: delete what the run created, put back exactly what was there before.
// Idempotent: replaying a journal twice, or one already partly replayed, ends in the same state.
import type { RestoreReport } from '../target.ts';
import type { K8sObject } from '../../spec/types.ts';
import { describeRef, KubeApiError, type KubeApi } from './api.ts';
import type { Journal, JournalEntry } from './journal.ts';
import { runLabel, savedForm } from './objects.ts';

export async function replayJournal(api: KubeApi, journal: Journal): Promise<RestoreReport> {
  const report: RestoreReport = { deleted: [], restored: [], errors: [] };
  // Newest first, so an object the run changed twice ends in its oldest state.
  for (const entry of [...journal.entries].reverse()) {
    try {
      if (entry.existed) await putBack(api, entry, report);
      else await deleteOurs(api, entry, journal.runId, report);
    } catch (error) {
      report.errors.push(`${describeRef(entry.ref)}: ${(error as Error).message}`);
    }
  }
  await sweepLabelled(api, journal, report);
  return report;
}

async function putBack(api: KubeApi, entry: JournalEntry, report: RestoreReport): Promise<void> {
  const prior = entry.prior;
  if (!prior) throw new Error('journal entry of an existing object holds no saved object');
  for (let attempt = 0; ; attempt++) {
    const live = await api.get(entry.ref);
    try {
      let written: K8sObject;
      if (live) {
        const desired = savedForm(prior);
        desired.metadata.resourceVersion = live.metadata.resourceVersion as string;
        written = await api.replace(desired);
      } else {
        written = await api.create(savedForm(prior));
      }
      await restoreOwnership(api, prior, written);
      report.restored.push(describeRef(entry.ref));
      return;
    } catch (error) {
      // Someone changed it between our read and write: read again (a few times), then give up loudly.
      if (error instanceof KubeApiError && error.code === 409 && attempt < 3) continue;
      throw error;
    }
  }
}

/**
 * Field ownership as it was (issue 14 D1). The put-back's PUT moves ownership of the fields it changes to meshproof,
 * and a POST that re-creates an object ignores the managedFields it carries, so the owner's next
 * `kubectl apply --server-side` would conflict on fields meshproof never meant to keep. A second PUT that changes no
 * content but carries the journalled managedFields sets them exactly (the real kube-apiserver takes a request's
 * managedFields as given when the request itself changes nothing).
 */
async function restoreOwnership(api: KubeApi, prior: K8sObject, written: K8sObject): Promise<void> {
  const owners = savedForm(prior).metadata.managedFields;
  if (!Array.isArray(owners) || owners.length === 0) return;
  const desired = savedForm(prior);
  desired.metadata.resourceVersion = written.metadata.resourceVersion as string;
  await api.replace(desired);
}

async function deleteOurs(api: KubeApi, entry: JournalEntry, runId: string, report: RestoreReport): Promise<void> {
  const live = await api.get(entry.ref);
  if (!live) return;
  if (live.metadata.labels?.[runLabel] !== runId) {
    report.errors.push(`${describeRef(entry.ref)} was created after this run started by someone else (no ${runLabel}=${runId} label); left in place`);
    return;
  }
  const uid = live.metadata.uid as string | undefined;
  if (await api.delete(entry.ref, uid ? { uid } : undefined)) report.deleted.push(describeRef(entry.ref));
}

/** Anything else still labelled with this run (of the kinds the journal names) is ours and is deleted. */
async function sweepLabelled(api: KubeApi, journal: Journal, report: RestoreReport): Promise<void> {
  const kinds = new Map<string, { apiVersion: string; kind: string; namespaces: Set<string | undefined> }>();
  for (const { ref } of journal.entries) {
    const key = `${ref.apiVersion}/${ref.kind}`;
    const known = kinds.get(key) ?? { apiVersion: ref.apiVersion, kind: ref.kind, namespaces: new Set() };
    known.namespaces.add(ref.namespace);
    kinds.set(key, known);
  }
  const restored = new Set(journal.entries.filter((e) => e.existed).map((e) => describeRef(e.ref)));
  for (const { apiVersion, kind, namespaces } of kinds.values()) {
    for (const namespace of namespaces) {
      let objects: K8sObject[];
      try {
        objects = await api.list(apiVersion, kind, { namespace, labelSelector: `${runLabel}=${journal.runId}` });
      } catch (error) {
        report.errors.push(`listing ${kind} labelled ${runLabel}=${journal.runId}: ${(error as Error).message}`);
        continue;
      }
      for (const object of objects) {
        const ref = { apiVersion, kind, namespace: object.metadata.namespace, name: object.metadata.name };
        const name = describeRef(ref);
        if (restored.has(name)) {
          report.errors.push(`${name} still carries ${runLabel}=${journal.runId} after it was put back`);
          continue;
        }
        try {
          if (await api.delete(ref)) report.deleted.push(name);
        } catch (error) {
          report.errors.push(`${name}: ${(error as Error).message}`);
        }
      }
    }
  }
}
