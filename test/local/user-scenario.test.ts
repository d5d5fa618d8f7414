// A scenario of the user's own services (examples/two-services: two services, three versions, in namespace shop),
// run as a user runs it, through the CLI on the local target: the generic catalogue (a weighted split, retries, a
// timeout, a deny, a local rate limit) is green, and each experiment fails without its `apply` (it proves something).
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { describeNonPassing, readResult, repoRoot, runCli } from '../catalogue/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const work = tempDir('meshproof-user-scenario-');

const suite = join(repoRoot, 'examples', 'two-services', 'experiments');
const scenario = join(repoRoot, 'examples', 'two-services', 'scenario');
const files = readdirSync(suite)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

// Concurrent: each test is a CLI run with its own directories and its own mesh on ephemeral loopback ports, and
// mostly waits on its load (about half a core each), so running them side by side halves the file's wall time.
describe.concurrent('examples/two-services on the local target, through the CLI', () => {
  it('validates without warnings, every echo label known', async () => {
    const r = await runCli(['validate', suite, '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; files: string[]; warnings: unknown[] };
    expect(report.files).toHaveLength(5);
    expect(report.warnings).toEqual([]);
  }, 60_000);

  it('runs green: split, retries, timeout, deny and rate limit, every verdict pass', async () => {
    const reportDir = join(work, 'green');
    const r = await runCli(['run', suite, '--seed', '20261205', '--report-dir', reportDir, '--quiet'], { timeoutMs: 120_000 });
    const result = readResult(reportDir);
    expect(describeNonPassing(result), 'experiments that did not pass').toBe('');
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(result.experiments.map((e) => e.name)).toEqual([
      'backend-split-80-20',
      'retries-flaky-backend',
      'backend-timeout',
      'deny-backend',
      'ratelimit-frontend',
    ]);
    for (const e of result.experiments) for (const v of e.verdicts) expect(v.outcome, `${e.name}: ${v.title}`).toBe('pass');
  }, 120_000);

  it('without its apply section, every experiment fails', async () => {
    const dir = join(work, 'no-apply');
    mkdirSync(dir, { recursive: true });
    for (const f of files) {
      const experiment = parseDocument(readFileSync(join(suite, f), 'utf8')).toJS() as {
        spec: { scenario: string; apply?: unknown; expect: Record<string, unknown>[] };
      };
      delete experiment.spec.apply;
      experiment.spec.scenario = scenario;
      // rateLimited replays the applied filter's bucket: without one the experiment is invalid input, not failing.
      experiment.spec.expect = experiment.spec.expect.filter((e) => !('rateLimited' in e));
      writeFileSync(join(dir, f), JSON.stringify(experiment, null, 2));
    }
    const reportDir = join(work, 'no-apply-report');
    const r = await runCli(['run', dir, '--seed', '7', '--report-dir', reportDir, '--quiet'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(1);
    const result = readResult(reportDir);
    expect(result.experiments).toHaveLength(files.length);
    const notFailing = result.experiments.filter((e) => !e.verdicts.some((v) => v.outcome === 'fail')).map((e) => e.name);
    expect(notFailing).toEqual([]);
  }, 120_000);

  it('a bad echo annotation in a scenario file is bad input naming that file, its line and the field (exit 2)', async () => {
    const experiment = join(work, 'bad-echo.yaml');
    writeFileSync(
      experiment,
      `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: bad-echo }
spec:
  scenario: ${join(repoRoot, 'test', 'fixtures', 'scenarios', 'bad-echo')}
  load: { request: { path: / }, requests: 10 }
  expect:
    - status: { code: 200, ratio: { min: 0.9 } }
`,
    );
    const r = await runCli(['validate', experiment], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    // The field's own line inside the annotation's block (line 24: `errors: { share: 1.5, … }`), at the key.
    expect(r.stderr).toContain('test/fixtures/scenarios/bad-echo/app.yaml:24:21: ');
    expect(r.stderr).toContain('Deployment app-v1: spec.template.metadata.annotations["meshproof.dev/echo"].errors.share: must be at most 1, found 1.5');
  }, 60_000);

  it('experiments of different scenarios in one run are refused before anything runs (one target, one baseline)', async () => {
    const r = await runCli(['run', suite, join(repoRoot, 'experiments', 'bookinfo', '01-route-all-v1.yaml'), '--report-dir', join(work, 'mixed')], {
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /experiments of one run share a scenario: .* uses .*two-services\/scenario, .*01-route-all-v1\.yaml uses bookinfo; run them separately/,
    );
  }, 60_000);
});
