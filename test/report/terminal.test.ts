import { describe, expect, it } from 'vitest';
import type { Experiment } from '../../src/spec/types.ts';
import type { RunResult } from '../../src/runner/result.ts';
import { colorsWanted, multiplex, summaryLine, TerminalReporter, type OutputStream } from '../../src/report/index.ts';
import { renderRunSummary } from '../../src/report/run-summary.ts';
import { formatNumber } from '../../src/report/base.ts';
import { buildRunResult } from './fixtures.ts';
import { must } from '../../src/must.ts';

class Capture implements OutputStream {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns = 120,
  ) {}
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

const ansi = /\u001b\[[0-9;?]*[A-Za-z]/;

function experimentOf(run: RunResult, index: number): Experiment {
  const r = must(run.experiments[index], 'r');
  return {
    file: r.file,
    name: r.name,
    description: r.description,
    tags: r.tags,
    scenario: 'bookinfo',
    apply: [],
    load: r.load,
    expect: r.expectations,
    sweep: r.sweep,
    warnings: r.warnings,
  };
}

/** Replays a run through a listener the way the runner calls it. */
function replay(listener: ReturnType<typeof multiplex> | TerminalReporter, run: RunResult) {
  listener.onRunStart?.({ runId: run.runId, experiments: run.experiments.length, target: run.target });
  run.experiments.forEach((result, i) => {
    const experiment = experimentOf(run, i);
    listener.onExperimentStart?.(experiment, i, run.experiments.length);
    for (const phase of ['apply', 'converge'] as const) {
      listener.onPhase?.(experiment, phase, 'start');
      listener.onPhase?.(experiment, phase, 'end');
    }
    if (result.observation) {
      listener.onPhase?.(experiment, 'load', 'start');
      for (const elapsedMs of [1000, 5000, 10_000]) {
        listener.onLoadProgress?.(experiment, {
          elapsedMs,
          sent: elapsedMs / 20,
          answered: elapsedMs / 20,
          errored: 0,
          byStatus: { '200': elapsedMs / 25, '503': elapsedMs / 100 },
        });
      }
      listener.onPhase?.(experiment, 'load', 'end');
      listener.onPhase?.(experiment, 'judge', 'start');
      listener.onPhase?.(experiment, 'judge', 'end');
    }
    listener.onPhase?.(experiment, 'restore', 'start');
    listener.onPhase?.(experiment, 'restore', 'end');
    listener.onExperimentEnd?.(experiment, result);
  });
  listener.onRunEnd?.(run);
}

describe('terminal reporter', () => {
  const run = buildRunResult();
  let clock = 0;
  const now = () => (clock += 7);

  it('without a TTY: plain lines per phase, load with req/s and status counts, then the closing summary', () => {
    const stderr = new Capture();
    const stdout = new Capture();
    replay(new TerminalReporter({ stream: stderr, stdout, env: {}, now }), run);
    expect(stdout.text).toBe('');
    expect(stderr.text).not.toMatch(ansi);
    expect(stderr.text).toContain(`meshproof run ${run.runId}: ${run.experiments.length} experiments on local`);
    expect(stderr.text).toContain('[1/11] reviews-shift-80-20');
    expect(stderr.text).toContain('✓ applying 7ms');
    expect(stderr.text).toContain('✓ converging');
    expect(stderr.text).toMatch(/… load 5s · 250 sent · 50 req\/s · 200×200 503×50/);
    expect(stderr.text).toContain('✓ judging');
    expect(stderr.text).toContain('✓ restoring');
    expect(stderr.text).toContain('✗ FAIL ratings-no-retries — 2 failed');
    expect(stderr.text).toContain('retries to ratings: The reviews-v2 sidecar retried ratings 12 times');
    expect(stderr.text).toContain('! ERROR details-timeout — error in converge: proxies did not converge');
    expect(stderr.text).toContain('? INCONCLUSIVE reviews-v3-rare');
    expect(stderr.text).toMatch(/^ {2}experiments \.+: 6 passed, 3 failed, 1 inconclusive, 1 errored of 11$/m);
    expect(stderr.text).toContain('✓ load 10s · 500 sent · 50 req/s · 200×400 503×100');
    expect(stderr.text).toContain(`ERROR 6 passed, 3 failed, 1 inconclusive, 1 errored in 2.17m (run ${run.runId}, exit code 3)`);
  });

  it('when the load ends, prints the rate over the whole load (sent ÷ elapsed), not over the last 250 ms window', () => {
    const stderr = new Capture();
    const reporter = new TerminalReporter({ stream: stderr, stdout: new Capture(), env: {}, now });
    const experiment = experimentOf(run, 0);
    reporter.onExperimentStart(experiment, 0, 1);
    reporter.onPhase(experiment, 'load', 'start');
    // 600 requests sent in the first 9.5 s; the last windows only collect the last responses.
    const progress = (elapsedMs: number, sent: number) => ({ elapsedMs, sent, answered: sent, errored: 0, byStatus: { '200': sent } });
    for (const [elapsedMs, sent] of [
      [5000, 300],
      [9500, 600],
      [9750, 600],
      [10_000, 600],
    ] as const)
      reporter.onLoadProgress(experiment, progress(elapsedMs, sent));
    reporter.onPhase(experiment, 'load', 'end');
    expect(stderr.text).toContain('✓ load 10s · 600 sent · 60 req/s · 200×600');
  });

  it('colours on a TTY unless NO_COLOR; FORCE_COLOR forces them', () => {
    expect(colorsWanted(new Capture(true), {})).toBe(true);
    expect(colorsWanted(new Capture(true), { NO_COLOR: '1' })).toBe(false);
    expect(colorsWanted(new Capture(false), {})).toBe(false);
    expect(colorsWanted(new Capture(false), { FORCE_COLOR: '1' })).toBe(true);
    const coloured = new Capture();
    replay(new TerminalReporter({ stream: coloured, stdout: new Capture(), colors: true, now }), run);
    expect(coloured.text).toMatch(ansi);
  });

  it('on a TTY redraws one live progress block (log-update) and keeps the per-experiment result lines', () => {
    const tty = new Capture(true);
    const reporter = new TerminalReporter({ stream: tty, stdout: new Capture(), env: { NO_COLOR: '1' }, now });
    const experiment = experimentOf(run, 0);
    reporter.onExperimentStart(experiment, 0, 3);
    reporter.onPhase(experiment, 'load', 'start');
    reporter.onLoadProgress(experiment, { elapsedMs: 1000, sent: 50, answered: 50, errored: 0, byStatus: { '200': 48, '503': 2 } });
    reporter.onLoadProgress(experiment, { elapsedMs: 2000, sent: 110, answered: 108, errored: 0, byStatus: { '200': 100, '503': 8 } });
    expect(tty.text).toContain('[1/3] reviews-shift-80-20');
    expect(tty.text).toContain('load 2s · 110 sent · 60 req/s · 200×100 503×8');
    expect(tty.text).toMatch(/\u001b\[2K/); // erase-line: the block is redrawn in place
    reporter.onExperimentEnd(experiment, must(run.experiments[0], 'run.experiments[0]'));
    expect(tty.text).toContain('✓ PASS reviews-shift-80-20 — 3 passed');
  });

  it('--json prints only the JSON on stdout; human output stays on stderr', () => {
    const stderr = new Capture();
    const stdout = new Capture();
    replay(new TerminalReporter({ stream: stderr, stdout, json: true, env: {}, now }), run);
    expect(JSON.parse(stdout.text)).toEqual(JSON.parse(JSON.stringify(run)));
    expect(stderr.text).toContain('ERROR 6 passed');
  });

  it('quiet mode: no progress or table, but each error and each failing or inconclusive verdict (one line each), the summary and the report path', () => {
    const stderr = new Capture();
    const reporter = new TerminalReporter({ stream: stderr, stdout: new Capture(), quiet: true, env: {}, now });
    replay(reporter, run);
    reporter.onReportsWritten({ html: 'reports/x/index.html', json: 'reports/x/result.json', junit: 'reports/x/junit.xml' });
    const lines = stderr.text.trimEnd().split('\n');
    const notPassing = run.experiments.flatMap((e) => [...(e.error ? [e.error] : []), ...e.verdicts.filter((v) => v.outcome !== 'pass')]);
    expect(lines).toHaveLength(notPassing.length + 2);
    expect(lines.slice(-2)).toEqual([summaryLine(run), 'report: reports/x/index.html']);
    expect(stderr.text).toContain('! ERROR details-timeout — error in converge: proxies did not converge within 30s');
    expect(stderr.text).toMatch(
      /^✗ FAIL ratings-no-retries: retries to ratings: The reviews-v2 sidecar retried ratings 12 times.* \(observed 12, expected ≤ 0\)$/m,
    );
    expect(stderr.text).toMatch(/^\? INCONCLUSIVE reviews-v3-rare: status 503: With n = /m);
    expect(stderr.text).not.toMatch(/PASS|applying|load \d|┌/);
  });

  it('quiet mode on an all-pass run prints the summary and the report path only', () => {
    const stderr = new Capture();
    const passing = buildRunResult();
    passing.experiments = passing.experiments.filter((e) => e.outcome === 'pass');
    const reporter = new TerminalReporter({ stream: stderr, stdout: new Capture(), quiet: true, env: {}, now });
    replay(reporter, passing);
    reporter.onReportsWritten({ html: 'r/index.html', json: 'r/result.json', junit: 'r/junit.xml' });
    expect(stderr.text.trimEnd().split('\n')).toEqual([summaryLine(passing), 'report: r/index.html']);
  });

  it('untrusted names cannot send terminal control sequences', () => {
    const stderr = new Capture();
    const evil = buildRunResult();
    const experiment = must(evil.experiments[0], 'the first experiment');
    experiment.name = 'x\u001b]0;pwned\u0007\u001b[2Jy';
    must(experiment.verdicts[0], 'its first verdict').explanation = 'because\u001b[31m red';
    replay(new TerminalReporter({ stream: stderr, stdout: new Capture(), env: {}, now }), evil);
    expect(stderr.text).not.toMatch(/[\u0000-\u0009\u000B-\u001F]/);
    expect(stderr.text).toContain('x\uFFFD]0;pwned\uFFFD\uFFFD[2Jy');
  });

  it("the closing summary, like k6's: figures with dotted leaders, every verdict that did not pass with its reason, within 80 columns", () => {
    const text = renderRunSummary(run, 80);
    const lines = text.split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text).toMatch(/^ {2}experiments \.+: 6 passed, 3 failed, 1 inconclusive, 1 errored of 11$/m);
    expect(text).toMatch(/^ {2}verdicts \.+: /m);
    const sent = run.experiments.reduce((s, e) => s + (e.loadSummary?.sent ?? 0), 0);
    expect(text).toContain(`requests ......: ${formatNumber(sent)} sent`);
    expect(text).toMatch(/^ {2}throughput \.+: [\d.,]+ req\/s over /m);
    expect(text).toMatch(/^ {2}latency \.+: p50 [\s\S]* across\s+experiments; slowest /m);
    expect(text).toMatch(/^ {2}did not pass:$/m);
    const notPassing = run.experiments.flatMap((e) => [...(e.error ? [e] : []), ...e.verdicts.filter((v) => v.outcome !== 'pass')]);
    expect(lines.filter((l) => /^ {2}[✗?!■] /.test(l))).toHaveLength(notPassing.length);
    expect(text).toContain('  ! details-timeout: error in converge: proxies did not converge');
    // Wider terminals get longer lines, never over 100 columns.
    for (const line of renderRunSummary(run, 200).split('\n')) expect(line.length).toBeLessThanOrEqual(200);
  });

  it('the multiplexer fans out to every listener and survives one that throws', () => {
    const stderr = new Capture();
    const errors: string[] = [];
    const seen: string[] = [];
    const listener = multiplex(
      [
        {
          onRunStart: () => {
            throw new Error('boom');
          },
        },
        new TerminalReporter({ stream: stderr, stdout: new Capture(), env: {}, now }),
        { onRunEnd: (r) => seen.push(r.runId) },
      ],
      (error, method) => errors.push(`${method}: ${(error as Error).message}`),
    );
    replay(listener, run);
    expect(errors).toEqual(['onRunStart: boom']);
    expect(seen).toEqual([run.runId]);
    expect(stderr.text).toContain('reviews-shift-80-20');
  });
});
