// Convergence on a cluster as istioctl proxy-status sees it: istiod's sync status (/debug/syncz on its monitoring
// port, read through port-forward) for every proxy a change reaches, until each has acknowledged a push made after
// the change; then, optionally, a behavioural probe for consecutive windows.
import type { KubeConfig } from '@kubernetes/client-node';
import { asError, TargetError } from '../../errors.ts';
import type { K8sObject } from '../../spec/types.ts';
import { field } from '../../spec/untyped.ts';
import type { ConvergenceProbe } from '../target.ts';
import { affectedProxies, type ProxyPod } from './affected.ts';
import type { KubeApi } from './api.ts';
import { portForwardGet } from './port-forward.ts';
import { isReady, type Pod } from './pods.ts';
import { judgeProxy, newestSent, parseSyncz, type ProxySync, type ProxyVerdict, type PushVersion } from './sync-status.ts';

export interface SyncStatusDeps {
  config: KubeConfig;
  api: KubeApi;
  istioNamespace: string;
  /** The experiment's namespace, for objects that name none. */
  namespace: string;
  proxies: ProxyPod[];
  /** How often istiod's sync status is read while waiting (default 500 ms). */
  pollIntervalMs?: number;
  /** The probe must pass this many consecutive windows (default 3) of probeWindowMs (default 500) each. */
  probeWindows?: number;
  probeWindowMs?: number;
  /**
   * How long istiod's sync status must stand still before a push baseline is taken (default 300 ms: past istiod's
   * push debounce, PILOT_DEBOUNCE_AFTER 100 ms). A push something else triggered just before the change would
   * otherwise land after the baseline and pass for the change's own push.
   */
  baselineSettleMs?: number;
  log: (message: string) => void;
}

/**
 * The first re-reads of the sync status come sooner than the poll interval: istiod pushes a change about its debounce
 * (PILOT_DEBOUNCE_AFTER, 100 ms) after it, and a proxy ACKs within milliseconds, so with a 500 ms poll the wait was
 * about 550 ms where 150–400 ms suffice (the sandbox's catalogue waits twice per experiment). Measured 2026-12-06.
 */
const earlyReads = [150, 250];

/** At most this many settle rounds: on a cluster whose pushes never stop, the newest baseline seen is taken. */
const maxSettleRounds = 10;

export class SyncStatus {
  constructor(private readonly deps: SyncStatusDeps) {}

  async readSyncz(): Promise<Map<string, ProxySync>> {
    const statuses = new Map<string, ProxySync>();
    const pods = (await this.deps.api.list<Pod>('v1', 'Pod', { namespace: this.deps.istioNamespace, labelSelector: 'app=istiod' })).filter(isReady);
    if (pods.length === 0) throw new TargetError(`no ready istiod pod in ${this.deps.istioNamespace}`);
    for (const pod of pods) {
      const text = await portForwardGet(this.deps.config, this.deps.istioNamespace, pod.metadata.name, monitoringPort(pod), '/debug/syncz');
      for (const proxy of parseSyncz(text, pod.metadata.name)) statuses.set(proxy.id, proxy);
    }
    return statuses;
  }

  /** Every proxy's newest push, once istiod's sync status has stood still for baselineSettleMs. */
  async recordBaseline(): Promise<Map<string, PushVersion | undefined>> {
    const settleMs = this.deps.baselineSettleMs ?? 300;
    try {
      let baseline = await this.readBaseline();
      for (let round = 0; settleMs > 0 && round < maxSettleRounds; round++) {
        await sleep(settleMs);
        const again = await this.readBaseline();
        const still = [...again].every(([id, push]) => push?.text === baseline.get(id)?.text);
        baseline = again;
        if (still) break;
      }
      return baseline;
    } catch (error) {
      throw new TargetError(`cannot read istiod's sync status (nothing was changed): ${(error as Error).message}`);
    }
  }

  private async readBaseline(): Promise<Map<string, PushVersion | undefined>> {
    const statuses = await this.readSyncz();
    return new Map(
      this.deps.proxies.map((p) => {
        const status = statuses.get(p.id);
        return [p.id, status ? newestSent(status) : undefined];
      }),
    );
  }

  /**
   * Poll istiod's sync status until every proxy `changed` reaches has acknowledged a push newer than `baseline`
   * (its newest push before the change); TargetError naming the late proxies at the deadline.
   */
  async waitForProxies(
    changed: K8sObject[],
    baseline: Map<string, PushVersion | undefined> | undefined,
    deadline: number,
    timeoutMs: number,
    what: string,
  ): Promise<ProxyVerdict[]> {
    const poll = this.deps.pollIntervalMs ?? 500;
    const gatewaySelectors = new Map<string, Record<string, string>>();
    for (const r of changed) {
      const selector = field(r.spec, 'selector') as Record<string, string> | undefined;
      if (r.kind === 'Gateway' && selector) gatewaySelectors.set(`${r.metadata.namespace}/${r.metadata.name}`, selector);
    }
    const affected = affectedProxies(changed, this.deps.proxies, {
      defaultNamespace: this.deps.namespace,
      rootNamespace: this.deps.istioNamespace,
      gatewaySelector: (ns, name) => gatewaySelectors.get(`${ns}/${name}`),
    });
    if (affected.length === 0) {
      this.deps.log(`no proxy to wait for: the ${what} changes nothing istiod pushes`);
      return [];
    }
    this.deps.log(`waiting for ${affected.length} proxies to acknowledge the ${what}`);
    for (let read = 0; ; read++) {
      const statuses = await this.readSyncz().catch((error: unknown) => {
        throw new TargetError(`cannot read istiod's sync status: ${asError(error).message}`);
      });
      const verdicts = affected.map((p) => judgeProxy(statuses.get(p.id), p.id, baseline?.get(p.id)));
      if (verdicts.every((v) => v.converged)) return verdicts;
      if (Date.now() + poll > deadline) {
        const late = verdicts.filter((v) => !v.converged).map((v) => `${v.id}: ${v.reason}`);
        throw new TargetError(
          `${what} did not converge in ${timeoutMs} ms; ${late.length} of ${affected.length} proxies are behind:\n  - ${late.join('\n  - ')}`,
        );
      }
      await sleep(Math.min(poll, earlyReads[read] ?? poll));
    }
  }

  async runProbe(probe: ConvergenceProbe | undefined, deadline: number, timeoutMs: number): Promise<void> {
    if (!probe) return;
    const windows = this.deps.probeWindows ?? 3;
    const windowMs = this.deps.probeWindowMs ?? 500;
    let streak = 0;
    let last = '';
    while (streak < windows) {
      const result = await probe().catch((error: unknown) => ({ ok: false, detail: asError(error).message }));
      const ok = typeof result === 'boolean' ? result : result.ok;
      last = typeof result === 'boolean' ? '' : (result.detail ?? '');
      streak = ok ? streak + 1 : 0;
      if (streak >= windows) return;
      if (Date.now() + windowMs > deadline) {
        throw new TargetError(
          `every proxy acknowledged the configuration, but the behavioural probe did not see the change in ${windows} consecutive windows within ${timeoutMs} ms${last ? `: ${last}` : ''}`,
        );
      }
      await sleep(windowMs);
    }
  }
}

/** istiod's monitoring port (/debug/syncz, /version): its `http-monitoring` container port, 15014 by default. */
export function monitoringPort(istiod: Pod): number {
  const ports = (istiod.spec.containers.find((c) => c.name === 'discovery') as { ports?: { name?: string; containerPort: number }[] } | undefined)?.ports;
  return ports?.find((p) => p.name === 'http-monitoring')?.containerPort ?? 15014;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
