// The KubeStock example suite (examples/kubestock: the team's own resources from the seed document
// mesh-config-kubestock.md, six echo services in kubestock-staging) through the CLI on the local target: green as
// written, and each promise check turns red when the team's configuration is fixed the way its description says
// (it proves the configuration, not a constant).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeNonPassing, readResult, repoRoot, runCli } from '../catalogue/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const work = tempDir('meshproof-kubestock-');

// Concurrent: each test is a CLI run with its own directories and its own mesh on ephemeral loopback ports, and
// mostly waits on its load (about half a core each), so running them side by side halves the file's wall time.
describe.concurrent('examples/kubestock on the local target', () => {
  it('validates without warnings and runs green: STRICT mTLS holds, app 503s and per-try timeouts are not retried', async () => {
    const suite = join(repoRoot, 'examples', 'kubestock', 'experiments');
    const v = await runCli(['validate', suite, '--json'], { timeoutMs: 60_000 });
    expect(v.code, v.stderr).toBe(0);
    expect((JSON.parse(v.stdout) as { warnings: unknown[] }).warnings).toEqual([]);
    const reportDir = join(work, 'green');
    const r = await runCli(['run', suite, '--seed', '20261205', '--report-dir', reportDir, '--quiet'], { timeoutMs: 120_000 });
    const result = readResult(reportDir);
    expect(describeNonPassing(result), 'experiments that did not pass').toBe('');
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(result.experiments.map((e) => e.name)).toEqual([
      'kubestock-mtls-strict',
      'kubestock-retries-not-for-app-503',
      'kubestock-per-try-timeout-ends-the-request',
    ]);
  }, 120_000);

  it("with retryOn: 5xx on ms-inventory's VirtualService, the 503s are retried and the retries check fails", async () => {
    const copy = join(work, 'fixed');
    cpSync(join(repoRoot, 'examples', 'kubestock'), copy, { recursive: true });
    const vsFile = join(copy, 'scenario', 'ms-inventory-istio.yaml');
    writeFileSync(vsFile, readFileSync(vsFile, 'utf8').replace('        perTryTimeout: 10s', '        perTryTimeout: 10s\n        retryOn: 5xx'));
    const reportDir = join(work, 'fixed-report');
    const r = await runCli(['run', join(copy, 'experiments', '02-retries-not-for-app-503.yaml'), '--seed', '7', '--report-dir', reportDir, '--quiet'], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr.slice(-3000)).toBe(1);
    const verdicts = readResult(reportDir).experiments[0]!.verdicts;
    // Four tries at 50 % each: about 6 % of 503s, and the sidecar counts retries.
    expect(verdicts.map((x) => [x.kind, x.outcome])).toEqual([
      ['status', 'fail'],
      ['retries', 'fail'],
    ]);
  }, 120_000);
});
