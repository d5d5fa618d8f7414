// Temporary folders of a test file, removed when the file's tests are done: a suite run leaves nothing in /tmp.
// This module is loaded once per worker (test files share it: `isolate: false`), so a hook registered here would run
// after the first file only; the setup file that runs for every file (test/support/file-state.ts) removes them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A new folder `<os.tmpdir()>/<prefix>XXXXXX`, removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes the folders tempDir made (file-state.ts calls it after each test file). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
