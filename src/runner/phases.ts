// Timing and reporting of an experiment's phases: each phase is announced, timed, recorded in the result, and a
// failure inside it is labelled with its name (PhaseFailure), so errors and interrupts say where they happened.
import type { Experiment } from '../spec/types.ts';
import type { RunListener } from './events.ts';
import type { PhaseName, PhaseTiming } from './result.ts';

/** An error and the phase it happened in. */
export class PhaseFailure extends Error {
  constructor(
    readonly phase: PhaseName,
    override readonly cause: unknown,
    message: string,
  ) {
    super(message);
  }
}

export class PhaseRecorder {
  readonly timings: PhaseTiming[] = [];
  /** The phase running now, or the last one that ran: where a failure outside any phase is placed. */
  current: PhaseName = 'snapshot';

  constructor(
    private readonly experiment: Experiment,
    private readonly listener: Required<RunListener>,
    private readonly t0: number,
    private readonly describe: (error: unknown) => string,
  ) {}

  async run<T>(name: PhaseName, work: () => Promise<T>): Promise<T> {
    const start = Date.now();
    this.current = name;
    this.listener.onPhase(this.experiment, name, 'start');
    try {
      const value = await work();
      this.timings.push({ phase: name, startMs: start - this.t0, durationMs: Date.now() - start, ok: true });
      this.listener.onPhase(this.experiment, name, 'end');
      return value;
    } catch (error) {
      const message = this.describe(error);
      this.timings.push({ phase: name, startMs: start - this.t0, durationMs: Date.now() - start, ok: false, error: message });
      this.listener.onPhase(this.experiment, name, 'end', message);
      throw new PhaseFailure(name, error, message);
    }
  }

  /** A phase that ran alongside another (the warm-up's counter read during load), recorded before the last one. */
  insertBeforeLast(timing: PhaseTiming): void {
    this.timings.splice(this.timings.length - 1, 0, timing);
  }
}
