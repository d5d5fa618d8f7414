// When the reports cannot be written where asked (the place was writable at the start), they go to a temporary folder
// and the user is told where, even under --quiet: it is a warning about their data (src/cli/execute.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { must } from '../../src/must.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/meshproof.js');

describe('reports that cannot be written', () => {
  it('--quiet still shows "could not write the reports to X; writing them to <tmp> instead" on stderr, and the reports are there', () => {
    const dir = tempDir('meshproof-fallback-');
    const file = join(dir, 'small.yaml');
    writeFileSync(
      file,
      `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: small }
spec:
  load:
    request: { path: /productpage }
    rate: 200
    total: 100
  expect:
    - status: { code: 200, ratio: { min: 0.9 } }
`,
    );
    // The report folder is writable (checked before the run), but a folder sits where index.html goes: writing fails
    // afterwards (permissions cannot do this here: tests may run as root).
    const reportDir = join(dir, 'report');
    mkdirSync(join(reportDir, 'index.html'), { recursive: true });
    const r = spawnSync(process.execPath, [bin, 'run', file, '--quiet', '--json', '--report-dir', reportDir], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const warning = /warning: could not write the reports to \S*report \(.*\); writing them to (\S*meshproof-report-\S+) instead/.exec(r.stderr);
    expect(warning, r.stderr).not.toBeNull();
    const fallback = must(warning![1], 'warning![1]');
    expect(existsSync(join(fallback, 'result.json'))).toBe(true);
    rmSync(fallback, { recursive: true, force: true }); // the run's own folder in /tmp, not the test's
    expect(() => JSON.parse(r.stdout)).not.toThrow(); // --json's stdout stays the result alone
  });

  it('--junit naming a folder is bad input before the run (exit 2), not a failure after it', () => {
    const dir = tempDir('meshproof-junit-');
    const junit = join(dir, 'junit-is-a-folder');
    mkdirSync(junit);
    const r = spawnSync(
      process.execPath,
      [bin, 'run', join(root, 'experiments/bookinfo/01-route-all-v1.yaml'), '--junit', junit, '--report-dir', join(dir, 'r')],
      { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`error: --junit: ${junit} is a folder; give the JUnit file's name, e.g. ${join(junit, 'junit.xml')}`);
    expect(r.stderr).not.toMatch(/applying/);
  });
});
