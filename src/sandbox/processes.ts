// The sandbox's long-running processes: started detached with their output in logs/<name>.log, recorded in
// pids/<name>.json, and stopped only when the recorded pid is still the process that was started: the same binary
// and the same start time (pids wrap at 32,768 here, and every sandbox of the test suite runs the same etcd binary, so
// a binary alone cannot tell a reused pid from ours).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcessRecord {
  name: string;
  pid: number;
  binary: string;
  args: string[];
  log: string;
  /** When the process started, in clock ticks after boot (/proc/<pid>/stat field 22); absent in older records. */
  startTicks?: number;
}

export function startDetached(
  name: string,
  binary: string,
  args: string[],
  dirs: { logs: string; pids: string },
  env: NodeJS.ProcessEnv = process.env,
): ProcessRecord {
  mkdirSync(dirs.logs, { recursive: true });
  mkdirSync(dirs.pids, { recursive: true });
  const log = join(dirs.logs, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`${name} did not start (${binary})`);
  const startTicks = startTicksOf(child.pid);
  const record: ProcessRecord = { name, pid: child.pid, binary, args, log, ...(startTicks !== undefined ? { startTicks } : {}) };
  writeFileSync(join(dirs.pids, `${name}.json`), JSON.stringify(record, null, 2));
  return record;
}

/** The recorded process if it still runs its binary. */
export function runningRecord(pidsDir: string, name: string): ProcessRecord | undefined {
  const file = join(pidsDir, `${name}.json`);
  if (!existsSync(file)) return undefined;
  const record = JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord;
  return isRecorded(record) ? record : undefined;
}

/** The recorded process itself: its pid runs its binary and, when the record has it, started at its start time. */
export function isRecorded(record: ProcessRecord): boolean {
  if (!runsBinary(record.pid, record.binary)) return false;
  return record.startTicks === undefined || startTicksOf(record.pid) === record.startTicks;
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
export function startTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

export function recordedNames(pidsDir: string): string[] {
  if (!existsSync(pidsDir)) return [];
  return readdirSync(pidsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length));
}

/** True when pid is alive and its executable is `binary` (via /proc: a zombie or a reused pid is not ours). */
export function runsBinary(pid: number, binary: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === binary;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; waits until the process is gone. Removes the pid file. */
export async function stopRecorded(pidsDir: string, name: string, graceMs = 10_000): Promise<'stopped' | 'not running'> {
  const file = join(pidsDir, `${name}.json`);
  const record = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord) : undefined;
  let result: 'stopped' | 'not running' = 'not running';
  if (record && isRecorded(record)) {
    result = 'stopped';
    process.kill(record.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isRecorded(record) && Date.now() < deadline) await sleep(100);
    if (isRecorded(record)) {
      process.kill(record.pid, 'SIGKILL');
      while (isRecorded(record)) await sleep(50);
    }
  }
  rmSync(file, { force: true });
  return result;
}

/** Resident memory of a pid in MB (VmRSS), or undefined when it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `check` every `intervalMs` until it returns true; throws with `what` and the last error when `timeoutMs` passes. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, alive?: () => boolean, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = (error as Error).message;
    }
    if (alive && !alive()) throw new Error(`${what}: the process exited${last ? ` (last: ${last})` : ''}`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs / 1000} s${last ? ` (last: ${last})` : ''}`);
    await sleep(intervalMs);
  }
}
