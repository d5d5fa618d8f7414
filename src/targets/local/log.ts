// The mesh's log: what a real mesh would show in `kubectl logs` (an app's traceback, a proxy's internal error). Lines go
// to stderr (the mesh child inherits the parent's) and the last few stay in memory for tests and diagnostics.

export interface MeshLogEntry {
  /** The workload or proxy that logged it. */
  source: string;
  message: string;
}

const kept = 200;
const entries: MeshLogEntry[] = [];
let quiet = false;

export function meshLog(source: string, message: string): void {
  entries.push({ source, message });
  if (entries.length > kept) entries.shift();
  if (!quiet) process.stderr.write(`[local mesh] ${source}: ${message}\n`);
}

/** Log an exception with its stack (the stack is what a maintainer needs to fix an emulator bug). */
export function meshLogError(source: string, what: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  meshLog(source, `${what}: ${detail}`);
}

/** The most recent entries, oldest first. */
export function recentMeshLog(): readonly MeshLogEntry[] {
  return entries;
}

/** Tests that provoke errors on purpose keep stderr clean. */
export function setMeshLogQuiet(value: boolean): void {
  quiet = value;
}
