// One experiment as explicit phases: snapshot → apply → converge → login → baseline → load → counters → judge, and
// restore always (after success, failure, exceptions and interrupts). Each phase is a small method; every failure is
// labelled with the phase it happened in.
import { ExitCode, InterruptedError, TargetError } from '../errors.ts';
import type { JudgeContext, Verdict } from '../assertions/verdict.ts';
import type { CounterSample } from '../observe/types.ts';
import { counterDelta } from '../observe/prometheus.ts';
import type { Experiment, RequestSpec } from '../spec/types.ts';
import type { Target, TargetInfo } from '../targets/target.ts';
import type { RunListener } from './events.ts';
import { driveLoad, plannedConnections, type DrivenLoad } from './drive-load.ts';
import { groupByEntry, type EntryGroup } from './load-split.ts';
import { PhaseFailure, PhaseRecorder } from './phases.ts';
import { halfPushedProbe, probeDisturbance } from './probe.ts';
import type { ExperimentOutcome, ExperimentResult, JudgedVerdict, PhaseName, PhaseTiming, RunEvent } from './result.ts';
import type { RecordingObservation, RunnerDeps } from './run.ts';
import { WarmupBaseline } from './warmup-baseline.ts';
import { must } from '../must.ts';

/** What an experiment run needs from the Runner. */
export interface RunContext {
  target: Target;
  info: TargetInfo;
  deps: RunnerDeps;
  listener: Required<RunListener>;
  runId: string;
  seed: number;
  /** --driver, overriding the experiment's. */
  driver?: string;
  convergeTimeoutMs: number;
  /** Aborted with an InterruptedError on SIGINT/SIGTERM. */
  interrupt: AbortSignal;
  /** Told while restore runs (a second signal then says restore cannot be skipped). */
  restoring(on: boolean): void;
  describe(error: unknown, experiment?: Experiment): string;
  exitCodeOf(error: unknown): number;
}

export class ExperimentRun {
  private readonly t0 = Date.now();
  private readonly phases: PhaseRecorder;
  private readonly result: ExperimentResult;
  private loadStart: number | undefined;
  private applied = false;
  private appliedAt = 0;
  private convergedAt = 0;
  private baseUrl = '';
  private requests: RequestSpec[] = [];
  private groups: EntryGroup[] = [];
  private before: CounterSample[] = [];
  private beforeReadMs = 0;

  constructor(
    private readonly experiment: Experiment,
    private readonly ctx: RunContext,
  ) {
    this.phases = new PhaseRecorder(experiment, ctx.listener, this.t0, (error) => ctx.describe(error));
    this.result = {
      name: experiment.name,
      file: experiment.file,
      description: experiment.description,
      tags: experiment.tags,
      ...(experiment.sweep ? { sweep: experiment.sweep } : {}),
      outcome: 'error',
      resources: experiment.apply.map((r) => r.object),
      load: experiment.load,
      counters: [],
      expectations: experiment.expect,
      verdicts: [],
      phases: this.phases.timings,
      events: [],
      warnings: experiment.warnings,
      startedAt: new Date(this.t0).toISOString(),
      durationMs: 0,
    };
  }

  async run(): Promise<ExperimentResult> {
    try {
      await this.snapshot();
      await this.apply();
      await this.converge();
      await this.login();
      await this.baseline();
      const observation = this.ctx.deps.newObservation(this.experiment);
      const warmup = this.warmup();
      const driven = await this.load(observation, warmup);
      const settled = await this.settleWarmup(warmup);
      await this.countersAfter(settled?.counters ?? this.before);
      this.throwIfInterrupted('load');
      this.result.verdicts = await this.judge(observation, driven, settled?.inFlight ?? 0);
      this.result.outcome = experimentOutcome(this.result.verdicts);
    } catch (error) {
      const failure = error instanceof PhaseFailure ? error : new PhaseFailure(this.phases.current, error, this.ctx.describe(error));
      this.result.outcome = failure.cause instanceof InterruptedError ? 'interrupted' : 'error';
      this.result.error = { phase: failure.phase, message: this.ctx.describe(failure.cause, this.experiment), exitCode: this.ctx.exitCodeOf(failure.cause) };
    } finally {
      if (this.applied) await this.restore();
      this.result.durationMs = Date.now() - this.t0;
    }
    return this.result;
  }

  private async snapshot(): Promise<void> {
    this.throwIfInterrupted('snapshot');
    await this.phases.run('snapshot', () => this.ctx.target.snapshot(this.result.resources));
  }

  private async apply(): Promise<void> {
    this.throwIfInterrupted('apply');
    this.applied = true; // restore must run even if apply fails half-way
    await this.phases.run('apply', () => this.ctx.target.apply(this.result.resources, this.ctx.runId));
    this.appliedAt = Date.now();
  }

  /** Until every proxy has the new config; the probe built from the experiment's requests checks it behaves so. */
  private async converge(): Promise<void> {
    const { target } = this.ctx;
    this.result.convergence = await this.phases.run('converge', async () => {
      this.baseUrl = await target.entrypoint();
      const disturbance = probeDisturbance(this.result.resources);
      const probe =
        disturbance === undefined
          ? halfPushedProbe(this.baseUrl, this.experiment.load.requests, 5, Math.max(5_000, this.experiment.load.timeoutMs))
          : undefined;
      const report = await this.unlessInterrupted(target.waitConverged(this.ctx.convergeTimeoutMs, probe));
      return disturbance === undefined ? report : { ...report, probeSkipped: disturbance };
    });
    this.convergedAt = Date.now();
  }

  /**
   * Logins, where each request goes, and the connections the target sets up ahead of the load (the kube target's
   * port-forward tunnels), before the counters are read, so they do not count as load.
   */
  private async login(): Promise<void> {
    this.throwIfInterrupted('login');
    await this.phases.run('login', async () => {
      this.requests = await this.ctx.deps.resolveRequests(this.baseUrl, this.experiment.load.requests);
      this.groups = await this.entryGroups(this.requests, this.baseUrl);
      await this.openConnections();
    });
  }

  private async openConnections(): Promise<void> {
    const { target, deps, driver, seed } = this.ctx;
    if (!target.openConnections) return;
    const planned = plannedConnections({
      experiment: this.experiment,
      groups: this.groups,
      requests: this.requests,
      seed,
      driver: (name) => deps.createDriver(name),
      driverName: driver ?? this.experiment.load.driver,
    });
    for (const { baseUrl, connections } of planned) {
      if (connections > 0) await this.unlessInterrupted(target.openConnections(baseUrl, connections));
    }
  }

  private async baseline(): Promise<void> {
    const started = Date.now();
    this.before = await this.phases.run('counters', () => this.ctx.target.counters());
    this.beforeReadMs = Date.now() - started;
  }

  /** The client records only requests sent after the warm-up: the mesh's baseline is read again when it ends. */
  private warmup(): WarmupBaseline | undefined {
    const { warmupMs } = this.experiment.load;
    return warmupMs > 0 ? new WarmupBaseline(warmupMs, () => this.ctx.target.counters(), this.beforeReadMs + 5) : undefined;
  }

  private async load(observation: RecordingObservation, warmup: WarmupBaseline | undefined): Promise<DrivenLoad> {
    this.loadStart = Date.now();
    this.result.events.push(
      { atMs: this.appliedAt - this.loadStart, what: 'applied' },
      { atMs: this.convergedAt - this.loadStart, what: 'converged' },
      { atMs: 0, what: 'load-start' },
    );
    const { ctx, experiment } = this;
    const driven = await this.phases.run('load', () =>
      driveLoad({
        experiment,
        driver: (name) => ctx.deps.createDriver(name),
        driverName: ctx.driver ?? experiment.load.driver,
        observation,
        groups: this.groups,
        requests: this.requests,
        target: ctx.info,
        seed: ctx.seed,
        judges: ctx.deps,
        listener: ctx.listener,
        interrupt: ctx.interrupt,
        ...(warmup ? { warmup } : {}),
      }),
    );
    this.mark('load-end');
    this.result.loadSummary = driven.summary;
    this.result.observation = observation.snapshot();
    return driven;
  }

  /** The warm-up's counter read ran during load: recorded as its own counters phase, before the load's entry. */
  private async settleWarmup(warmup: WarmupBaseline | undefined): Promise<Awaited<ReturnType<WarmupBaseline['settle']>> | undefined> {
    if (!warmup) return undefined;
    const baseline = await warmup.settle();
    if (baseline.startedAt !== undefined) {
      const timing: PhaseTiming = {
        phase: 'counters',
        startMs: baseline.startedAt - this.t0,
        durationMs: (baseline.endedAt ?? baseline.startedAt) - baseline.startedAt,
        ok: baseline.error === undefined,
      };
      if (baseline.error !== undefined) timing.error = this.ctx.describe(baseline.error);
      this.phases.insertBeforeLast(timing);
    }
    if (baseline.error !== undefined) throw new PhaseFailure('counters', baseline.error, this.ctx.describe(baseline.error));
    return baseline;
  }

  private async countersAfter(before: CounterSample[]): Promise<void> {
    const after = await this.phases.run('counters', () => this.ctx.target.counters());
    this.result.counters = counterDelta(before, after);
  }

  private async judge(observation: RecordingObservation, driven: DrivenLoad, warmupInFlight: number): Promise<JudgedVerdict[]> {
    const { experiment, ctx } = this;
    return this.phases.run('judge', async () => {
      const context: JudgeContext = {
        experiment,
        observation,
        counters: this.result.counters,
        target: ctx.info,
        // Cancelled and timed-out requests, and those on the wrong side of the warm-up's baseline read.
        inFlightAllowance: driven.summary.errored + warmupInFlight,
        estimateMore: true,
        // After a sequential run that spent its budget, the final judgement is one more look of the same sequence.
        ...(experiment.load.sequential ? { sequential: { looks: driven.looks + 1, final: true } } : {}),
      };
      const paired = (verdicts: Verdict[]) => verdicts.map((verdict, expectationIndex) => ({ ...verdict, expectationIndex }));
      const stoppedWith = driven.stoppedWith;
      if (!stoppedWith) return paired(ctx.deps.judgeAll(experiment.expect, context));
      // Load stopped because every client-side expectation was conclusive: those verdicts stand as judged at the
      // stopping look (a confidence sequence is valid at that stopping time). Responses still in flight then are
      // recorded but do not reopen them; they are biased towards slow outcomes (retried failures, delays).
      const meshSide = experiment.expect.filter((e) => !stoppedWith.has(e));
      const judged = ctx.deps.judgeAll(meshSide, context);
      return paired(experiment.expect.map((e) => stoppedWith.get(e) ?? must(judged[meshSide.indexOf(e)], 'the verdict of a mesh-side expectation')));
    });
  }

  /** Always, once anything may have been applied. A mesh left changed outranks whatever failed before. */
  private async restore(): Promise<void> {
    const { ctx, result } = this;
    ctx.restoring(true);
    let problem: string | undefined;
    try {
      // Problems the restore reports fail its phase (✗ in the terminal), like a restore that throws.
      await this.phases.run('restore', async () => {
        result.restore = await ctx.target.restore();
        if (result.restore.errors.length > 0) throw new TargetError(`restore left problems: ${result.restore.errors.join('; ')}`);
      });
      this.mark('restored');
    } catch (error) {
      problem = ctx.describe(error instanceof PhaseFailure ? error.cause : error);
    } finally {
      ctx.restoring(false);
    }
    if (problem !== undefined) {
      // The experiment's error (exit 3, and the run stops); the earlier error is kept in its message.
      const earlier = result.error ? ` (after an earlier error in ${result.error.phase}: ${result.error.message})` : '';
      result.outcome = 'error';
      result.error = { phase: 'restore', message: `${problem}${earlier}`, exitCode: ExitCode.infrastructure };
    }
  }

  /** Where each request goes: the ingress gateway, or (`service:`) straight to a service from outside the mesh. */
  private async entryGroups(requests: RequestSpec[], gatewayUrl: string): Promise<EntryGroup[]> {
    const { target } = this.ctx;
    const urls = new Map<RequestSpec, string>();
    for (const request of requests) {
      if (request.service === undefined) continue;
      if (!target.outsideEntrypoint) {
        throw new TargetError(
          `request "${request.name}" goes straight to service ${request.service} from outside the mesh, which the ${target.kind} target cannot do`,
        );
      }
      urls.set(request, await target.outsideEntrypoint(request.service, request.port ?? 9080));
    }
    return groupByEntry(requests, (request) => urls.get(request) ?? gatewayUrl);
  }

  private mark(what: RunEvent['what']): void {
    this.result.events.push({ atMs: Date.now() - (this.loadStart ?? Date.now()), what });
  }

  /** `next`: the phase that would have run, so an interrupt says where the experiment stopped. */
  private throwIfInterrupted(next: PhaseName): void {
    const { interrupt } = this.ctx;
    if (interrupt.aborted) throw new PhaseFailure(next, interrupt.reason, this.ctx.describe(interrupt.reason));
  }

  /** Await the interrupt as a rejection, so long waits (convergence) give way to restore. */
  private unlessInterrupted<T>(work: Promise<T>): Promise<T> {
    const signal = this.ctx.interrupt;
    // The runner aborts with an InterruptedError (run.ts); anything else is wrapped so the rejection is an Error.
    const reason = (): Error => (signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    return new Promise<T>((resolve, reject) => {
      if (signal.aborted) {
        reject(reason());
        return;
      }
      const onAbort = () => reject(reason());
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
}

export function experimentOutcome(verdicts: Verdict[]): ExperimentOutcome {
  if (verdicts.some((v) => v.outcome === 'fail')) return 'fail';
  if (verdicts.some((v) => v.outcome === 'inconclusive')) return 'inconclusive';
  return 'pass';
}
