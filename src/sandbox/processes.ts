// The sandbox's long-running processes: started detached with their output in logs/<name>.log, recorded in
// pids/<name>.json, and stopped only when the recorded pid still runs the recorded binary (a reused pid is left alone).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcessRecord {
  name: string;
  pid: number;
  binary: string;
  args: string[];
  log: string;
}

export function startDetached(name: string, binary: string, args: string[], dirs: { logs: string; pids: string }, env: NodeJS.ProcessEnv = process.env): ProcessRecord {
  mkdirSync(dirs.logs, { recursive: true });
  mkdirSync(dirs.pids, { recursive: true });
  const log = join(dirs.logs, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`${name} did not start (${binary})`);
  const record: ProcessRecord = { name, pid: child.pid, binary, args, log };
  writeFileSync(join(dirs.pids, `${name}.json`), JSON.stringify(record, null, 2));
  return record;
}

/** The recorded process if it still runs its binary. */
export function runningRecord(pidsDir: string, name: string): ProcessRecord | undefined {
  const file = join(pidsDir, `${name}.json`);
  if (!existsSync(file)) return undefined;
  const record = JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord;
  return runsBinary(record.pid, record.binary) ? record : undefined;
}

export function recordedNames(pidsDir: string): string[] {
  if (!existsSync(pidsDir)) return [];
  return readdirSync(pidsDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
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
  if (record && runsBinary(record.pid, record.binary)) {
    result = 'stopped';
    process.kill(record.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (runsBinary(record.pid, record.binary) && Date.now() < deadline) await sleep(100);
    if (runsBinary(record.pid, record.binary)) {
      process.kill(record.pid, 'SIGKILL');
      while (runsBinary(record.pid, record.binary)) await sleep(50);
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

/** Poll `check` until it returns true; throws with `what` and the last error when `timeoutMs` passes. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, alive?: () => boolean): Promise<void> {
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
    await sleep(100);
  }
}
