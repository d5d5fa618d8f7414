// The Target interface: both the embedded mesh and a real cluster implement it, and pass one contract suite.
import type { K8sObject } from '../spec/types.ts';
import type { CounterSample } from '../observe/types.ts';

/**
 * What every target is constructed with; each target's own options (LocalTargetOptions, KubeTargetOptions) add theirs.
 * A target takes all its options when constructed, so prepare() and the runner pass none through.
 */
export interface TargetOptions {
  /** Scenario baseline name (a folder of scenarios/). */
  scenario: string;
  /** Progress messages for long work (e.g. "waiting for 7 proxies to sync"). */
  log?: (message: string) => void;
}

export interface TargetInfo {
  kind: 'local' | 'kube';
  /** Istio version the target behaves as (local) or runs (kube). */
  istioVersion: string;
  /** kube context, or `local`. */
  context: string;
  description: string;
  /** What generated the proxies' configuration. */
  controlPlane?: string;
}

export interface ConvergenceReport {
  /** Config version every proxy now runs. */
  version: string;
  proxies: { name: string; version: string; synced: boolean }[];
  waitedMs: number;
  /** Why no behavioural probe confirmed the change (its requests would have changed what the experiment measures). */
  probeSkipped?: string;
}

export interface RestoreReport {
  deleted: string[];
  restored: string[];
  /** Problems that did not stop the restore (each object is tried). */
  errors: string[];
}

/** True (or ok) when the mesh behaves as the newest configuration says; `detail` says what was seen otherwise. */
export type ConvergenceProbe = () => Promise<boolean | { ok: boolean; detail?: string }>;

export interface Target {
  readonly kind: 'local' | 'kube';
  /** Start (local) or connect and preflight (kube), with the options it was constructed with. Throws TargetError on infrastructure failure. */
  prepare(): Promise<TargetInfo>;
  /**
   * Before anything changes: refuse with a SpecError what this target cannot apply (kube: a kind the cluster does not
   * serve, a VirtualService an older one would shadow), and remember what exists where the target keeps its own
   * copy (local). Changes nothing. apply() journals each object again right before changing it, so a target is
   * restorable whether or not snapshot ran; the runner calls it so that a refusal comes before the first change.
   */
  snapshot(resources: K8sObject[]): Promise<void>;
  /** Apply the resources, labelled `meshproof.dev/run=<runId>`. Bad resources throw SpecError naming the field. */
  apply(resources: K8sObject[], runId: string): Promise<void>;
  /**
   * Resolve when every proxy runs the newest config; TargetError on timeout naming what did not converge. `probe` is a
   * behavioural check (the runner builds one from the experiment's requests) that a target which cannot see the
   * version a proxy runs (kube: istiod's ACK is not the data plane's behaviour) repeats after every proxy acknowledged;
   * the local target, whose proxies report the version they run, has no use for it.
   */
  waitConverged(timeoutMs: number, probe?: ConvergenceProbe): Promise<ConvergenceReport>;
  /** Base URL for load, e.g. http://127.0.0.1:8080 */
  entrypoint(): Promise<string>;
  /**
   * Optional: a base URL that reaches `service`'s workload (port `port` of its Service) straight from a plain client
   * outside the mesh (no sidecar, no client certificate), bypassing the ingress gateway. Requests with `service:` use it.
   */
  outsideEntrypoint?(service: string, port: number): Promise<string>;
  /**
   * Optional: before the load, set up `count` client connections to `baseUrl` (one of this target's entry points) where
   * setting one up is the target's own cost, not the mesh's, so that it stays out of each connection's first request:
   * the kube target's port-forward opens a tunnel through the API server per connection. Never throws for a
   * connection it could not set up; the load's own connection then fails as it would have.
   */
  openConnections?(baseUrl: string, count: number): Promise<void>;
  /** Current values of the mesh-side counters of every proxy (absolute; the runner takes deltas). */
  counters(): Promise<CounterSample[]>;
  /** Delete what we applied and put back what was there. Idempotent; safe to call when nothing was applied. */
  restore(): Promise<RestoreReport>;
  /** Release everything (stop the embedded mesh / close connections). */
  close(): Promise<void>;
}
