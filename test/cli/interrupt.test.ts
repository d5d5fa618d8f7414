// An interruption never reads as a pass (issue: the user's journey, item 1): SIGINT sent as each phase starts, through
// the CLI's execute() with real signal handling and real reports. result.json says `interrupted`, the JUnit file
// counts every experiment that did not run as skipped and carries an error, the exit code is 130, the mesh is restored.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/runner/result.ts';
import { tempDir } from '../support/temp-dir.ts';

const child = fileURLToPath(new URL('./fixtures/interrupt-child.ts', import.meta.url));

function runUntil(trigger: string): Promise<{ code: number | null; lines: string[]; stderr: string; dir: string; junit: string }> {
  const dir = tempDir('meshproof-interrupt-');
  const junit = join(dir, 'junit.xml');
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, join(dir, 'report'), junit], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffer = '';
    let sent = false;
    proc.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        lines.push(line);
        if (!sent && line === trigger) {
          sent = true;
          proc.kill('SIGINT');
        }
      }
    });
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => (code === null ? reject(new Error(`child died by signal; stderr: ${stderr}`)) : resolve({ code, lines, stderr, dir, junit })));
  });
}

const triggers = [
  'PHASE first snapshot',
  'PHASE first apply',
  'PHASE first converge',
  'PHASE first login',
  'PHASE first counters',
  'PHASE first load',
  'PHASE first judge',
  'PHASE first restore',
  'PHASE second snapshot',
];

describe('SIGINT at each phase: interrupted everywhere, never a pass', () => {
  it.each(triggers)('%s', async (trigger) => {
    const { code, lines, stderr, dir, junit } = await runUntil(trigger);
    expect(code).toBe(130);
    const summary = JSON.parse(lines.find((l) => l.startsWith('RESULT '))!.slice(7));
    expect(summary.objects).toBe(0); // everything applied was removed
    const result = JSON.parse(readFileSync(join(dir, 'report', 'result.json'), 'utf8')) as RunResult;
    expect(result.outcome).toBe('interrupted');
    expect(result.interrupted).toBe(true);
    expect(result.exitCode).toBe(130);
    expect(result.error).toMatch(/interrupted by SIGINT/);
    // Every experiment is listed; those that never started are skipped with the reason.
    expect(result.experiments.map((e) => e.name)).toEqual(['first', 'second', 'third']);
    const third = result.experiments[2]!;
    expect(third.outcome).toBe('skipped');
    expect(third.skipReason).toMatch(/interrupted by SIGINT/);
    const stoppedIn = result.experiments.find((e) => e.outcome === 'interrupted');
    if (stoppedIn) expect(stoppedIn.error?.exitCode).toBe(130);
    expect(result.experiments.every((e) => e.outcome !== 'error')).toBe(true);
    const xml = readFileSync(junit, 'utf8');
    const totals = /<testsuites [^>]*errors="(\d+)" skipped="(\d+)"/.exec(xml)!;
    const skippedExperiments = result.experiments.filter((e) => e.outcome === 'skipped').length;
    expect(Number(totals[1])).toBeGreaterThanOrEqual(1);
    expect(Number(totals[2])).toBeGreaterThanOrEqual(skippedExperiments);
    expect(xml).toContain('<skipped message="not run: the run was interrupted by SIGINT"/>');
    expect(xml).toMatch(/<error message="interrupted by SIGINT[^"]*" type="interrupted">/);
    // The terminal's closing line (stderr) says it too.
    expect(stderr).toMatch(/^INTERRUPTED .*skipped.*exit code 130, interrupted/m);
    expect(stderr).not.toMatch(/^PASS/m);
  });
});
