// `meshproof cleanup`: undo what runs left behind in a cluster, from their journals (local files and in-cluster
// ConfigMaps), remove objects a run labelled without a journal when meshproof alone manages them, and delete the test
// namespaces of --deploy-echo runs that are gone.
import { hostname } from 'node:os';
import { asError, TargetError } from '../../errors.ts';
import type { RestoreReport } from '../target.ts';
import { describeRef, KubeApi } from './api.ts';
import { mergeJournals, readClusterJournals, readLocalJournals, removeClusterJournal, removeLocalJournal, type Journal } from './journal.ts';
import { onlyManagedByMeshproof, runLabel } from './objects.ts';
import { checkContext, istioKinds, loadKubeConfig } from './preflight.ts';
import { replayJournal } from './restore.ts';
import { echoOwnerHostAnnotation, echoOwnerPidAnnotation, echoRunLabel } from './echo-plan.ts';

/** A journal whose process still runs on this host (not this process): its run is not ours to undo. */
function processAlive(journal: Journal): boolean {
  if (journal.host !== hostname() || journal.pid === process.pid) return false;
  return pidAlive(journal.pid);
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `meshproof cleanup`: replay every unfinished journal of the context's cluster (local files and in-cluster
 * ConfigMaps), then delete objects still labelled by a run that has no journal and that only meshproof manages.
 * Journals of runs whose process is still alive on this host are left alone.
 */
export async function cleanup(options: {
  context?: string;
  allowContext?: boolean;
  kubeconfig?: string;
  log?: (message: string) => void;
}): Promise<RestoreReport[]> {
  const config = loadKubeConfig(options.context, options.kubeconfig);
  const context = config.getCurrentContext();
  checkContext(context, { requested: options.context, allowContext: options.allowContext, server: config.getCurrentCluster()?.server });
  const api = new KubeApi(config);
  const log = options.log ?? (() => {});

  const byRun = new Map<string, Journal>();
  const add = (j: Journal) => {
    const known = byRun.get(j.runId);
    byRun.set(j.runId, known ? mergeJournals(known, j) : j);
  };
  (await readLocalJournals()).filter((j) => j.server === api.server).forEach(add);
  (
    await readClusterJournals(api).catch((error: unknown) => {
      throw new TargetError(`cannot list run journals in context ${context}: ${asError(error).message}`);
    })
  ).forEach(add);

  const reports: RestoreReport[] = [];
  for (const journal of byRun.values()) {
    if (processAlive(journal)) {
      log(`run ${journal.runId} is still running (pid ${journal.pid}); left alone`);
      continue;
    }
    log(`undoing run ${journal.runId} (${journal.entries.length} objects)`);
    const report = await replayJournal(api, journal);
    if (report.errors.length === 0) {
      await removeClusterJournal(api, journal).catch((error: unknown) => report.errors.push(`removing journal ConfigMap: ${asError(error).message}`));
      await removeLocalJournal(journal.runId);
    }
    reports.push(report);
  }

  const live = new Set([...byRun.values()].filter(processAlive).map((j) => j.runId));
  const orphans: RestoreReport = { deleted: [], restored: [], errors: [] };
  for (const { apiVersion, kind } of istioKinds) {
    if (!(await api.resources(apiVersion))?.some((r) => r.kind === kind)) continue;
    for (const object of await api.list(apiVersion, kind, { labelSelector: runLabel })) {
      const run = object.metadata.labels?.[runLabel] ?? '';
      if (live.has(run)) continue;
      const ref = { apiVersion, kind, namespace: object.metadata.namespace, name: object.metadata.name };
      if (onlyManagedByMeshproof(object, 'meshproof')) {
        if (await api.delete(ref, { uid: object.metadata.uid as string })) orphans.deleted.push(describeRef(ref));
      } else {
        orphans.errors.push(`${describeRef(ref)} is labelled ${runLabel}=${run} but no journal of that run exists and others manage it too; left in place`);
      }
    }
  }
  // --deploy-echo's test namespaces of runs that are gone (their journals were replayed above).
  for (const namespace of await api.list('v1', 'Namespace', { labelSelector: echoRunLabel })) {
    const owner = { host: namespace.metadata.annotations?.[echoOwnerHostAnnotation], pid: Number(namespace.metadata.annotations?.[echoOwnerPidAnnotation]) };
    const run = namespace.metadata.labels?.[echoRunLabel] ?? '';
    if (owner.host === hostname() && owner.pid !== process.pid && pidAlive(owner.pid)) {
      log(`test namespace ${namespace.metadata.name} of run ${run} belongs to a run still going (pid ${owner.pid}); left alone`);
      continue;
    }
    if (namespace.metadata.deletionTimestamp) continue;
    const ref = { apiVersion: 'v1', kind: 'Namespace', name: namespace.metadata.name };
    if (await api.delete(ref, { uid: namespace.metadata.uid as string })) orphans.deleted.push(`${describeRef(ref)} (the test namespace of run ${run})`);
  }
  if (orphans.deleted.length + orphans.errors.length > 0) reports.push(orphans);
  return reports;
}
