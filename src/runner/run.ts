// The lifecycle of a run: prepare → for each experiment (snapshot → apply → converge → load → counters → judge → restore).
// Restore always runs: after success, failure, exceptions and interrupts (the CLI turns signals into interrupt()).
import { ExitCode, InterruptedError, ResourceError, SpecError, TargetError } from '../errors.ts';
import type { LoadDriver, LoadPlan, LoadProgress, LoadSummary } from '../load/driver.ts';
import { halfPushedProbe } from './probe.ts';
import { groupByEntry, mergeProgress, mergeSummaries, splitPlan, type EntryGroup } from './load-split.ts';
import type { CounterSample, ObservationSnapshot, ObservationView, ResponseRecord } from '../observe/types.ts';
import { counterDelta } from '../observe/prometheus.ts';
import type { JudgeContext, Verdict } from '../assertions/verdict.ts';
import type { Experiment, Expectation, RequestSpec } from '../spec/types.ts';
import { locateField } from '../spec/resources.ts';
import type { Target, TargetInfo, TargetOptions } from '../targets/target.ts';
import type { RunListener } from './events.ts';
import { multiplex } from '../report/multiplexer.ts';
import { printable } from '../report/printable.ts';
import { WarmupBaseline } from './warmup-baseline.ts';
import type { ExperimentOutcome, ExperimentResult, PhaseName, PhaseTiming, RunEvent, RunResult } from './result.ts';

/** An observation the runner can feed and snapshot (src/observe/observation.ts implements it). */
export interface RecordingObservation extends ObservationView {
  record(response: ResponseRecord): unknown;
  snapshot(): ObservationSnapshot;
}

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
  target: Target;
  targetOptions: TargetOptions;
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
  beforeExperiment?: (experiment: Experiment, index: number, total: number) => Promise<void>;
  /** Where a listener's own exception is told (it never stops the run); default: a warning on stderr. */
  onListenerError?: (error: unknown, hook: string) => void;
}

/** Expectations that can be judged from client data alone, while load runs (sequential mode). */
function judgedFromClient(e: Expectation): boolean {
  return ['distribution', 'status', 'latency', 'rateLimited'].includes(e.kind) || (e.kind === 'denied' && e.service === undefined);
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
      this.listener.onMessage(
        `${signal} received again: still restoring the mesh to how it was; this cannot be skipped (it finishes by itself).`,
      );
    } else {
      this.listener.onMessage(`${signal} received: stopping load, then restoring the mesh before exiting.`);
    }
  }

  get interrupted(): boolean {
    return this.interruptedBy !== undefined;
  }

  async run(experiments: Experiment[]): Promise<RunResult> {
    const { options, listener } = this;
    const started = Date.now();
    const results: ExperimentResult[] = [];
    let info: TargetInfo = { kind: options.target.kind, istioVersion: options.targetOptions.istioVersion ?? 'unknown', context: options.targetOptions.context ?? options.target.kind, description: '' };
    let fatal: { message: string; exitCode: number } | undefined;
    try {
      try {
        info = await options.target.prepare(options.targetOptions);
      } catch (error) {
        fatal = { message: messageOf(error), exitCode: exitCodeOf(error) };
      }
      listener.onRunStart({ runId: options.runId, experiments: experiments.length, target: info });
      if (!fatal) {
        for (const [index, experiment] of experiments.entries()) {
          if (this.interrupted) break;
          try {
            await options.beforeExperiment?.(experiment, index, experiments.length);
          } catch (error) {
            if (!(error instanceof InterruptedError)) throw error;
            this.interrupt(error.signal);
          }
          if (this.interrupted) break;
          listener.onExperimentStart(experiment, index, experiments.length);
          const result = await this.runExperiment(experiment, info);
          results.push(result);
          listener.onExperimentEnd(experiment, result);
          if (result.error?.exitCode === ExitCode.infrastructure && result.error.phase === 'restore') {
            fatal = { message: `restore failed, stopping: ${result.error.message}`, exitCode: ExitCode.infrastructure };
            break;
          }
        }
      }
    } finally {
      try {
        await options.target.close();
      } catch (error) {
        listener.onMessage(`closing the target failed: ${messageOf(error)}`);
      }
    }
    const finished = Date.now();
    // Experiments that never started are listed, never dropped: a run cut short must not read as a smaller green run.
    const skipReason = this.interrupted
      ? `not run: the run was interrupted by ${this.interruptedBy}`
      : fatal
        ? `not run: the run stopped (${fatal.message})`
        : undefined;
    if (skipReason !== undefined) {
      for (const experiment of experiments.slice(results.length)) results.push(skippedResult(experiment, skipReason, finished));
    }
    const exitCode = this.exitCode(results, fatal);
    const error = fatal?.message ?? (this.interrupted ? `interrupted by ${this.interruptedBy}; the mesh was restored` : undefined);
    const result: RunResult = {
      schemaVersion: 1,
      runId: options.runId,
      meshproofVersion: options.meshproofVersion,
      command: options.command,
      seed: options.seed,
      target: info,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
      experiments: results,
      outcome: this.interrupted ? 'interrupted' : overallOutcome(results, fatal !== undefined, options.inconclusiveAs),
      exitCode,
      interrupted: this.interrupted,
      ...(error !== undefined ? { error } : {}),
    };
    listener.onRunEnd(result);
    return result;
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

  private async runExperiment(experiment: Experiment, info: TargetInfo): Promise<ExperimentResult> {
    const { target } = this.options;
    const { listener } = this;
    const t0 = Date.now();
    const phases: PhaseTiming[] = [];
    const events: RunEvent[] = [];
    const resources = experiment.apply.map((r) => r.object);
    const result: ExperimentResult = {
      name: experiment.name,
      file: experiment.file,
      description: experiment.description,
      tags: experiment.tags,
      ...(experiment.sweep ? { sweep: experiment.sweep } : {}),
      outcome: 'error',
      resources,
      load: experiment.load,
      counters: [],
      expectations: experiment.expect,
      verdicts: [],
      phases,
      events,
      warnings: experiment.warnings,
      startedAt: new Date(t0).toISOString(),
      durationMs: 0,
    };
    let loadStart: number | undefined;
    const mark = (what: RunEvent['what']) => events.push({ atMs: Date.now() - (loadStart ?? Date.now()), what });
    const phase = async <T>(name: PhaseName, work: () => Promise<T>): Promise<T> => {
      const start = Date.now();
      listener.onPhase(experiment, name, 'start');
      try {
        const value = await work();
        phases.push({ phase: name, startMs: start - t0, durationMs: Date.now() - start, ok: true });
        listener.onPhase(experiment, name, 'end');
        return value;
      } catch (error) {
        phases.push({ phase: name, startMs: start - t0, durationMs: Date.now() - start, ok: false, error: messageOf(error) });
        listener.onPhase(experiment, name, 'end', messageOf(error));
        throw new PhaseFailure(name, error);
      }
    };
    /** Await the interrupt as a rejection, so long waits (convergence) give way to restore. */
    const unlessInterrupted = <T>(work: Promise<T>): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const signal = this.interruptController.signal;
        if (signal.aborted) return reject(signal.reason);
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });

    let applied = false;
    try {
      this.throwIfInterrupted('snapshot');
      await phase('snapshot', () => target.snapshot(resources));
      this.throwIfInterrupted('apply');
      applied = true; // restore must run even if apply fails half-way
      await phase('apply', () => target.apply(resources, this.options.runId));
      const appliedAt = Date.now();
      const baseUrl = await target.entrypoint();
      if (target.setProbe) target.setProbe(halfPushedProbe(baseUrl, experiment.load.requests));
      result.convergence = await phase('converge', () => unlessInterrupted(target.waitConverged(this.options.convergeTimeoutMs ?? 60_000)));
      const convergedAt = Date.now();
      this.throwIfInterrupted('login');

      // Logins happen before the counters are read, so they do not count as load.
      const requests = await phase('login', () => this.deps.resolveRequests(baseUrl, experiment.load.requests));
      const groups = await this.entryGroups(requests, baseUrl);
      const beforeRead = Date.now();
      const before = await phase('counters', () => target.counters());
      const readMs = Date.now() - beforeRead;
      const observation = this.deps.newObservation(experiment);
      const driverName = this.options.driver ?? experiment.load.driver;
      // The client records only requests sent after the warm-up: the mesh's baseline is read again when it ends.
      const warmup = experiment.load.warmupMs > 0 ? new WarmupBaseline(experiment.load.warmupMs, () => target.counters(), readMs + 5) : undefined;
      loadStart = Date.now();
      events.push({ atMs: appliedAt - loadStart, what: 'applied' }, { atMs: convergedAt - loadStart, what: 'converged' }, { atMs: 0, what: 'load-start' });
      const { summary, looks, stoppedWith } = await phase('load', () => this.drive(experiment, driverName, observation, { groups, requests }, info, warmup));
      mark('load-end');
      result.loadSummary = summary;
      result.observation = observation.snapshot();
      const baseline = warmup ? await warmup.settle() : undefined;
      if (baseline?.startedAt !== undefined) {
        const timing: PhaseTiming = { phase: 'counters', startMs: baseline.startedAt - t0, durationMs: (baseline.endedAt ?? baseline.startedAt) - baseline.startedAt, ok: baseline.error === undefined };
        if (baseline.error !== undefined) timing.error = messageOf(baseline.error);
        phases.splice(phases.length - 1, 0, timing); // before 'load', which ended after it
      }
      if (baseline?.error !== undefined) throw new PhaseFailure('counters', baseline.error);
      const after = await phase('counters', () => target.counters());
      result.counters = counterDelta(baseline?.counters ?? before, after);
      if (this.interrupted) throw new PhaseFailure('load', this.interruptController.signal.reason);
      result.verdicts = await phase('judge', async () => {
        const context: JudgeContext = {
          experiment,
          observation,
          counters: result.counters,
          target: info,
          // Cancelled and timed-out requests, and those on the wrong side of the warm-up's baseline read.
          inFlightAllowance: summary.errored + (baseline?.inFlight ?? 0),
          estimateMore: true,
          // After a sequential run that spent its budget, the final judgement is one more look of the same sequence.
          ...(experiment.load.sequential ? { sequential: { looks: looks + 1, final: true } } : {}),
        };
        if (!stoppedWith) return this.deps.judgeAll(experiment.expect, context);
        // Load stopped because every client-side expectation was conclusive: those verdicts stand as judged at the
        // stopping look (a confidence sequence is valid at that stopping time). Responses still in flight then are
        // recorded but do not reopen them; they are biased towards slow outcomes (retried failures, delays).
        const meshSide = experiment.expect.filter((e) => !stoppedWith.has(e));
        const judged = this.deps.judgeAll(meshSide, context);
        return experiment.expect.map((e) => stoppedWith.get(e) ?? judged[meshSide.indexOf(e)]);
      });
      result.outcome = experimentOutcome(result.verdicts);
    } catch (error) {
      const failure = error instanceof PhaseFailure ? error : new PhaseFailure('load', error);
      result.outcome = failure.cause instanceof InterruptedError ? 'interrupted' : 'error';
      result.error = { phase: failure.phase, message: messageOf(failure.cause, experiment), exitCode: exitCodeOf(failure.cause) };
    } finally {
      if (applied) {
        this.restoring = true;
        let problem: string | undefined;
        try {
          // Problems the restore reports fail its phase (✗ in the terminal), like a restore that throws.
          await phase('restore', async () => {
            result.restore = await target.restore();
            if (result.restore.errors.length > 0) throw new TargetError(`restore left problems: ${result.restore.errors.join('; ')}`);
          });
          mark('restored');
        } catch (error) {
          problem = messageOf(error instanceof PhaseFailure ? error.cause : error);
        } finally {
          this.restoring = false;
        }
        if (problem !== undefined) {
          // A mesh left changed outranks whatever failed before: it is the experiment's error (exit 3, and the run
          // stops), and the earlier error is kept in its message.
          const earlier = result.error ? ` (after an earlier error in ${result.error.phase}: ${result.error.message})` : '';
          result.outcome = 'error';
          result.error = { phase: 'restore', message: `${problem}${earlier}`, exitCode: ExitCode.infrastructure };
        }
      }
      result.durationMs = Date.now() - t0;
    }
    return result;
  }

  /** Where each request goes: the ingress gateway, or (`service:`) straight to a service from outside the mesh. */
  private async entryGroups(requests: RequestSpec[], gatewayUrl: string): Promise<EntryGroup[]> {
    const { target } = this.options;
    const urls = new Map<RequestSpec, string>();
    for (const request of requests) {
      if (request.service === undefined) continue;
      if (!target.outsideEntrypoint) {
        throw new TargetError(`request "${request.name}" goes straight to service ${request.service} from outside the mesh, which the ${target.kind} target cannot do`);
      }
      urls.set(request, await target.outsideEntrypoint(request.service, request.port ?? 9080));
    }
    return groupByEntry(requests, (request) => urls.get(request) ?? gatewayUrl);
  }

  private async drive(experiment: Experiment, driverName: string, observation: RecordingObservation, where: { groups: EntryGroup[]; requests: RequestSpec[] }, info: TargetInfo, warmup?: WarmupBaseline): Promise<{ summary: LoadSummary; looks: number; stoppedWith?: Map<Expectation, Verdict> }> {
    const { load } = experiment;
    const stop = new AbortController();
    const onInterrupt = () => stop.abort(this.interruptController.signal.reason);
    this.interruptController.signal.addEventListener('abort', onInterrupt, { once: true });
    if (this.interruptController.signal.aborted) stop.abort(this.interruptController.signal.reason);
    const sequential = load.sequential;
    const early = sequential ? experiment.expect.filter(judgedFromClient) : [];
    let recorded = 0;
    let looks = 0;
    let stoppedWith: Map<Expectation, Verdict> | undefined;
    const plan: LoadPlan = {
      baseUrl: where.groups[0].baseUrl,
      requests: where.requests,
      model: load.model,
      ...(load.durationMs !== undefined ? { durationMs: load.durationMs } : {}),
      ...(sequential ? { totalRequests: Math.min(sequential.budget, load.totalRequests ?? Infinity) } : load.totalRequests !== undefined ? { totalRequests: load.totalRequests } : {}),
      timeoutMs: load.timeoutMs,
      seed: this.options.seed,
      ...(load.classifiers.length > 0 ? { classifiers: load.classifiers } : {}),
    };
    const onResponse = (response: ResponseRecord) => {
      observation.record(response);
      if (!sequential || early.length === 0 || stop.signal.aborted) return;
      recorded++;
      if (recorded % sequential.checkEvery !== 0) return;
      looks++;
      const verdicts = this.deps.judgeAll(early, { experiment, observation, counters: [], target: info, inFlightAllowance: 0, sequential: { looks } });
      if (this.deps.allConclusive(verdicts)) {
        stoppedWith = new Map(early.map((e, i) => [e, verdicts[i]]));
        stop.abort('every expectation is conclusive');
      }
    };
    const parts = splitPlan(plan, where.groups);
    const progress: (LoadProgress | undefined)[] = parts.map(() => undefined);
    try {
      const settled = await Promise.allSettled(
        parts.map((part, p) =>
          this.deps
            .createDriver(driverName)
            .run(part.plan, (response) => {
              warmup?.onResponse(p, response);
              onResponse(parts.length === 1 ? response : new InRotation(response, part.indices[response.requestIndex]!));
            }, {
              signal: stop.signal,
              ...(warmup ? { onClockOrigin: (epochMs: number) => warmup.onClockOrigin(p, epochMs) } : {}),
              onProgress: (update) => {
                progress[p] = update;
                this.listener.onLoadProgress(experiment, parts.length === 1 ? update : mergeProgress(progress));
              },
            })
            .catch((error: unknown) => {
              stop.abort(error); // one part failing stops the others
              throw error;
            }),
        ),
      );
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      const summary = mergeSummaries(
        settled.map((s) => (s as PromiseFulfilledResult<LoadSummary>).value),
        parts.map((part) => `${[...new Set(part.plan.requests.map((r) => r.name))].join(', ')} → ${part.plan.baseUrl}`),
      );
      return { summary, looks, ...(stoppedWith ? { stoppedWith } : {}) };
    } finally {
      warmup?.cancel();
      this.interruptController.signal.removeEventListener('abort', onInterrupt);
    }
  }

  /** `next`: the phase that would have run, so an interrupt says where the experiment stopped. */
  private throwIfInterrupted(next: PhaseName): void {
    if (this.interruptController.signal.aborted) throw new PhaseFailure(next, this.interruptController.signal.reason);
  }
}

/** A part's response with its index in the whole rotation; fields are read through, as a driver's record may compute them lazily. */
class InRotation implements ResponseRecord {
  constructor(
    private readonly response: ResponseRecord,
    readonly requestIndex: number,
  ) {}
  get sentAtMs(): number {
    return this.response.sentAtMs;
  }
  get latencyMs(): number {
    return this.response.latencyMs;
  }
  get status(): number {
    return this.response.status;
  }
  get headers(): Record<string, string> {
    return this.response.headers;
  }
  get body(): string {
    return this.response.body;
  }
  get error(): string | undefined {
    return this.response.error;
  }
  get labels(): ResponseRecord['labels'] {
    return this.response.labels;
  }
}

class PhaseFailure extends Error {
  constructor(
    readonly phase: PhaseName,
    override readonly cause: unknown,
  ) {
    super(messageOf(cause));
  }
}

export function experimentOutcome(verdicts: Verdict[]): ExperimentOutcome {
  if (verdicts.some((v) => v.outcome === 'fail')) return 'fail';
  if (verdicts.some((v) => v.outcome === 'inconclusive')) return 'inconclusive';
  return 'pass';
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
