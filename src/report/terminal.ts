// Terminal output: live progress per experiment phase, then a summary table. Human output goes to stderr only,
// so `--json` can print nothing but the JSON on stdout. Colours follow NO_COLOR / FORCE_COLOR and the TTY.
import { createLogUpdate } from 'log-update';
import pc from 'picocolors';
import type { Experiment } from '../spec/types.ts';
import type { LoadProgress } from '../load/driver.ts';
import type { RunListener } from '../runner/events.ts';
import type { ExperimentOutcome, ExperimentResult, PhaseName, RunResult } from '../runner/result.ts';
import type { TargetInfo } from '../targets/target.ts';
import { compareStatus, describeSweepPoint, describeTally, formatMs, formatNumber, formatObserved, tallyOutcomes } from './base.ts';
import { renderJson } from './json.ts';
import { printable } from './printable.ts';
import { renderRunSummary, summaryWidth } from './run-summary.ts';
import { wrap } from './wrap.ts';

type Colors = ReturnType<typeof pc.createColors>;

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface TerminalOptions {
  /** Where human output goes (default process.stderr). */
  stream?: OutputStream;
  /** Where `--json` writes the result (default process.stdout). */
  stdout?: OutputStream;
  /** Force colours on or off; default: off with NO_COLOR or when the stream is not a TTY, on with FORCE_COLOR. */
  colors?: boolean;
  /** No progress and no table: the final summary line(s), each errored experiment's error, each failing or inconclusive verdict (one line each) and the report's path. */
  quiet?: boolean;
  /** Print the RunResult as JSON on stdout at the end. */
  json?: boolean;
  /** Live redrawing of the progress line (default: when the stream is a TTY). */
  live?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Clock for phase durations (tests). */
  now?: () => number;
}

/** Whether colours should be used for `stream` under `env` (https://no-color.org, FORCE_COLOR as chalk reads it). */
export function colorsWanted(stream: OutputStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const phaseWords: Partial<Record<PhaseName, string>> = {
  prepare: 'preparing',
  snapshot: 'snapshotting',
  apply: 'applying',
  converge: 'converging',
  login: 'logging in',
  load: 'load',
  counters: 'reading counters',
  judge: 'judging',
  restore: 'restoring',
};

/** The live load rate's window. */
const RATE_WINDOW_MS = 2000;

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface PhaseState {
  phase: PhaseName;
  startedAt: number;
  tookMs?: number;
  detail?: string;
  /** The phase ended with an error (its message is the detail). */
  failed?: boolean;
}

interface ExperimentState {
  label: string;
  index: number;
  total: number;
  phases: PhaseState[];
  progress?: LoadProgress;
  rate?: number;
  /** Recent progress points, the last two seconds' worth: the live rate is taken over them. */
  recent: { elapsedMs: number; sent: number }[];
  lastPrintedLoadMs: number;
}

export class TerminalReporter implements RunListener {
  private readonly stream: OutputStream;
  private readonly stdout: OutputStream;
  private readonly c: Colors;
  private readonly quiet: boolean;
  private readonly json: boolean;
  private readonly live: boolean;
  private readonly now: () => number;
  private readonly update?: ReturnType<typeof createLogUpdate>;
  private current?: ExperimentState;
  private frame = 0;

  constructor(options: TerminalOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.stdout = options.stdout ?? process.stdout;
    this.c = pc.createColors(options.colors ?? colorsWanted(this.stream, options.env));
    this.quiet = options.quiet ?? false;
    this.json = options.json ?? false;
    this.live = !this.quiet && (options.live ?? this.stream.isTTY === true);
    this.now = options.now ?? (() => performance.now());
    if (this.live) this.update = createLogUpdate(this.stream as NodeJS.WritableStream, { showCursor: true });
  }

  onRunStart(info: { runId: string; experiments: number; target: TargetInfo }): void {
    if (this.quiet) return;
    this.line(
      printable(
        `meshproof run ${info.runId}: ${info.experiments} experiment${info.experiments === 1 ? '' : 's'} on ${info.target.kind} (${info.target.description}, Istio ${info.target.istioVersion})`,
      ),
    );
    if (info.target.controlPlane) this.line(printable(`  control plane: ${info.target.controlPlane}`));
  }

  onExperimentStart(experiment: Experiment, index: number, total: number): void {
    const sweep = experiment.sweep ? ` ${this.c.dim(printable(describeSweepPoint(experiment.sweep.params)))}` : '';
    this.current = { label: `${printable(experiment.name)}${sweep}`, index, total, phases: [], recent: [], lastPrintedLoadMs: 0 };
    if (this.quiet) return;
    if (this.live) this.redraw();
    else this.line(`${this.c.dim(`[${index + 1}/${total}]`)} ${this.c.bold(printable(experiment.name))}${sweep}`);
  }

  onPhase(_experiment: Experiment, phase: PhaseName, status: 'start' | 'end', detail?: string): void {
    const state = this.current;
    if (!state || this.quiet) return;
    if (status === 'start') {
      state.phases.push({ phase, startedAt: this.now(), detail });
    } else {
      const running = [...state.phases].reverse().find((p) => p.phase === phase && p.tookMs === undefined);
      if (running) {
        running.tookMs = this.now() - running.startedAt;
        if (detail) running.detail = detail;
        running.failed = detail !== undefined;
      }
      // While load runs the rate is the last two seconds'; once it ends, the whole load's: sent ÷ elapsed (the
      // last window is often empty, as responses still come back after the last request was sent).
      if (phase === 'load' && state.progress && state.progress.elapsedMs > 0) state.rate = (state.progress.sent * 1000) / state.progress.elapsedMs;
      if (!this.live) {
        const took = phase === 'load' && state.progress ? this.loadText(state) : this.c.dim(formatMs(running?.tookMs));
        const mark = detail === undefined ? this.c.green('✓') : this.c.red('✗');
        this.line(`  ${mark} ${phaseWords[phase] ?? phase} ${took}${detail ? ` ${this.c.dim(printable(detail))}` : ''}`);
      }
    }
    if (this.live) this.redraw();
  }

  onLoadProgress(_experiment: Experiment, progress: LoadProgress): void {
    const state = this.current;
    if (!state || this.quiet) return;
    // Over a window of about two seconds: an open model's sends come in per-second bursts (autocannon), so a 250 ms
    // window said "0 req/s" between bursts at rate 100. In the first two seconds, the rate since the start.
    const latest = { elapsedMs: progress.elapsedMs, sent: progress.sent };
    state.recent.push(latest);
    const outOfWindow = (second: { elapsedMs: number } | undefined) => second !== undefined && progress.elapsedMs - second.elapsedMs >= RATE_WINDOW_MS;
    while (state.recent.length > 2 && outOfWindow(state.recent[1])) state.recent.shift();
    const oldest = state.recent[0] ?? latest;
    const span = progress.elapsedMs - oldest.elapsedMs;
    if (span >= RATE_WINDOW_MS / 2) state.rate = ((progress.sent - oldest.sent) * 1000) / span;
    else if (progress.elapsedMs > 0) state.rate = (progress.sent * 1000) / progress.elapsedMs;
    state.progress = progress;
    if (this.live) {
      this.redraw();
    } else if (progress.elapsedMs - state.lastPrintedLoadMs >= 5000) {
      // Without a live line, a progress line every 5 s of load is enough for CI logs.
      state.lastPrintedLoadMs = progress.elapsedMs;
      this.line(`  ${this.c.cyan('…')} load ${this.loadText(state)}`);
    }
  }

  onExperimentEnd(_experiment: Experiment, result: ExperimentResult): void {
    const state = this.current;
    if (this.live) {
      this.update?.clear();
    }
    this.current = undefined;
    if (this.quiet) {
      this.quietLines(result);
      return;
    }
    const position = state ? this.c.dim(`[${state.index + 1}/${state.total}]`) + ' ' : '';
    const verdicts = result.verdicts.length
      ? describeTally(tallyOutcomes(result.verdicts))
      : result.error
        ? `${result.outcome === 'interrupted' ? 'stopped' : 'error'} in ${result.error.phase}: ${printable(result.error.message)}`
        : 'no verdicts';
    this.line(
      `${position}${this.outcomeMark(result.outcome)} ${this.c.bold(printable(result.name))}${result.sweep ? ' ' + this.c.dim(printable(describeSweepPoint(result.sweep.params))) : ''} ${this.c.dim('—')} ${verdicts} ${this.c.dim(formatMs(result.durationMs))}`,
    );
    result.verdicts.forEach((verdict) => {
      if (verdict.outcome === 'pass') return;
      this.line(
        `    ${this.outcomeMark(verdict.outcome)} ${printable(verdict.title)}: ${printable(verdict.explanation)} ${this.c.dim(printable(`(observed ${formatObserved(verdict)}, expected ${verdict.expected})`))}`,
      );
    });
  }

  /** Quiet mode still says why a run did not pass: an errored experiment's error, each failing or inconclusive verdict. */
  private quietLines(result: ExperimentResult): void {
    const name = `${this.c.bold(printable(result.name))}${result.sweep ? ' ' + this.c.dim(printable(describeSweepPoint(result.sweep.params))) : ''}`;
    if (result.error)
      this.line(
        `${this.outcomeMark(result.outcome === 'interrupted' ? 'interrupted' : 'error')} ${name} ${this.c.dim('—')} ${result.outcome === 'interrupted' ? 'stopped' : 'error'} in ${result.error.phase}: ${printable(result.error.message)}`,
      );
    result.verdicts.forEach((verdict) => {
      if (verdict.outcome === 'pass') return;
      this.line(
        `${this.outcomeMark(verdict.outcome)} ${name}: ${printable(verdict.title)}: ${printable(verdict.explanation)} ${this.c.dim(printable(`(observed ${formatObserved(verdict)}, expected ${verdict.expected})`))}`,
      );
    });
  }

  onMessage(message: string): void {
    if (this.quiet) return;
    if (this.live) this.update?.clear();
    this.line(this.c.dim(printable(message)));
    if (this.live && this.current) this.redraw();
  }

  onRunEnd(result: RunResult): void {
    if (this.live) this.update?.clear();
    if (!this.quiet) this.stream.write(`\n${renderRunSummary(result, summaryWidth(this.stream.columns), this.c)}\n`);
    this.line(summaryLine(result, this.c));
    if (this.json) this.stdout.write(renderJson(result));
  }

  /** After the reports are written: where to find them. */
  onReportsWritten(paths: { html: string; json: string; junit: string }): void {
    if (this.quiet) {
      this.line(`${this.c.dim('report:')} ${paths.html}`);
      return;
    }
    this.line(`${this.c.dim('report:')} ${paths.html}\n${this.c.dim('json:')}   ${paths.json}\n${this.c.dim('junit:')}  ${paths.junit}`);
  }

  /**
   * One line (or several); on a terminal of known width a longer line is wrapped, keeping its indent. Logs (no TTY) and
   * --quiet keep one line per item, for grep.
   */
  private line(text: string): void {
    const width = this.stream.columns;
    if (width && this.stream.isTTY && !this.quiet) {
      text = text
        .split('\n')
        .map((l) => {
          if (l.replace(/\u001b\[[0-9;]*m/g, '').length <= width) return l;
          const indent = /^ */.exec(l)?.[0] ?? '';
          return wrap(l, width, indent, `${indent}  `);
        })
        .join('\n');
    }
    this.stream.write(text + '\n');
  }

  private outcomeMark(outcome: ExperimentOutcome): string {
    switch (outcome) {
      case 'pass':
        return this.c.green('✓ PASS');
      case 'fail':
        return this.c.red('✗ FAIL');
      case 'inconclusive':
        return this.c.yellow('? INCONCLUSIVE');
      case 'interrupted':
        return this.c.yellow('■ INTERRUPTED');
      case 'skipped':
        return this.c.dim('- SKIPPED');
      default:
        return this.c.magenta('! ERROR');
    }
  }

  private loadText(state: ExperimentState): string {
    const p = state.progress;
    if (!p) return '';
    const statuses = Object.entries(p.byStatus)
      .sort(compareStatus)
      .map(([status, n]) => this.colorStatus(status, `${status === '0' ? 'err' : printable(status)}×${n}`))
      .join(' ');
    return `${formatMs(p.elapsedMs)} · ${formatNumber(p.sent)} sent · ${state.rate === undefined ? '—' : formatNumber(state.rate, 1)} req/s${statuses ? ' · ' + statuses : ''}`;
  }

  private colorStatus(status: string, text: string): string {
    if (status === '429') return this.c.yellow(text);
    if (status.startsWith('2')) return this.c.green(text);
    if (status.startsWith('4')) return this.c.yellow(text);
    if (status.startsWith('5') || status === '0') return this.c.red(text);
    return text;
  }

  private redraw(): void {
    const state = this.current;
    if (!state || !this.update) return;
    this.frame = (this.frame + 1) % spinner.length;
    const phases = state.phases.map((p) => {
      const word = phaseWords[p.phase] ?? p.phase;
      if (p.failed) return `${this.c.red('✗')} ${word} ${this.c.dim(formatMs(p.tookMs))}`;
      if (p.tookMs !== undefined) return `${this.c.green('✓')} ${word} ${this.c.dim(formatMs(p.tookMs))}`;
      const extra = p.phase === 'load' ? ` ${this.loadText(state)}` : p.detail ? ` ${this.c.dim(p.detail)}` : '';
      return `${this.c.cyan(spinner[this.frame])} ${word}${extra}`;
    });
    this.update(`${this.c.dim(`[${state.index + 1}/${state.total}]`)} ${this.c.bold(state.label)}\n  ${phases.join('  ')}`);
  }
}

export function summaryLine(result: RunResult, c: Colors = pc.createColors(false)): string {
  const paint: Record<ExperimentOutcome, (s: string) => string> = {
    pass: c.green,
    fail: c.red,
    inconclusive: c.yellow,
    error: c.magenta,
    interrupted: c.yellow,
    skipped: c.dim,
  };
  const line = `${paint[result.outcome](c.bold(result.outcome.toUpperCase()))} ${describeTally(tallyOutcomes(result.experiments))} in ${formatMs(result.durationMs)} ${c.dim(`(run ${result.runId}, exit code ${result.exitCode}${result.interrupted ? ', interrupted' : ''})`)}`;
  return result.error ? `${line}\n${c.magenta('the run stopped:')} ${printable(result.error)}` : line;
}
