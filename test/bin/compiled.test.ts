// bin/compiled.js: the CLI and the local mesh's child process run from a bundle of the sources, made again whenever a
// source changes, with each source's own import.meta; MESHPROOF_COMPILE=0 (and a bundle that cannot be made) runs
// through tsx. The first tests use a small project of their own (a copy of compiled.js and two entries), the last
// ones the real CLI both ways.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { prewarmMeshProcess } from '../../src/targets/local/handle.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A project with compiled.js, the two entries it bundles, a module they share and a file found next to a source. */
function smallProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshproof-compiled-'));
  made.push(dir);
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(root, 'bin/compiled.js'), join(dir, 'bin/compiled.js'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(dir, 'node_modules'));
  for (const pkg of ['esbuild', 'yaml']) symlinkSync(join(root, 'node_modules', pkg), join(dir, 'node_modules', pkg));
  mkdirSync(join(dir, 'src/cli'), { recursive: true });
  mkdirSync(join(dir, 'src/targets/local'), { recursive: true });
  writeFileSync(join(dir, 'data.txt'), 'found next to the source');
  writeFileSync(join(dir, 'src/greeting.ts'), "export const greeting: string = 'hello';\nexport class Oops extends Error {}\n");
  writeFileSync(
    join(dir, 'src/cli/main.ts'),
    [
      "import { readFileSync } from 'node:fs';",
      "import { parse } from 'yaml';",
      "import { greeting, Oops as Other } from '../greeting.ts';",
      'class Oops extends Error {}',
      'export function main(): void {',
      '  console.log(JSON.stringify({',
      '    greeting,',
      '    url: import.meta.url,',
      '    dirname: import.meta.dirname,',
      "    data: readFileSync(new URL('../../data.txt', import.meta.url), 'utf8'),",
      "    yaml: parse('a: 1'),",
      '    names: [new Oops().constructor.name, new Other().constructor.name],',
      '  }));',
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'src/targets/local/mesh-process.ts'), "import { greeting } from '../../greeting.ts';\nconsole.log(greeting);\n");
  writeFileSync(
    join(dir, 'run.mjs'),
    [
      "import { compiledEntry, ensureCompiled } from './bin/compiled.js';",
      "const before = compiledEntry('src/cli/main.ts') ?? null;",
      "const file = (await ensureCompiled('src/cli/main.ts')) ?? null;",
      'const output = file ? (await import(file)).main : () => console.log("null");',
      'console.log(JSON.stringify({ before, file }));',
      'output();',
      '',
    ].join('\n'),
  );
  return dir;
}

interface Outcome {
  before: string | null;
  file: string | null;
  output: {
    greeting: string;
    url: string;
    dirname: string;
    data: string;
    yaml: unknown;
    names: string[];
  } | null;
}

function run(dir: string, env: NodeJS.ProcessEnv = {}): Outcome {
  const r = spawnSync(process.execPath, ['run.mjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
  const [first, second] = r.stdout.trim().split('\n');
  return { ...(JSON.parse(first ?? '') as Omit<Outcome, 'output'>), output: JSON.parse(second ?? 'null') as Outcome['output'] };
}

describe('the bundle of the sources (bin/compiled.js)', () => {
  it("is made on first need under node_modules/.cache and runs each source with its own import.meta, packages from the project's node_modules", () => {
    const dir = smallProject();
    const first = run(dir);
    expect(first.before).toBeNull();
    expect(first.file).toMatch(new RegExp(`^${dir}/node_modules/\\.cache/meshproof-compiled/[0-9a-f]{16}/bundle-[^/]+/main\\.mjs$`));
    expect(first.output).toEqual({
      greeting: 'hello',
      url: pathToFileURL(join(dir, 'src/cli/main.ts')).href,
      dirname: join(dir, 'src/cli'),
      data: 'found next to the source',
      yaml: { a: 1 },
      // Two classes of one name in one bundle: esbuild renames one, keepNames keeps both names as written.
      names: ['Oops', 'Oops'],
    });
    // The next process takes it as it is.
    expect(run(dir).before).toBe(first.file);
  });

  it('is made again when a source it was made from changes, by content; a new time alone keeps it', () => {
    const dir = smallProject();
    const first = run(dir);
    const greeting = join(dir, 'src/greeting.ts');
    const later = new Date(statSync(greeting).mtimeMs + 5000);
    utimesSync(greeting, later, later);
    expect(run(dir).before).toBe(first.file);
    // Same size, other content, other time.
    writeFileSync(greeting, readFileSync(greeting, 'utf8').replace("'hello'", "'howdy'"));
    const second = run(dir);
    expect(second.before).toBeNull();
    expect(second.file).not.toBe(first.file);
    expect(second.output?.greeting).toBe('howdy');
  });

  it('is not used when a source does not compile (the caller runs through tsx, which reports the error) nor with MESHPROOF_COMPILE=0; a damaged record is made again', () => {
    const dir = smallProject();
    expect(run(dir).file).not.toBeNull();
    expect(run(dir, { MESHPROOF_COMPILE: '0' })).toEqual({ before: null, file: null, output: null });
    // A damaged record of the current bundle is made again, not a crash.
    const [cache] = readdirSync(join(dir, 'node_modules/.cache/meshproof-compiled'));
    for (const damaged of ['{"bundle":"bundle-1","inputs":null}', '{"bundle":"../../x","inputs":{}}', '{']) {
      writeFileSync(join(dir, 'node_modules/.cache/meshproof-compiled', cache ?? '', 'current.json'), damaged);
      const again = run(dir);
      expect(again.before).toBeNull();
      expect(again.output?.greeting).toBe('hello');
    }
    writeFileSync(join(dir, 'src/greeting.ts'), "export const greeting: string = 'hello\n");
    expect(run(dir)).toEqual({ before: null, file: null, output: null });
  });
});

describe('the real CLI from the bundle and through tsx', () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [join(root, 'bin/meshproof.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });

  it('validate says the same both ways, for the catalogue and for an experiment with an error (exit 2, file and field named)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshproof-compiled-cli-'));
    made.push(dir);
    const bad = join(dir, 'bad.yaml');
    const good = readFileSync(join(root, 'experiments/bookinfo/01-route-all-v1.yaml'), 'utf8').replaceAll('../../scenarios/', `${join(root, 'scenarios')}/`);
    writeFileSync(bad, good.replace('  scenario: bookinfo\n', '  scenario: bookinfo\n  aply: []\n'));
    for (const args of [
      ['validate', 'experiments/bookinfo', '--json'],
      ['validate', bad],
    ]) {
      const compiled = cli(args);
      const throughTsx = cli(args, { MESHPROOF_COMPILE: '0' });
      expect({ status: compiled.status, stdout: compiled.stdout, stderr: compiled.stderr }).toEqual({
        status: throughTsx.status,
        stdout: throughTsx.stdout,
        stderr: throughTsx.stderr,
      });
    }
    const failed = cli(['validate', bad]);
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain(`${bad}:16:3: spec.aply: unknown field`);
  });

  it("the local mesh's child process runs from the bundle", () => {
    const pid = prewarmMeshProcess();
    expect(pid).toBeTypeOf('number');
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline.some((arg) => /\/node_modules\/\.cache\/meshproof-compiled\/[0-9a-f]{16}\/bundle-[^/]+\/mesh-process\.mjs$/.test(arg))).toBe(true);
      expect(cmdline.join(' ')).not.toContain('tsx');
    } finally {
      process.kill(pid as number);
    }
  });
});
