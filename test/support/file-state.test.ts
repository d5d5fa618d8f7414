// test/support/file-state.ts: with `isolate: false` two files share a worker; what the first changes in the process
// (environment, working directory, fake timers, exit code, its temporary folders) must be gone when the next starts. Three files in a
// project of their own, one worker, each checking for the others' leftovers before leaving its own: every file after
// the first fails if anything leaked (three, so that the setup is shown to run for each file, not only the first). The
// same files run without the setup file must fail (the check can fail).
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './temp-dir.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function leakyFile(mine: string, others: string[]): string {
  return [
    "import { existsSync, readFileSync, writeFileSync } from 'node:fs';",
    "import { describe, expect, it, vi } from 'vitest';",
    `import { tempDir } from ${JSON.stringify(join(root, 'test/support/temp-dir.ts'))};`,
    `describe('${mine}', () => {`,
    "  it('starts as if alone, then leaves its changes behind', () => {",
    ...others.map((other) => `    expect(process.env.LEAK_${other}).toBeUndefined();`),
    ...others.map((other) => `    if (existsSync('PROJECT/made-${other}')) expect(existsSync(readFileSync('PROJECT/made-${other}', 'utf8'))).toBe(false);`),
    `    expect(process.cwd()).toBe(${JSON.stringify('PROJECT')});`,
    '    expect(vi.isFakeTimers()).toBe(false);',
    '    expect(process.exitCode).toBeUndefined();',
    `    process.env.LEAK_${mine} = 'left';`,
    "    process.chdir('/');",
    '    vi.useFakeTimers();',
    '    process.exitCode = 0;',
    `    writeFileSync('PROJECT/made-${mine}', tempDir('meshproof-file-state-${mine}-'));`,
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
  for (const name of ['A', 'B', 'C'])
    writeFileSync(
      join(dir, `test/${name.toLowerCase()}.test.ts`),
      leakyFile(
        name,
        ['A', 'B', 'C'].filter((n) => n !== name),
      ).replaceAll('PROJECT', dir),
    );
  const setup = withSetup ? `setupFiles: [${JSON.stringify(join(root, 'test/support/file-state.ts'))}], ` : '';
  writeFileSync(
    join(dir, 'vitest.config.ts'),
    `import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { include: ['test/*.test.ts'], ${setup}isolate: false, pool: 'forks', maxWorkers: 1 } });\n`,
  );
  return dir;
}

/** vitest on the project; its temporary folders go inside the project, which this file's own tempDir removes. */
function runVitest(dir: string): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, TMPDIR: dir },
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('test files sharing a worker (isolate: false)', () => {
  it('start as if alone: the environment, working directory, fake timers and exit code the others left are put back, their temporary folders removed', () => {
    const r = runVitest(project(true));
    expect(r.output).toMatch(/3 passed/);
    expect(r.code, r.output).toBe(0);
  });

  it('without test/support/file-state.ts the second and third files see what the files before them left', () => {
    const r = runVitest(project(false));
    expect(r.output).toMatch(/2 failed/);
    expect(r.code).toBe(1);
  });
});
