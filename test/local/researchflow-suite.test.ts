// The ResearchFlow example suite (examples/researchflow: the team's mesh configuration from the seed document
// mesh-config-researchflow.md — STRICT mTLS, pools and outlier detection, retries, and OPA external authorization
// through a CUSTOM AuthorizationPolicy) through the CLI on the local target, with the real Open Policy Agent
// (tools/opa-envoy, built by scripts/ci.d/35-opa.sh): green as written, and the authorization check turns red when
// the team's Rego policy changes (it proves OPA's decision, not a constant).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeNonPassing, readResult, repoRoot, runCli } from '../catalogue/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const work = tempDir('meshproof-researchflow-');

/**
 * A copy of examples/researchflow under `name` whose destination-rules.yaml is edited: `edit` gets the orchestrator's
 * and the worker's DestinationRule texts and returns them changed (each edit checks its text was there).
 */
function withDestinationRules(name: string, edit: (orchestrator: string, worker: string) => [string, string]): string {
  const copy = join(work, name);
  cpSync(join(repoRoot, 'examples', 'researchflow'), copy, { recursive: true });
  const file = join(copy, 'scenario', 'destination-rules.yaml');
  const [orchestrator, worker] = readFileSync(file, 'utf8').split('---');
  writeFileSync(file, edit(orchestrator!, worker!).join('---'));
  return copy;
}

/** `text` with `from` replaced, failing the test when `from` is not there. */
function replaced(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

describe('examples/researchflow on the local target, with the real OPA', () => {
  it('validates without warnings and runs green: OPA decides the API, fails closed without OPA, STRICT mTLS, outlier ejection, retries, the connection pool', async () => {
    const suite = join(repoRoot, 'examples', 'researchflow', 'experiments');
    const v = await runCli(['validate', suite, '--json'], { timeoutMs: 60_000 });
    expect(v.code, v.stderr).toBe(0);
    expect((JSON.parse(v.stdout) as { warnings: unknown[] }).warnings).toEqual([]);
    const reportDir = join(work, 'green');
    const r = await runCli(['run', suite, '--seed', '20261205', '--report-dir', reportDir, '--quiet'], { timeoutMs: 150_000 });
    const result = readResult(reportDir);
    expect(describeNonPassing(result), 'experiments that did not pass').toBe('');
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(result.experiments.map((e) => e.name)).toEqual([
      'researchflow-opa-decides-the-api',
      'researchflow-opa-down-fails-closed',
      'researchflow-mtls-strict',
      'researchflow-outlier-ejection',
      'researchflow-worker-retries',
      'researchflow-connection-pool',
    ]);
  }, 150_000);

  it('when the Rego policy lets researchers write too, their POSTs pass and the denial check fails', async () => {
    const copy = join(work, 'writers');
    cpSync(join(repoRoot, 'examples', 'researchflow'), copy, { recursive: true });
    const opaFile = join(copy, 'scenario', 'opa.yaml');
    writeFileSync(
      opaFile,
      readFileSync(opaFile, 'utf8').replace('      role == "admin"\n      method in', '      role in {"admin", "researcher"}\n      method in'),
    );
    const reportDir = join(work, 'writers-report');
    const r = await runCli(['run', join(copy, 'experiments', '01-opa-decides-the-api.yaml'), '--seed', '7', '--report-dir', reportDir, '--quiet'], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr.slice(-3000)).toBe(1);
    const verdicts = readResult(reportDir).experiments[0]!.verdicts;
    expect(verdicts.map((x) => [x.title.includes('researcher-write'), x.outcome]).filter(([write]) => write)).toEqual([[true, 'fail']]);
  }, 120_000);

  it("without the worker rule's outlier detection the bad canary is never ejected: the ejection and retries checks fail", async () => {
    const detection = '    outlierDetection:\n      consecutive5xxErrors: 5\n      interval: 30s\n      baseEjectionTime: 30s\n      maxEjectionPercent: 50\n';
    const copy = withDestinationRules('no-outlier', (orchestrator, worker) => [orchestrator, replaced(worker, detection, '')]);
    const reportDir = join(work, 'no-outlier-report');
    const r = await runCli(['run', join(copy, 'experiments', '04-outlier-ejection.yaml'), '--seed', '7', '--report-dir', reportDir, '--quiet'], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr.slice(-3000)).toBe(1);
    expect(readResult(reportDir).experiments[0]!.verdicts.map((v) => [v.kind, v.outcome])).toEqual([
      ['status', 'pass'],
      ['counter', 'fail'],
      ['retries', 'fail'],
    ]);
  }, 120_000);

  it("with the orchestrator's pool opened wide, 200 slow connections all get through: the overflow checks fail", async () => {
    const pool = '      tcp: { maxConnections: 100 }\n      http: { http1MaxPendingRequests: 50, http2MaxRequests: 100 }\n';
    const wide = '      tcp: { maxConnections: 1000 }\n      http: { http1MaxPendingRequests: 1000, http2MaxRequests: 1000 }\n';
    const copy = withDestinationRules('wide-pool', (orchestrator, worker) => [replaced(orchestrator, pool, wide), worker]);
    const reportDir = join(work, 'wide-pool-report');
    const r = await runCli(['run', join(copy, 'experiments', '06-connection-pool.yaml'), '--seed', '7', '--report-dir', reportDir, '--quiet'], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr.slice(-3000)).toBe(1);
    expect(readResult(reportDir).experiments[0]!.verdicts.map((v) => [v.kind, v.outcome])).toEqual([
      ['status', 'fail'],
      ['status', 'pass'],
      ['flags', 'fail'],
      ['counter', 'fail'],
    ]);
  }, 120_000);
});
