// test/support/file-state.ts: with `isolate: false` two files share a worker; what the first changes in the process
// (environment, working directory, fake timers, exit code) must be gone when the second starts. Two files in a
// project of their own, one worker, each checking for the other's leftovers before leaving its own: whichever runs
// second fails if anything leaked. The same pair run without the setup file must fail (the check can fail).
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './temp-dir.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function leakyFile(mine: string, other: string): string {
  return [
    "import { describe, expect, it, vi } from 'vitest';",
    `describe('${mine}', () => {`,
    "  it('starts as if alone, then leaves its changes behind', () => {",
    `    expect(process.env.LEAK_${other}).toBeUndefined();`,
    `    expect(process.cwd()).toBe(${JSON.stringify('PROJECT')});`,
    '    expect(vi.isFakeTimers()).toBe(false);',
    '    expect(process.exitCode).toBeUndefined();',
    `    process.env.LEAK_${mine} = 'left';`,
    "    process.chdir('/');",
    '    vi.useFakeTimers();',
    '    process.exitCode = 0;',
    '  });',
    '});',
    '',
  ].join('\n');
}

function project(withSetup: boolean): string {
  const dir = tempDir('meshproof-file-state-');
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'test'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'test/a.test.ts'), leakyFile('A', 'B').replace('PROJECT', dir));
  writeFileSync(join(dir, 'test/b.test.ts'), leakyFile('B', 'A').replace('PROJECT', dir));
  const setup = withSetup ? `setupFiles: [${JSON.stringify(join(root, 'test/support/file-state.ts'))}], ` : '';
  writeFileSync(
    join(dir, 'vitest.config.ts'),
    `import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { include: ['test/*.test.ts'], ${setup}isolate: false, pool: 'forks', maxWorkers: 1 } });\n`,
  );
  return dir;
}

function runVitest(dir: string): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('test files sharing a worker (isolate: false)', () => {
  it('start as if alone: the environment, working directory, fake timers and exit code the other left are put back', () => {
    const r = runVitest(project(true));
    expect(r.output).toMatch(/2 passed/);
    expect(r.code, r.output).toBe(0);
  });

  it('without test/support/file-state.ts the second file sees the first one`s changes', () => {
    const r = runVitest(project(false));
    expect(r.output).toMatch(/1 failed/);
    expect(r.code).toBe(1);
  });
});
