// Markdown summary for GitHub's job summary (GITHUB_STEP_SUMMARY). GitHub renders inline HTML in Markdown, so
// untrusted text is entity-escaped as well as made safe for table cells.
import { appendFile } from 'node:fs/promises';
import type { RunResult } from '../runner/result.ts';
import { describeSweepPoint, describeTally, formatConfidence, formatInterval, formatMs, formatObserved, shellQuote, tallyOutcomes } from './base.ts';

const icons: Record<string, string> = { pass: '✅', fail: '❌', inconclusive: '❔', error: '💥', interrupted: '⏹️', skipped: '⏭️' };

/** Text safe inside a Markdown table cell: no HTML, no pipes or newlines, no emphasis or link syntax. */
export function markdownCell(text: string): string {
  return text
    .replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string)
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

export function renderMarkdown(result: RunResult, options: { reportPath?: string } = {}): string {
  const tally = tallyOutcomes(result.experiments);
  const lines: string[] = [];
  lines.push(`## ${icons[result.outcome]} meshproof: ${describeTally(tally)}`);
  lines.push('');
  lines.push(
    `Run \`${result.runId}\` on **${markdownCell(result.target.kind)}** (${markdownCell(result.target.context)}, Istio ${markdownCell(result.target.istioVersion)}) in ${formatMs(result.durationMs)}, seed ${result.seed}, exit code ${result.exitCode}${result.interrupted ? ', **interrupted**' : ''}.`,
  );
  if (result.error) {
    lines.push('');
    lines.push(`> ${result.interrupted ? '⏹️' : '💥'} The run stopped: ${markdownCell(result.error)}`);
  }
  lines.push('');
  lines.push('| | Experiment | Outcome | Verdicts | Requests | Duration |');
  lines.push('|---|---|---|---|---:|---:|');
  for (const experiment of result.experiments) {
    const sweep = experiment.sweep ? ` (${markdownCell(describeSweepPoint(experiment.sweep.params))})` : '';
    const verdicts = experiment.verdicts.length
      ? describeTally(tallyOutcomes(experiment.verdicts))
      : experiment.error
        ? `${experiment.outcome === 'interrupted' ? 'stopped' : 'error'} in ${experiment.error.phase}`
        : experiment.outcome === 'skipped'
          ? 'not run'
          : '—';
    const requests = experiment.observation?.total ?? experiment.loadSummary?.sent;
    lines.push(
      `| ${icons[experiment.outcome]} | ${markdownCell(experiment.name)}${sweep} | ${experiment.outcome} | ${verdicts} | ${requests ?? '—'} | ${formatMs(experiment.durationMs)} |`,
    );
  }
  const notPassed = result.experiments.filter((e) => e.outcome !== 'pass' && e.outcome !== 'skipped');
  const skipped = result.experiments.filter((e) => e.outcome === 'skipped');
  if (notPassed.length) {
    lines.push('');
    lines.push('### What did not pass');
    for (const experiment of notPassed) {
      lines.push('');
      lines.push(`**${markdownCell(experiment.name)}** — ${experiment.outcome}`);
      lines.push('');
      if (experiment.error) lines.push(`- 💥 ${markdownCell(`${experiment.error.phase}: ${experiment.error.message}`)}`);
      experiment.verdicts.forEach((verdict) => {
        if (verdict.outcome === 'pass') return;
        lines.push(
          `- ${icons[verdict.outcome]} ${markdownCell(verdict.title)}: ${markdownCell(verdict.explanation)} (observed ${markdownCell(formatObserved(verdict))}, expected ${markdownCell(verdict.expected)}, interval ${markdownCell(formatInterval(verdict))} at ${formatConfidence(verdict.confidence)}, n = ${verdict.sampleSize})`,
        );
      });
    }
  }
  const [firstSkipped] = skipped;
  if (firstSkipped) {
    lines.push('');
    lines.push(
      `**Not run** (${skipped.length}): ${skipped.map((e) => markdownCell(e.name)).join(', ')} — ${markdownCell(firstSkipped.skipReason ?? 'skipped')}`,
    );
  }
  lines.push('');
  lines.push(
    `<sub>${markdownCell(shellQuote(result.command))} · meshproof ${markdownCell(result.meshproofVersion)}${options.reportPath ? ` · report: ${markdownCell(options.reportPath)}` : ''}</sub>`,
  );
  return lines.join('\n') + '\n';
}

/** Append the summary to `$GITHUB_STEP_SUMMARY` when set; returns the file written, if any. */
export async function appendStepSummary(
  result: RunResult,
  env: NodeJS.ProcessEnv = process.env,
  options: { reportPath?: string } = {},
): Promise<string | undefined> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return undefined;
  await appendFile(file, renderMarkdown(result, options), 'utf8');
  return file;
}
