// The closing block of a run in the terminal, in the manner of k6's end-of-test summary: one line per figure with a
// dotted leader, then each verdict that did not pass with its one-sentence reason, wrapped to the terminal's width.
import pc from 'picocolors';
import type { RunResult } from '../runner/result.ts';
import { describeTally, formatMs, formatNumber, formatObserved, tallyOutcomes } from './base.ts';
import { printable } from './printable.ts';
import { wrap } from './wrap.ts';

type Colors = ReturnType<typeof pc.createColors>;

/** The summary's width: the terminal's, at most 100 columns, at least 60; 80 when unknown. */
export function summaryWidth(columns: number | undefined): number {
  return Math.max(60, Math.min(100, columns ?? 80));
}

export function renderRunSummary(result: RunResult, width = 80, c: Colors = pc.createColors(false)): string {
  const lines: string[] = [];
  const row = (name: string, value: string) => {
    const head = `  ${name} ${'.'.repeat(Math.max(2, 14 - name.length))}: `;
    lines.push(wrap(value, width, head, ' '.repeat(head.length)));
  };
  const ran = result.experiments.filter((e) => e.outcome !== 'skipped');
  row('experiments', `${describeTally(tallyOutcomes(result.experiments))} of ${result.experiments.length}`);
  const verdicts = result.experiments.flatMap((e) => e.verdicts);
  if (verdicts.length) row('verdicts', describeTally(tallyOutcomes(verdicts)));
  const sent = ran.reduce((s, e) => s + (e.loadSummary?.sent ?? 0), 0);
  const answered = ran.reduce((s, e) => s + (e.loadSummary?.answered ?? 0), 0);
  const errored = ran.reduce((s, e) => s + (e.loadSummary?.errored ?? 0), 0);
  const loadMs = ran.reduce((s, e) => s + (e.loadSummary?.durationMs ?? 0), 0);
  if (sent > 0) {
    row('requests', `${formatNumber(sent)} sent, ${formatNumber(answered)} answered, ${formatNumber(errored)} without a response`);
    row('throughput', `${formatNumber(sent / (loadMs / 1000), 1)} req/s over ${formatMs(loadMs)} of load`);
  }
  // Percentiles cannot be merged across experiments from their summaries: say the range and where the worst was.
  const latencies = ran.flatMap((e) => (e.observation && e.observation.total > 0 ? [{ name: e.name, ...e.observation.latency }] : []));
  if (latencies.length) {
    const range = (key: 'p50' | 'p90' | 'p99') => {
      const values = latencies.map((l) => l[key]);
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      return lo === hi ? `${key} ${formatMs(lo)}` : `${key} ${formatMs(lo)}–${formatMs(hi)}`;
    };
    const worst = latencies.reduce((a, b) => (b.max > a.max ? b : a));
    row('latency', `${range('p50')}, ${range('p90')}, ${range('p99')} across experiments; slowest ${formatMs(worst.max)} in ${printable(worst.name)}`);
  }
  const notPassing = result.experiments.flatMap((e) => [
    ...(e.error
      ? [
          {
            mark: e.outcome === 'interrupted' ? c.yellow('■') : c.magenta('!'),
            text: `${e.name}: ${e.outcome === 'interrupted' ? 'stopped' : 'error'} in ${e.error.phase}: ${e.error.message}`,
          },
        ]
      : []),
    ...e.verdicts.flatMap((v) =>
      v.outcome === 'pass'
        ? []
        : [
            {
              mark: v.outcome === 'fail' ? c.red('✗') : c.yellow('?'),
              text: `${e.name}: ${v.title}: ${v.explanation} (observed ${formatObserved(v)}, expected ${v.expected})`,
            },
          ],
    ),
  ]);
  if (notPassing.length) {
    lines.push('');
    lines.push(`  ${c.bold('did not pass')}:`);
    // The mark is one column wide; wrap the plain text, then put the (maybe coloured) mark in front.
    for (const item of notPassing) lines.push(`  ${item.mark} ${wrap(printable(item.text), width, '    ', '    ').slice(4)}`);
  }
  return lines.join('\n');
}
