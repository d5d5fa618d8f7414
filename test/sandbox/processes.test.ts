// The sandbox's process records (src/sandbox/processes.ts): a record names its process by pid, binary and start time,
// so a pid reused by another process of the same binary (pids wrap at 32,768; every sandbox runs the same etcd) is
// never taken for it — never reported running, never signalled.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runningRecord, startDetached, startTicksOf, stopRecorded, type ProcessRecord } from '../../src/sandbox/processes.ts';
import { tempDir } from '../support/temp-dir.ts';

const dir = tempDir('meshproof-processes-');
const dirs = { logs: join(dir, 'logs'), pids: join(dir, 'pids') };
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const sleepBinary = '/bin/sleep';
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('sandbox process records', () => {
  it('record the start time, and a record whose start time differs is not that process: not running, not signalled', async () => {
    const record = startDetached('sleeper', sleepBinary, ['60'], dirs);
    started.push(record.pid);
    expect(record.startTicks).toBe(startTicksOf(record.pid));
    expect(runningRecord(dirs.pids, 'sleeper')?.pid).toBe(record.pid);

    // The same pid and binary, another start time: what a stale record of an earlier process looks like.
    const file = join(dirs.pids, 'sleeper.json');
    const stale: ProcessRecord = { ...(JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord), startTicks: record.startTicks! - 1 };
    writeFileSync(file, JSON.stringify(stale));
    expect(runningRecord(dirs.pids, 'sleeper')).toBeUndefined();
    expect(await stopRecorded(dirs.pids, 'sleeper', 1000)).toBe('not running');
    expect(alive(record.pid)).toBe(true);

    writeFileSync(file, JSON.stringify(record));
    expect(await stopRecorded(dirs.pids, 'sleeper', 1000)).toBe('stopped');
    expect(runningRecord(dirs.pids, 'sleeper')).toBeUndefined();
  });

  it('reads a record written before start times were recorded by pid and binary alone', () => {
    const record = startDetached('old', sleepBinary, ['60'], dirs);
    started.push(record.pid);
    const { startTicks: _dropped, ...old } = record;
    writeFileSync(join(dirs.pids, 'old.json'), JSON.stringify(old));
    expect(runningRecord(dirs.pids, 'old')?.pid).toBe(record.pid);
  });
});
