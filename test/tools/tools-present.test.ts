// scripts/tools-present.ts lets scripts/tools.sh skip the Go build steps when every tool is built: it must check the
// very binaries those steps' build scripts check, and a step must skip only when told that all are there.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { goToolBuilds } from '../../scripts/tools-present.ts';
import { tempDir } from '../support/temp-dir.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const work = tempDir('meshproof-tools-present-');

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

const stepsDir = join(repo, 'scripts', 'ci.d');
/** The steps of scripts/ci.d that run a Go build script, by file name. */
const goSteps = readdirSync(stepsDir)
  .filter((f) => f.endsWith('.sh'))
  .filter((f) => /scripts\/[\w-]+-build\.ts/.test(readFileSync(join(stepsDir, f), 'utf8')));

describe('scripts/tools-present.ts', () => {
  it("checks exactly the binaries each build script checks (their --print), in the steps' order", async () => {
    const printed = await Promise.all(goToolBuilds.map((b) => run(process.execPath, ['--import', 'tsx', join('scripts', b.script), '--print'])));
    const ours = await run(process.execPath, ['--import', 'tsx', 'scripts/tools-present.ts', '--print']);
    expect(ours.code).toBe(0);
    expect(ours.stdout.trim().split('\n')).toEqual(printed.flatMap((p) => p.stdout.trim().split('\n')));
  });

  it('covers every build script the steps of scripts/ci.d run', () => {
    const texts = goSteps.map((f) => readFileSync(join(stepsDir, f), 'utf8'));
    const scripts = texts.flatMap((text) => [...text.matchAll(/scripts\/([\w-]+-build\.ts)/g)].map((m) => m[1]));
    expect(scripts.sort()).toEqual(goToolBuilds.map((b) => b.script).sort());
  });

  it('exits 1 naming what is missing when a tool is not built (an empty tools cache)', async () => {
    const empty = join(work, 'empty-tools');
    const r = await run(process.execPath, ['--import', 'tsx', 'scripts/tools-present.ts'], { ...process.env, MESHPROOF_TOOLS: empty });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`not built yet: ${join(empty, 'k6-')}`);
  });

  it('a Go step skips its build script only when tools.sh found every tool built', async () => {
    // A `node` first on PATH that fails: a step that runs its build script exits 3.
    const shims = join(work, 'shims');
    mkdirSync(shims);
    writeFileSync(join(shims, 'node'), '#!/bin/sh\nexit 3\n');
    chmodSync(join(shims, 'node'), 0o755);
    const path = `${shims}:${process.env.PATH ?? ''}`;
    expect(goSteps.length).toBeGreaterThan(0);
    for (const step of goSteps) {
      const told = await run('bash', [join('scripts', 'ci.d', step)], { ...process.env, PATH: path, MESHPROOF_GO_TOOLS_PRESENT: '1' });
      expect(told.code, step).toBe(0);
      const untold = await run('bash', [join('scripts', 'ci.d', step)], { ...process.env, PATH: path, MESHPROOF_GO_TOOLS_PRESENT: '' });
      expect(untold.code, step).toBe(3);
    }
  });
});
