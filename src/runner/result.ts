// RunResult: the one structure every reporter consumes (schema/result.schema.json describes its JSON).
import type { RunCoverage } from './coverage.ts';
import type { Expectation, K8sObject, LoadSpec, SpecWarning, SweepPoint } from '../spec/types.ts';
import type { CounterSample, ObservationSnapshot } from '../observe/types.ts';
import type { LoadSummary } from '../load/driver.ts';
import type { Outcome, Verdict } from '../assertions/verdict.ts';
import type { ConvergenceReport, RestoreReport, TargetInfo } from '../targets/target.ts';

/**
 * `interrupted`: stopped by a signal while it ran (the mesh was restored); `skipped`: never started, because the run
 * was interrupted or stopped (target not prepared, a restore failed) before its turn.
 */
export type ExperimentOutcome = Outcome | 'error' | 'interrupted' | 'skipped';

export type PhaseName = 'prepare' | 'snapshot' | 'apply' | 'converge' | 'login' | 'load' | 'counters' | 'judge' | 'restore';

export interface PhaseTiming {
  phase: PhaseName;
  /** ms since the experiment started */
  startMs: number;
  durationMs: number;
  ok: boolean;
  error?: string;
}

/** Moments worth marking on charts, ms since load start (may be negative: before load). */
export interface RunEvent {
  atMs: number;
  what: 'applied' | 'converged' | 'load-start' | 'load-end' | 'restored';
}

/** A verdict of the run, paired with the expectation it judged. */
export interface JudgedVerdict extends Verdict {
  /** Index of the judged expectation in the experiment's `expectations`. */
  expectationIndex: number;
}

export interface ExperimentResult {
  name: string;
  file: string;
  description: string;
  tags: string[];
  sweep?: SweepPoint;
  outcome: ExperimentOutcome;
  /** Present when outcome is 'error' or 'interrupted'. */
  error?: { phase: PhaseName; message: string; exitCode: number };
  /** Present when outcome is 'skipped': why the experiment never started. */
  skipReason?: string;
  resources: K8sObject[];
  load: LoadSpec;
  loadSummary?: LoadSummary;
  convergence?: ConvergenceReport;
  restore?: RestoreReport;
  observation?: ObservationSnapshot;
  /** Mesh counters over the load (after − before); zero deltas are dropped. */
  counters: CounterSample[];
  expectations: Expectation[];
  /** One per judged expectation, in the expectations' order, each naming its expectation; empty when never judged. */
  verdicts: JudgedVerdict[];
  phases: PhaseTiming[];
  events: RunEvent[];
  warnings: SpecWarning[];
  startedAt: string;
  durationMs: number;
}

/** The result.json schema version this meshproof writes (src/report/json.ts reads 1 and 2). */
export const RESULT_SCHEMA_VERSION = 2;

export interface RunResult {
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  runId: string;
  meshproofVersion: string;
  /** The exact command line. */
  command: string[];
  seed: number;
  target: TargetInfo;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  experiments: ExperimentResult[];
  /** What the run proved per service, and its service graph (src/runner/coverage.ts); absent in results of older versions. */
  coverage?: RunCoverage;
  /** pass only when every experiment passed; `interrupted` whenever a signal stopped the run, whatever ran before. */
  outcome: ExperimentOutcome;
  exitCode: number;
  interrupted: boolean;
  /** Why the run stopped before or between experiments (target failed to prepare, restore failed, interrupted). */
  error?: string;
}
