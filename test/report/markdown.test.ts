import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendStepSummary, renderMarkdown } from '../../src/report/index.ts';
import { markdownCell } from '../../src/report/markdown.ts';
import { buildRunResult, hostileImg, hostileScript } from './fixtures.ts';

describe('Markdown step summary', () => {
  const run = buildRunResult();
  const md = renderMarkdown(run);

  it('has a row per experiment and the explanations of what did not pass', () => {
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| |'));
    expect(rows).toHaveLength(run.experiments.length);
    expect(md).toContain('## 💥 meshproof: 6 passed, 3 failed, 1 inconclusive, 1 errored');
    expect(md).toContain('### What did not pass');
    expect(md).toContain('The reviews-v2 sidecar retried ratings 12 times');
    expect(md).toContain('💥 converge: proxies did not converge within 30s');
    expect(md).not.toContain('Every category');
  });

  it('no untrusted HTML reaches GitHub and table cells stay one cell', () => {
    expect(md).not.toContain(hostileScript);
    expect(md).not.toContain(hostileImg);
    expect(markdownCell('a | b\nc <x> [l](u)')).toBe('a \\| b c &lt;x&gt; \\[l\\]\\(u\\)');
    for (const row of md.split('\n').filter((l) => l.startsWith('| '))) expect(row.split(/(?<!\\)\|/).length).toBe(8);
  });

  it('is appended to $GITHUB_STEP_SUMMARY only when set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshproof-md-'));
    try {
      const file = join(dir, 'summary.md');
      await writeFile(file, 'before\n');
      expect(await appendStepSummary(run, {})).toBeUndefined();
      expect(await appendStepSummary(run, { GITHUB_STEP_SUMMARY: file })).toBe(file);
      expect(await readFile(file, 'utf8')).toBe('before\n' + md);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
