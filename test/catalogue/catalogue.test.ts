// The Bookinfo catalogue (experiments/bookinfo) as issue 8 checks it, through the CLI a user runs:
// (a) every experiment validates without warnings;
// (b) every experiment has an expectation that FAILS when its `apply` section is removed (so each one proves that
//     its resources do something, not just that the baseline behaves);
// (c) a full run with a fixed seed exits 0 with every verdict pass (catalogue-runs.test.ts, a file of its own so the
//     test workers run it alongside the rest);
// (d) the same with istiod as the control plane.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { catalogueDir, catalogueFiles, describeNonPassing, FULL_RUN_SEEDS, readResult, runCli } from './cli.ts';
import { must } from '../../src/must.ts';
import { tempDir } from '../support/temp-dir.ts';

const work = tempDir('meshproof-catalogue-');

const NO_APPLY_SEED = 7;

/**
 * Kinds that judge the applied resources themselves and cannot exist without them: `rateLimited` replays the
 * applied EnvoyFilter's bucket, so without `apply` the experiment is invalid input (exit 2), not a failing one.
 */
const NEEDS_APPLIED_RESOURCES = new Set(['rateLimited']);

/** The experiment as YAML text with `spec.apply` removed (and the expectations that need applied resources). */
function withoutApply(text: string, file: string): { yaml: string; dropped: string[] } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`${file}: ${must(doc.errors[0], 'doc.errors[0]').message}`);
  const experiment = doc.toJS() as { spec: { apply?: unknown; expect: Record<string, unknown>[] } };
  delete experiment.spec.apply;
  const dropped: string[] = [];
  experiment.spec.expect = experiment.spec.expect.filter((e) => {
    const kind = must(Object.keys(e)[0], 'kind');
    if (!NEEDS_APPLIED_RESOURCES.has(kind)) return true;
    dropped.push(kind);
    return false;
  });
  if (experiment.spec.expect.length === 0) throw new Error(`${file}: only ${dropped.join(', ')} expectations, which need the applied resources`);
  // The file may move anywhere: nothing relative is left once apply is gone (scenarios resolve from the install).
  return { yaml: JSON.stringify(experiment, null, 2), dropped };
}

// Concurrent: each test is a CLI run with its own directories and its own mesh on ephemeral loopback ports, and
// mostly waits on its load (about half a core each), so running them side by side halves the file's wall time.
describe.concurrent('experiments/bookinfo, the catalogue (issue 8)', () => {
  const files = catalogueFiles();

  it('has the tutorial steps in order: routing, shifting, security, rate limits, then faults, timeouts, retries and circuit breaking', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(f).toMatch(/^\d\d[a-z]?-[a-z0-9-]+\.yaml$/);
    const tagsOf = (f: string): string[] => parseDocument(readFileSync(join(catalogueDir, f), 'utf8')).toJS().metadata.tags ?? [];
    const tutorial = files.filter((f) => tagsOf(f).includes('tutorial'));
    expect(tutorial.length).toBeGreaterThanOrEqual(17);
    for (const tag of ['traffic-shifting', 'fault-injection', 'timeouts', 'retries', 'circuit-breaking']) {
      expect(
        tutorial.some((f) => tagsOf(f).includes(tag)),
        tag,
      ).toBe(true);
    }
    // Sweeps and the pitfall demonstrations are not tutorial steps.
    for (const f of tutorial)
      expect(
        tagsOf(f).some((t) => t === 'pitfall' || t === 'sweep'),
        f,
      ).toBe(false);
  });

  it('(a) every experiment validates, with no warnings', async () => {
    const r = await runCli(['validate', 'experiments/bookinfo', '--json'], { timeoutMs: 60_000 });
    expect(r.stderr + r.stdout).not.toMatch(/^Error/m);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; files: string[]; warnings: { experiment: string; message: string }[] };
    expect(report.ok).toBe(true);
    expect(report.files.map((f) => f.split('/').pop()).sort()).toEqual(files);
    expect(report.warnings).toEqual([]);
  }, 60_000);

  it('(b) without its apply section, every experiment fails (exit 1, at least one fail verdict each)', async () => {
    const dir = join(work, 'no-apply');
    const reportDir = join(work, 'no-apply-report');
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(join(dir, f), withoutApply(readFileSync(join(catalogueDir, f), 'utf8'), f).yaml);

    const r = await runCli(['run', dir, '--seed', String(NO_APPLY_SEED), '--report-dir', reportDir, '--quiet'], { timeoutMs: 170_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(1);
    const result = readResult(reportDir);
    const byFile = new Map<string, typeof result.experiments>();
    for (const e of result.experiments) {
      const base = e.file.split('/').pop()!;
      byFile.set(base, [...(byFile.get(base) ?? []), e]);
    }
    const notFailing: string[] = [];
    for (const f of files) {
      const results = byFile.get(f) ?? [];
      if (results.length === 0) notFailing.push(`${f}: not run`);
      for (const e of results) {
        if (!e.verdicts.some((v) => v.outcome === 'fail')) {
          notFailing.push(`${f} (${e.name}): ${e.outcome}; ${e.verdicts.map((v) => `${v.outcome} ${v.title}: ${v.explanation}`).join(' | ')}`);
        }
      }
    }
    expect(notFailing, 'experiments that did not fail without their resources').toEqual([]);
  }, 180_000);

  // Issue 13: the same catalogue with istiod's own config generation as the control plane (routes and clusters from
  // the pinned istiod, built by scripts/ci.d/45-istio-translate): identical verdicts.
  it('(d) a full run with --control-plane istiod exits 0 with every verdict pass, and names its control plane', async () => {
    const seed = FULL_RUN_SEEDS[0];
    const reportDir = join(work, 'istiod-report');
    const r = await runCli(['run', 'experiments/bookinfo', '--control-plane', 'istiod', '--seed', String(seed), '--report-dir', reportDir, '--quiet'], {
      timeoutMs: 170_000,
    });
    const result = readResult(reportDir);
    expect(describeNonPassing(result), 'experiments that did not pass').toBe('');
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(result.target.controlPlane).toMatch(/^istiod 1\.31\.0 .*every HTTP filter/);
    expect(result.target.istioVersion).toBe('1.31.0');
    expect(new Set(result.experiments.map((e) => e.file.split('/').pop())).size).toBe(files.length);
    for (const e of result.experiments) for (const v of e.verdicts) expect(v.outcome, `${e.name}: ${v.title}: ${v.explanation}`).toBe('pass');
  }, 180_000);
});
