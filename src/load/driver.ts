// The LoadDriver interface: drivers send requests and report every response; they never judge.
import type { LoadModel, RequestSpec } from '../spec/types.ts';
import type { ResponseRecord } from '../observe/types.ts';

export interface LoadPlan {
  baseUrl: string;
  /** Requests to rotate through (by weight); `user` already resolved into a session cookie header. */
  requests: RequestSpec[];
  model: LoadModel;
  durationMs?: number;
  totalRequests?: number;
  timeoutMs: number;
  seed: number;
  /** Classifier names (src/observe/classifiers); drivers that classify out of process (k6) need them. Default set when absent. */
  classifiers?: string[];
}

export interface LoadProgress {
  elapsedMs: number;
  sent: number;
  answered: number;
  errored: number;
  byStatus: Record<string, number>;
}

export interface LoadControl {
  /** Aborting stops the load early (sequential mode, Ctrl-C); run() still resolves with what happened. */
  signal: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
  /**
   * Called once, as soon as the driver knows it: the Unix time in ms (Date.now()'s clock) at which the responses'
   * sentAtMs is 0. The runner uses it to read the mesh counters when the warm-up ends.
   */
  onClockOrigin?: (epochMs: number) => void;
}

export interface LoadSummary {
  driver: string;
  sent: number;
  answered: number;
  errored: number;
  durationMs: number;
  /** k6: iterations it could not start in time (constant-arrival-rate). */
  droppedIterations?: number;
  /** k6: the binary's exit code. */
  exitCode?: number;
  /** Anything the user should know about how the load was produced. */
  notes: string[];
}

export interface LoadDriver {
  /** `autocannon`, `k6`, or a test driver's name. */
  readonly name: string;
  /**
   * How many connections the driver opens to `plan.baseUrl` when the load starts, so that a target can set up what
   * each costs it beforehand (Target.openConnections). Drivers that cannot tell leave it out.
   */
  connections?(plan: LoadPlan): number;
  run(plan: LoadPlan, onResponse: (response: ResponseRecord) => void, control: LoadControl): Promise<LoadSummary>;
}
