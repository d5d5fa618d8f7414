// The journal of a run: written BEFORE each change, in a local file and in a ConfigMap in the cluster, so that a run
// killed at any point can be undone later by `meshproof cleanup` (which replays it: restore.ts).
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import type { K8sObject } from '../../spec/types.ts';
import type { KubeApi, ObjectRef } from './api.ts';
import { journalConfigMapName, journalLabel, refKey } from './objects.ts';
import { field } from '../../spec/untyped.ts';

export interface JournalEntry {
  ref: ObjectRef;
  /** The object existed before the run: `prior` is its saved form (objects.ts savedForm), put back on restore. */
  existed: boolean;
  prior?: K8sObject;
}

export interface Journal {
  format: 1;
  runId: string;
  /** kubeconfig context and API server the run changed. */
  context: string;
  server: string;
  /** Namespace of the in-cluster copy. */
  namespace: string;
  /** The process that owns the run; cleanup leaves a journal alone while that process lives. */
  pid: number;
  host: string;
  createdAt: string;
  entries: JournalEntry[];
}

export function newJournal(fields: { runId: string; context: string; server: string; namespace: string }): Journal {
  return { format: 1, ...fields, pid: process.pid, host: hostname(), createdAt: new Date().toISOString(), entries: [] };
}

/** ${XDG_STATE_HOME:-~/.local/state}/meshproof/journal */
export function journalDir(): string {
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'meshproof', 'journal');
}

function journalFile(runId: string): string {
  return join(journalDir(), `${runId}.json`);
}

/** Write the journal durably: a temporary file, fsync, rename (a crash leaves the old or the new file, never half). */
export async function writeLocalJournal(journal: Journal): Promise<void> {
  await mkdir(journalDir(), { recursive: true });
  const file = journalFile(journal.runId);
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(JSON.stringify(journal, null, 1));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

export async function removeLocalJournal(runId: string): Promise<void> {
  await rm(journalFile(runId), { force: true });
}

export async function readLocalJournals(): Promise<Journal[]> {
  const dir = journalDir();
  if (!existsSync(dir)) return [];
  const journals: Journal[] = [];
  for (const name of (await readdir(dir)).sort()) {
    await removeIfStaleTemp(dir, name);
    if (!name.endsWith('.json')) continue;
    try {
      const parsed: unknown = JSON.parse(await readFile(join(dir, name), 'utf8'));
      if (field(parsed, 'format') === 1 && Array.isArray(field(parsed, 'entries'))) journals.push(parsed as Journal);
    } catch {
      // A journal that cannot be read is left for a person to look at; it is never half-written (see writeLocalJournal).
    }
  }
  return journals;
}

/**
 * A process killed between writing its temporary file and renaming it leaves `<run>.json.<pid>.tmp` behind; the
 * journal it was replacing is intact. Such a file is removed once its writer is gone (never while it may still rename).
 */
async function removeIfStaleTemp(dir: string, name: string): Promise<void> {
  const writer = /\.json\.(\d+)\.tmp$/.exec(name);
  if (!writer || processAlive(Number(writer[1]))) return;
  await rm(join(dir, name), { force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function journalConfigMap(journal: Journal): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: journalConfigMapName(journal.runId),
      namespace: journal.namespace,
      labels: { [journalLabel]: journal.runId },
    },
    data: { 'journal.json': JSON.stringify(journal) },
  };
}

export async function writeClusterJournal(api: KubeApi, journal: Journal): Promise<void> {
  await api.apply(journalConfigMap(journal), { force: true });
}

export async function removeClusterJournal(api: KubeApi, journal: Pick<Journal, 'runId' | 'namespace'>): Promise<void> {
  await api.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: journal.namespace, name: journalConfigMapName(journal.runId) });
}

export async function readClusterJournals(api: KubeApi): Promise<Journal[]> {
  const maps = await api.list<K8sObject & { data?: Record<string, string> }>('v1', 'ConfigMap', { labelSelector: journalLabel });
  const journals: Journal[] = [];
  for (const map of maps) {
    const text = map.data?.['journal.json'];
    if (!text) continue;
    try {
      journals.push(JSON.parse(text) as Journal);
    } catch {
      // as above: unreadable journals are left in place
    }
  }
  return journals;
}

/** Merge the local and in-cluster copies of one run's journal (either may be a step behind the other). */
export function mergeJournals(a: Journal, b: Journal): Journal {
  const entries = new Map<string, JournalEntry>();
  for (const entry of [...a.entries, ...b.entries]) {
    const key = refKey(entry.ref);
    if (!entries.has(key)) entries.set(key, entry);
  }
  return { ...a, entries: [...entries.values()] };
}

/** Writes a run's journal to both places, local first, before every change. */
export class JournalWriter {
  constructor(
    private readonly api: KubeApi,
    readonly journal: Journal,
  ) {}

  has(ref: ObjectRef): boolean {
    const key = refKey(ref);
    return this.journal.entries.some((e) => refKey(e.ref) === key);
  }

  /** Record entries and persist them; resolves only when both copies hold them. */
  async record(entries: JournalEntry[]): Promise<void> {
    for (const entry of entries) if (!this.has(entry.ref)) this.journal.entries.push(entry);
    await writeLocalJournal(this.journal);
    await writeClusterJournal(this.api, this.journal);
  }

  /** Replace the entry of `entry.ref` (the object changed between the journal write and meshproof's change). */
  async update(entry: JournalEntry): Promise<void> {
    const key = refKey(entry.ref);
    this.journal.entries = this.journal.entries.map((e) => (refKey(e.ref) === key ? entry : e));
    await writeLocalJournal(this.journal);
    await writeClusterJournal(this.api, this.journal);
  }

  async remove(): Promise<void> {
    await removeClusterJournal(this.api, this.journal);
    await removeLocalJournal(this.journal.runId);
  }
}
