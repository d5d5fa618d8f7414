// What the runner tells the outside world while it works (terminal progress, logs). All optional.
import type { Experiment } from '../spec/types.ts';
import type { LoadProgress } from '../load/driver.ts';
import type { ExperimentResult, PhaseName, RunResult } from './result.ts';
import type { TargetInfo } from '../targets/target.ts';

export interface RunListener {
  onRunStart?(info: { runId: string; experiments: number; target: TargetInfo }): void;
  onExperimentStart?(experiment: Experiment, index: number, total: number): void;
  /** On 'end', `detail` is the error message of a phase that failed; a phase that succeeded ends without one. */
  onPhase?(experiment: Experiment, phase: PhaseName, status: 'start' | 'end', detail?: string): void;
  onLoadProgress?(experiment: Experiment, progress: LoadProgress): void;
  onExperimentEnd?(experiment: Experiment, result: ExperimentResult): void;
  onRunEnd?(result: RunResult): void;
  /** Free-form progress text (e.g. "restoring, please wait — press Ctrl-C again does not skip this"). */
  onMessage?(message: string): void;
}
