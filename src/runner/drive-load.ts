// Driving the load of one experiment: one driver run per entry point (load-split.ts), every response recorded in one
// observation, the warm-up's baseline read on the side, sequential looks that may stop the load, and an interrupt that
// stops it.
import type { LoadDriver, LoadPlan, LoadProgress, LoadSummary } from '../load/driver.ts';
import type { ObservationView, ResponseRecord } from '../observe/types.ts';
import type { Verdict } from '../assertions/verdict.ts';
import type { Experiment, Expectation, RequestSpec } from '../spec/types.ts';
import type { TargetInfo } from '../targets/target.ts';
import type { RunListener } from './events.ts';
import { mergeProgress, mergeSummaries, splitPlan, type EntryGroup } from './load-split.ts';
import { SequentialStop, type Judges } from './sequential-stop.ts';
import type { WarmupBaseline } from './warmup-baseline.ts';
import { must } from '../must.ts';

export interface LoadRecorder {
  record(response: ResponseRecord): unknown;
}

export interface DriveLoad {
  experiment: Experiment;
  driver: (name: string) => LoadDriver;
  driverName: string;
  observation: LoadRecorder & ObservationView;
  groups: EntryGroup[];
  requests: RequestSpec[];
  target: TargetInfo;
  seed: number;
  judges: Judges;
  listener: Required<RunListener>;
  /** Aborted on an interrupt. */
  interrupt: AbortSignal;
  warmup?: WarmupBaseline;
}

export interface DrivenLoad {
  summary: LoadSummary;
  looks: number;
  stoppedWith?: Map<Expectation, Verdict>;
}

/** The plan every part is cut from: the experiment's load, with a sequential budget as a request count. */
export function loadPlan(experiment: Experiment, baseUrl: string, requests: RequestSpec[], seed: number): LoadPlan {
  const { load } = experiment;
  const sequential = load.sequential;
  return {
    baseUrl,
    requests,
    model: load.model,
    ...(load.durationMs !== undefined ? { durationMs: load.durationMs } : {}),
    ...(sequential
      ? { totalRequests: Math.min(sequential.budget, load.totalRequests ?? Infinity) }
      : load.totalRequests !== undefined
        ? { totalRequests: load.totalRequests }
        : {}),
    timeoutMs: load.timeoutMs,
    seed,
    ...(load.classifiers.length > 0 ? { classifiers: load.classifiers } : {}),
  };
}

/** The load's parts: one per entry point, each with its share of the requests, connections or rate. */
function loadParts(args: Pick<DriveLoad, 'experiment' | 'groups' | 'requests' | 'seed'>) {
  return splitPlan(loadPlan(args.experiment, must(args.groups[0], 'an entry group').baseUrl, args.requests, args.seed), args.groups);
}

/** Each entry point and how many connections the driver opens to it when the load starts (Target.openConnections). */
export function plannedConnections(
  args: Pick<DriveLoad, 'experiment' | 'groups' | 'requests' | 'seed' | 'driver' | 'driverName'>,
): { baseUrl: string; connections: number }[] {
  const driver = args.driver(args.driverName);
  return loadParts(args).map(({ plan }) => ({ baseUrl: plan.baseUrl, connections: driver.connections?.(plan) ?? 0 }));
}

export async function driveLoad(args: DriveLoad): Promise<DrivenLoad> {
  const { experiment, observation, warmup, interrupt } = args;
  const stop = new AbortController();
  const onInterrupt = () => stop.abort(interrupt.reason);
  interrupt.addEventListener('abort', onInterrupt, { once: true });
  if (interrupt.aborted) stop.abort(interrupt.reason);
  const looks = new SequentialStop(experiment, observation, args.target, args.judges, (reason) => stop.abort(reason));
  const onResponse = (response: ResponseRecord) => {
    observation.record(response);
    if (!stop.signal.aborted) looks.onResponse();
  };
  const parts = loadParts(args);
  const progress: (LoadProgress | undefined)[] = parts.map(() => undefined);
  try {
    const settled = await Promise.allSettled(
      parts.map((part, p) =>
        args
          .driver(args.driverName)
          .run(
            part.plan,
            (response) => {
              warmup?.onResponse(p, response);
              onResponse(
                parts.length === 1 ? response : new InRotation(response, must(part.indices[response.requestIndex], "the request's index in the rotation")),
              );
            },
            {
              signal: stop.signal,
              ...(warmup ? { onClockOrigin: (epochMs: number) => warmup.onClockOrigin(p, epochMs) } : {}),
              onProgress: (update) => {
                progress[p] = update;
                args.listener.onLoadProgress(experiment, parts.length === 1 ? update : mergeProgress(progress));
              },
            },
          )
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
    return { summary, looks: looks.looks, ...(looks.stoppedWith ? { stoppedWith: looks.stoppedWith } : {}) };
  } finally {
    warmup?.cancel();
    interrupt.removeEventListener('abort', onInterrupt);
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
