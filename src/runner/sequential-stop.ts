// Sequential mode (`until: verdict`): the expectations that can be judged from the client alone are looked at every
// `checkEvery` responses with anytime-valid intervals; load stops at the first look where every one is conclusive.
// The verdicts of that look stand (a confidence sequence is valid at its stopping time).
import type { JudgeContext, Verdict } from '../assertions/verdict.ts';
import type { Experiment, Expectation } from '../spec/types.ts';
import type { ObservationView } from '../observe/types.ts';
import type { TargetInfo } from '../targets/target.ts';
import { handlerOf } from '../assertions/kinds.ts';
import { must } from '../must.ts';

/** Expectations that can be judged from client data alone, while load runs. */
export function judgedFromClient(e: Expectation): boolean {
  return handlerOf(e).judgedFromClient(e);
}

export interface Judges {
  judgeAll(expectations: Expectation[], context: JudgeContext): Verdict[];
  allConclusive(verdicts: Verdict[]): boolean;
}

export class SequentialStop {
  looks = 0;
  /** The verdicts of the look that stopped the load, by expectation. */
  stoppedWith: Map<Expectation, Verdict> | undefined;
  private recorded = 0;
  private readonly early: Expectation[];

  constructor(
    private readonly experiment: Experiment,
    private readonly observation: ObservationView,
    private readonly target: TargetInfo,
    private readonly judges: Judges,
    /** Stops the load. */
    private readonly stop: (reason: string) => void,
  ) {
    this.early = experiment.load.sequential ? experiment.expect.filter(judgedFromClient) : [];
  }

  /** Called after each recorded response. */
  onResponse(): void {
    const sequential = this.experiment.load.sequential;
    if (!sequential || this.early.length === 0 || this.stoppedWith) return;
    this.recorded++;
    if (this.recorded % sequential.checkEvery !== 0) return;
    this.looks++;
    const context: JudgeContext = {
      experiment: this.experiment,
      observation: this.observation,
      counters: [],
      target: this.target,
      inFlightAllowance: 0,
      sequential: { looks: this.looks },
    };
    const verdicts = this.judges.judgeAll(this.early, context);
    if (this.judges.allConclusive(verdicts)) {
      this.stoppedWith = new Map(this.early.map((e, i) => [e, must(verdicts[i], 'the verdict of an early expectation')]));
      this.stop('every expectation is conclusive');
    }
  }
}
