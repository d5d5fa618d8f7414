// Test files share their worker process (vitest `isolate: false`: each module is loaded once per worker, not once per
// file). What one file changes in the process is put back when it ends, so the next file starts as it would alone:
// the environment, the working directory, fake timers and the exit code (and spies, which vitest itself restores
// between files as well).
import { afterAll, vi } from 'vitest';

const env = { ...process.env };
const cwd = process.cwd();

afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
  if (process.cwd() !== cwd) process.chdir(cwd);
  vi.useRealTimers();
  vi.restoreAllMocks();
  process.exitCode = undefined;
});
