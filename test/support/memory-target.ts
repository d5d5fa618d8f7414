// A Target double for lifecycle tests: keeps "cluster" objects in a Map and logs every call.
import type { K8sObject } from '../../src/spec/types.ts';
import type { CounterSample } from '../../src/observe/types.ts';
import type { ConvergenceProbe, ConvergenceReport, RestoreReport, Target, TargetInfo } from '../../src/targets/target.ts';

export interface MemoryTargetOptions {
  failOn?: Partial<Record<'prepare' | 'apply' | 'converge' | 'restore' | 'counters', Error>>;
  /** Delay of restore (ms), to test interrupts arriving during restore. */
  restoreDelayMs?: number;
  convergeDelayMs?: number;
  /** Problems restore() reports without throwing (an object it could not put back). */
  restoreProblems?: string[];
  /** Delay of every call (ms), so a signal sent as a phase starts lands inside it. */
  callDelayMs?: number;
  initial?: K8sObject[];
}

const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

export class MemoryTarget implements Target {
  readonly kind = 'local' as const;
  readonly calls: string[] = [];
  readonly objects = new Map<string, K8sObject>();
  private saved = new Map<string, K8sObject | undefined>();
  private requests = 0;

  constructor(private readonly options: MemoryTargetOptions = {}) {
    for (const o of options.initial ?? []) this.objects.set(key(o), structuredClone(o));
  }

  private async pause(): Promise<void> {
    if (this.options.callDelayMs) await new Promise((r) => setTimeout(r, this.options.callDelayMs));
  }

  private maybeFail(what: keyof NonNullable<MemoryTargetOptions['failOn']>): void {
    const error = this.options.failOn?.[what];
    if (error) throw error;
  }

  async prepare(): Promise<TargetInfo> {
    this.calls.push('prepare');
    await this.pause();
    this.maybeFail('prepare');
    return { kind: 'local', istioVersion: '1.28.0', context: 'memory', description: 'in-memory test target' };
  }

  async snapshot(resources: K8sObject[]): Promise<void> {
    this.calls.push('snapshot');
    await this.pause();
    this.journal(resources);
  }

  /** What each object was before the run first touched it (as the real targets journal in apply too). */
  private journal(resources: K8sObject[]): void {
    for (const r of resources) {
      const existing = this.objects.get(key(r));
      if (!this.saved.has(key(r))) this.saved.set(key(r), existing ? structuredClone(existing) : undefined);
    }
  }

  async apply(resources: K8sObject[], runId: string): Promise<void> {
    this.calls.push('apply');
    await this.pause();
    for (const [i, r] of resources.entries()) {
      if (i === 1) this.maybeFail('apply'); // fail half-way: the first object is already applied
      this.journal([r]);
      this.objects.set(key(r), { ...structuredClone(r), metadata: { ...r.metadata, labels: { ...r.metadata.labels, 'meshproof.dev/run': runId } } });
    }
    if (resources.length < 2) this.maybeFail('apply');
  }

  /** The probes waitConverged was given, in order. */
  readonly probes: unknown[] = [];

  async waitConverged(_timeoutMs: number, probe?: ConvergenceProbe): Promise<ConvergenceReport> {
    this.calls.push('converge');
    this.probes.push(probe);
    await this.pause();
    if (this.options.convergeDelayMs) await new Promise((r) => setTimeout(r, this.options.convergeDelayMs));
    this.maybeFail('converge');
    return { version: '1', proxies: [{ name: 'gateway', version: '1', synced: true }], waitedMs: 0 };
  }

  async entrypoint(): Promise<string> {
    return 'http://127.0.0.1:1';
  }

  /** Tests call this to simulate traffic that the gateway counted. */
  countRequests(n: number): void {
    this.requests += n;
  }

  async counters(): Promise<CounterSample[]> {
    this.calls.push('counters');
    await this.pause();
    this.maybeFail('counters');
    return [{ proxy: 'istio-ingressgateway', name: 'istio_requests_total', labels: { reporter: 'source', response_code: '200' }, value: this.requests }];
  }

  async restore(): Promise<RestoreReport> {
    this.calls.push('restore');
    await this.pause();
    if (this.options.restoreDelayMs) await new Promise((r) => setTimeout(r, this.options.restoreDelayMs));
    this.maybeFail('restore');
    const report: RestoreReport = { deleted: [], restored: [], errors: [...(this.options.restoreProblems ?? [])] };
    for (const [k, before] of this.saved) {
      if (before) {
        this.objects.set(k, before);
        report.restored.push(k);
      } else if (this.objects.delete(k)) {
        report.deleted.push(k);
      }
    }
    this.saved.clear();
    return report;
  }

  async close(): Promise<void> {
    this.calls.push('close');
  }
}
