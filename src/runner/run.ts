// The lifecycle of a run: prepare → for each experiment (its phases: src/runner/experiment-run.ts) → close.
// Restore always runs: after success, failure, exceptions and interrupts (the CLI turns signals into interrupt()).
import { runCoverage } from './coverage.ts';
import { ExitCode, InterruptedError, ResourceError, SpecError, TargetError } from '../errors.ts';
import type { LoadDriver } from '../load/driver.ts';
import type { ObservationSnapshot, ObservationView, ResponseRecord } from '../observe/types.ts';
import type { JudgeContext, Verdict } from '../assertions/verdict.ts';
import type { Experiment, Expectation, RequestSpec } from '../spec/types.ts';
import { locateField } from '../spec/resources.ts';
import type { Target, TargetInfo } from '../targets/target.ts';
import type { RunListener } from './events.ts';
import { multiplex } from '../report/multiplexer.ts';
import { printable } from '../report/printable.ts';
import { ExperimentRun, type RunContext } from './experiment-run.ts';
import { RESULT_SCHEMA_VERSION, type ExperimentOutcome, type ExperimentResult, type RunResult } from './result.ts';
import { must } from '../must.ts';

/** An observation the runner can feed and snapshot (src/observe/observation.ts implements it). */
export interface RecordingObservation extends ObservationView {
  record(response: ResponseRecord): unknown;
  snapshot(): ObservationSnapshot;
}

/**
 * What to do at a step (tutorial mode): run it, skip it (listed as skipped), quit (the steps not reached are listed as
 * skipped), or go to another step (0-based; back, or the same step again). Nothing chosen means run / go on.
 */
export type StepChoice = 'run' | 'skip' | 'quit' | { goto: number };

/** The modules the runner drives; injected so the lifecycle can be tested with doubles. */
export interface RunnerDeps {
  createDriver(name: string): LoadDriver;
  newObservation(experiment: Experiment): RecordingObservation;
  resolveRequests(baseUrl: string, requests: RequestSpec[]): Promise<RequestSpec[]>;
  judgeAll(expectations: Expectation[], context: JudgeContext): Verdict[];
  allConclusive(verdicts: Verdict[]): boolean;
}

export interface RunOptions {
  runId: string;
  seed: number;
  command: string[];
  meshproofVersion: string;
  /** Constructed with all its options (scenario, seed, context, log...); the runner prepares, uses and closes it. */
  target: Target;
  /** Overrides every experiment's driver (--driver). */
  driver?: 'autocannon' | 'k6';
  convergeTimeoutMs?: number;
  /** Inconclusive verdicts fail the run unless 'pass'. */
  inconclusiveAs?: 'fail' | 'pass';
  listener?: RunListener;
  /**
   * Awaited before each experiment (tutorial mode explains the step and waits for Enter). Throwing InterruptedError
   * (Ctrl-C at a prompt) interrupts the run; the step and those after it are listed as skipped.
   */
  beforeExperiment?: (experiment: Experiment, index: number, total: number) => Promise<void | StepChoice>;
  /** Awaited after each experiment (tutorial mode: next, run it again, back, quit). */
  afterExperiment?: (experiment: Experiment, result: ExperimentResult, index: number, total: number) => Promise<void | StepChoice>;
  /** Where a listener's own exception is told (it never stops the run); default: a warning on stderr. */
  onListenerError?: (error: unknown, hook: string) => void;
}

export class Runner {
  private interruptedBy: string | undefined;
  private readonly interruptController = new AbortController();
  private restoring = false;
  /** Every hook call goes through this: a listener that throws must never skip a phase, least of all restore. */
  private readonly listener: Required<RunListener>;

  constructor(
    private readonly options: RunOptions,
    private readonly deps: RunnerDeps,
  ) {
    this.listener = multiplex(options.listener ? [options.listener] : [], options.onListenerError ?? warnListenerError);
  }

  /** Called by the CLI on SIGINT/SIGTERM. Stops load, skips what is left, but never skips restore. */
  interrupt(signal: string): void {
    const repeated = this.interruptedBy !== undefined;
    this.interruptedBy ??= signal;
    this.interruptController.abort(new InterruptedError(`interrupted by ${signal}`, signal));
    if (this.restoring || repeated) {
      this.listener.onMessage(`${signal} received again: still restoring the mesh to how it was; this cannot be skipped (it finishes by itself).`);
    } else {
      this.listener.onMessage(`${signal} received: stopping load, then restoring the mesh before exiting.`);
    }
  }

  get interrupted(): boolean {
    return this.interruptedBy !== undefined;
  }

  /**
   * Runs every experiment. A target that cannot be prepared (no cluster, a refused context) rejects with its error after
   * closing the target: nothing was touched, so there is no run to report, only the error (exit 3, or 2 for bad input).
   */
  async run(experiments: Experiment[]): Promise<RunResult> {
    const { options, listener } = this;
    const started = Date.now();
    const results: ExperimentResult[] = [];
    let info: TargetInfo;
    try {
      info = await options.target.prepare();
    } catch (error) {
      await this.close();
      throw error;
    }
    let fatal: { message: string; exitCode: number } | undefined;
    const reached = new Set<Experiment>();
    let quitAt: number | undefined;
    try {
      listener.onRunStart({ runId: options.runId, experiments: experiments.length, target: info });
      const total = experiments.length;
      const clamp = (i: number) => Math.max(0, Math.min(total - 1, i));
      let index = 0;
      while (index < total && !this.interrupted) {
        const experiment = must(experiments[index], `experiment ${index} of ${total}`);
        const before = await this.ask(() => options.beforeExperiment?.(experiment, index, total));
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a signal handler sets it during the await
        if (this.interrupted) break;
        if (before === 'quit') {
          quitAt = index;
          break;
        }
        if (typeof before === 'object') {
          index = clamp(before.goto);
          continue;
        }
        reached.add(experiment);
        // A step skipped earlier and now run (or skipped again) is listed once for that skip.
        const earlierSkip = results.findIndex((r) => r.outcome === 'skipped' && r.name === experiment.name && r.file === experiment.file);
        if (earlierSkip >= 0) results.splice(earlierSkip, 1);
        if (before === 'skip') {
          results.push(skippedResult(experiment, 'skipped at the prompt', Date.now()));
          index++;
          continue;
        }
        listener.onExperimentStart(experiment, index, total);
        const result = await new ExperimentRun(experiment, this.context(info)).run();
        results.push(result);
        listener.onExperimentEnd(experiment, result);
        if (result.error?.exitCode === ExitCode.infrastructure && result.error.phase === 'restore') {
          fatal = { message: `restore failed, stopping: ${result.error.message}`, exitCode: ExitCode.infrastructure };
          break;
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a signal handler sets it while the experiment runs
        if (this.interrupted) break;
        const after = await this.ask(() => options.afterExperiment?.(experiment, result, index, total));
        if (after === 'quit') {
          quitAt = index + 1;
          break;
        }
        index = typeof after === 'object' ? clamp(after.goto) : index + 1;
      }
    } finally {
      await this.close();
    }
    const finished = Date.now();
    // Experiments that never started are listed, never dropped: a run cut short must not read as a smaller green run.
    const skipReason = this.interrupted
      ? `not run: the run was interrupted by ${this.interruptedBy}`
      : fatal
        ? `not run: the run stopped (${fatal.message})`
        : quitAt !== undefined
          ? `not run: the tutorial was quit at step ${quitAt + 1}`
          : 'not run';
    for (const experiment of experiments) if (!reached.has(experiment)) results.push(skippedResult(experiment, skipReason, finished));
    const exitCode = this.exitCode(results, fatal);
    const error = fatal?.message ?? (this.interrupted ? `interrupted by ${this.interruptedBy}; the mesh was restored` : undefined);
    const result: RunResult = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      runId: options.runId,
      meshproofVersion: options.meshproofVersion,
      command: options.command,
      seed: options.seed,
      target: info,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
      experiments: results,
      coverage: runCoverage(results.map((r) => ({ name: r.name, resources: r.resources, expectations: r.expectations, counters: r.counters }))),
      outcome: this.interrupted ? 'interrupted' : overallOutcome(results, fatal !== undefined, options.inconclusiveAs),
      exitCode,
      interrupted: this.interrupted,
      ...(error !== undefined ? { error } : {}),
    };
    listener.onRunEnd(result);
    return result;
  }

  /** A prompt's answer; Ctrl-C at the prompt (InterruptedError) interrupts the run before the step starts. */
  private async ask(prompt: () => Promise<void | StepChoice> | undefined): Promise<void | StepChoice> {
    try {
      return await prompt();
    } catch (error) {
      if (!(error instanceof InterruptedError)) throw error;
      this.interrupt(error.signal);
      return undefined;
    }
  }

  private async close(): Promise<void> {
    try {
      await this.options.target.close();
    } catch (error) {
      this.listener.onMessage(`closing the target failed: ${messageOf(error)}`);
    }
  }

  /** What one experiment's run needs from this Runner. */
  private context(info: TargetInfo): RunContext {
    const { options } = this;
    return {
      target: options.target,
      info,
      deps: this.deps,
      listener: this.listener,
      runId: options.runId,
      seed: options.seed,
      ...(options.driver ? { driver: options.driver } : {}),
      convergeTimeoutMs: options.convergeTimeoutMs ?? 60_000,
      interrupt: this.interruptController.signal,
      restoring: (on) => {
        this.restoring = on;
      },
      describe: messageOf,
      exitCodeOf,
    };
  }

  private exitCode(results: ExperimentResult[], fatal?: { exitCode: number }): number {
    // A mesh that could not be put back outranks everything, an interrupt included (130 promises a restored mesh).
    if (results.some((r) => r.error?.phase === 'restore')) return ExitCode.infrastructure;
    if (this.interrupted) return ExitCode.interrupted;
    const codes = [fatal?.exitCode, ...results.map((r) => r.error?.exitCode)].filter((c): c is number => c !== undefined);
    if (codes.includes(ExitCode.badInput)) return ExitCode.badInput;
    if (codes.includes(ExitCode.infrastructure)) return ExitCode.infrastructure;
    const failing = results.some((r) => r.outcome === 'fail' || (r.outcome === 'inconclusive' && this.options.inconclusiveAs !== 'pass'));
    return failing ? ExitCode.failed : ExitCode.ok;
  }
}

function warnListenerError(error: unknown, hook: string): void {
  process.stderr.write(`warning: ${printable(`a run listener failed in ${hook} (the run goes on): ${messageOf(error)}`)}\n`);
}

function skippedResult(experiment: Experiment, reason: string, at: number): ExperimentResult {
  return {
    name: experiment.name,
    file: experiment.file,
    description: experiment.description,
    tags: experiment.tags,
    ...(experiment.sweep ? { sweep: experiment.sweep } : {}),
    outcome: 'skipped',
    skipReason: reason,
    resources: experiment.apply.map((r) => r.object),
    load: experiment.load,
    counters: [],
    expectations: experiment.expect,
    verdicts: [],
    phases: [],
    events: [],
    warnings: experiment.warnings,
    startedAt: new Date(at).toISOString(),
    durationMs: 0,
  };
}

function overallOutcome(results: ExperimentResult[], fatal: boolean, inconclusiveAs: 'fail' | 'pass' = 'fail'): ExperimentOutcome {
  if (fatal || results.some((r) => r.outcome === 'error')) return 'error';
  if (results.some((r) => r.outcome === 'fail')) return 'fail';
  if (results.some((r) => r.outcome === 'inconclusive')) return inconclusiveAs === 'pass' ? 'pass' : 'inconclusive';
  return 'pass';
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof InterruptedError) return ExitCode.interrupted;
  if (error instanceof SpecError) return ExitCode.badInput;
  return ExitCode.infrastructure;
}

/** A user-facing message; resource errors point at the resource's file:line when known. */
export function messageOf(error: unknown, experiment?: Experiment): string {
  if (error instanceof ResourceError && !error.source && experiment) {
    const ref = experiment.apply.find((r) => r.object.kind === error.resource.kind && r.object.metadata.name === error.resource.metadata.name);
    const pos = ref ? (locateField(ref.object, error.fieldPath) ?? ref.source) : undefined;
    return pos ? `${pos.file}:${pos.line}:${pos.col}: ${error.path}: ${error.message}` : error.format();
  }
  if (error instanceof SpecError) return error.format();
  if (error instanceof TargetError || error instanceof InterruptedError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
