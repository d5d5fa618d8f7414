// `meshproof tutorial` from a directory that is not the repository: the package's own experiments/ are used. (The
// tutorial on the kube target — its --url, --converge-timeout and Ctrl-C — runs on the sandbox's real API server:
// test/sandbox/sandbox.test.ts.)
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tutorialDir } from '../../src/cli/tutorial-command.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'meshproof.js');
let elsewhere: string;

beforeAll(() => {
  elsewhere = tempDir('meshproof-elsewhere-');
});

function meshproof(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: elsewhere, env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('meshproof tutorial from another directory', () => {
  it("finds the package's experiments/<name>/ when the current directory has none", () => {
    expect(tutorialDir('bookinfo', elsewhere)).toBe(join(root, 'experiments', 'bookinfo'));
    expect(tutorialDir('bookinfo', root)).toBe(join(root, 'experiments', 'bookinfo'));
    expect(tutorialDir('no-such-tutorial', elsewhere)).toBeUndefined();
    expect(tutorialDir('../escape', elsewhere)).toBeUndefined();
  });

  it('names both places it looked for an unknown tutorial (exit 2)', async () => {
    const { code, stderr } = await meshproof(['tutorial', 'no-such-tutorial', '--yes']);
    expect(code).toBe(2);
    expect(stderr).toContain('no tutorial "no-such-tutorial": neither ./experiments/no-such-tutorial/ nor meshproof\'s');
  });
});
