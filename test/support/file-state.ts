// Test files share their worker process (vitest `isolate: false`: each module is loaded once per worker, not once per
// file). What one file changes in the process is put back when it ends, so the next file starts as it would alone:
// the environment, the working directory, fake timers and the exit code (and spies, which vitest itself restores
// between files as well); and the file's temporary folders are removed. Its hook runs after the file's own.
import { afterAll, vi } from 'vitest';
import { removeTempDirs } from './temp-dir.ts';

const env = { ...process.env };
const cwd = process.cwd();

afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
  if (process.cwd() !== cwd) process.chdir(cwd);
  vi.useRealTimers();
  vi.restoreAllMocks();
  process.exitCode = undefined;
  removeTempDirs();
});
