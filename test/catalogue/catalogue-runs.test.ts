// The Bookinfo catalogue's acceptance (issue 8, item c): the whole of experiments/bookinfo, through the CLI a user
// runs, exits 0 twice with different seeds, every verdict a pass. Checks (a), (b) and (d) are in catalogue.test.ts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogueFiles, describeNonPassing, FULL_RUN_SEEDS, readResult, runCli } from './cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const work = tempDir('meshproof-catalogue-runs-');

// Concurrent: each test is a CLI run with its own directories and its own mesh on ephemeral loopback ports, and
// mostly waits on its load (about half a core each), so running them side by side halves the file's wall time.
describe.concurrent('experiments/bookinfo, full runs (issue 8)', () => {
  const files = catalogueFiles();

  // The acceptance: the whole catalogue exits 0 twice, with different seeds.
  it.each(FULL_RUN_SEEDS)(
    '(c) a full run (seed %i) exits 0 with every verdict pass',
    async (seed) => {
      const reportDir = join(work, `full-report-${seed}`);
      const r = await runCli(['run', 'experiments/bookinfo', '--seed', String(seed), '--report-dir', reportDir, '--quiet'], {
        timeoutMs: 170_000,
      });
      const result = readResult(reportDir);
      expect(describeNonPassing(result), 'experiments that did not pass').toBe('');
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(result.seed).toBe(seed);
      const runFiles = new Set(result.experiments.map((e) => e.file.split('/').pop()));
      expect([...runFiles].sort()).toEqual(files);
      for (const e of result.experiments) {
        expect(e.verdicts.length, e.name).toBeGreaterThan(0);
        for (const v of e.verdicts) expect(v.outcome, `${e.name}: ${v.title}: ${v.explanation}`).toBe('pass');
      }
    },
    180_000,
  );
});
