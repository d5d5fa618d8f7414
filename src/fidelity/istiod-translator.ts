// The real istiod as a translator: resource sets go to one long-running tools/istio-translate process (JSON lines on
// its standard input and output; protocol in its main.go) and each proxy's answer comes back as the Envoy model,
// loaded with loadEnvoyConfig — which keeps only the fields the local data plane executes, the normalisation the
// fidelity comparison wants.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { K8sObject } from '../spec/types.ts';
import type { ProxyDescriptor } from '../istio/xds/input.ts';
import type { EnvoyConfig } from '../envoy/model/index.ts';
import { EnvoyConfigError, loadEnvoyConfig } from '../envoy/load/index.ts';
import { registryObjects, type Registry } from './kube-objects.ts';
import { ISTIO_TRANSLATE_BUILD_HINT, istioTranslatePath } from './istio-translate-tool.ts';

/** One resource set: the registry (made into Services, Pods, EndpointSlices), the Istio objects as applied (in order:
 * each is created a second after the previous one), and the proxies whose configuration is wanted. */
export interface ResourceSet {
  registry?: Registry;
  /** Istio objects (and any other Kubernetes objects) as they would be applied. */
  objects: K8sObject[];
  proxies: ProxyDescriptor[];
  /** The installation's mesh config as YAML (the istio ConfigMap's `mesh`); istiod's defaults when absent. */
  meshConfig?: string;
}

export type IstiodAnswer =
  | {
      ok: true;
      /** By `<podName>.<namespace>`. */
      proxies: Map<string, EnvoyConfig>;
      /** Proxies whose istiod configuration the local data plane's loader refuses (a field it does not execute), with
       * the loader's message: a fidelity finding in itself. */
      refused: Map<string, string>;
      /** The validating webhook's warnings. */
      warnings: string[];
      /** Time istiod spent on the set (server start, config generation for every proxy). */
      millis: number;
    }
  | { ok: false; error: string; warnings: string[]; millis: number };

interface RawAnswer {
  id: number;
  proxies?: Record<string, unknown>;
  warnings?: string[];
  error?: string;
  millis: number;
}

export const proxyKey = (p: { podName: string; namespace: string }) => `${p.podName}.${p.namespace}`;

/** How many sets one process translates before it is replaced: istiod's process-wide state grows by about 2 MB per
 * set (measured: 125 MB after one set, 675 MB after 100), so a long corpus runs in several processes. */
export const SETS_PER_PROCESS = 100;

export class IstiodTranslator {
  private process: ToolProcess;
  private setsInProcess = 0;
  private readonly retired: Promise<void>[] = [];

  private constructor(
    private readonly binary: string,
    private readonly setsPerProcess: number,
  ) {
    this.process = new ToolProcess(binary);
  }

  /** Starts the built tool (tools cache, or MESHPROOF_ISTIO_TRANSLATE); a missing build says how to make it. */
  static start(binary = istioTranslatePath(), options: { setsPerProcess?: number } = {}): IstiodTranslator {
    if (!existsSync(binary)) throw new Error(`istio-translate is not built (${binary}): ${ISTIO_TRANSLATE_BUILD_HINT}`);
    return new IstiodTranslator(binary, options.setsPerProcess ?? SETS_PER_PROCESS);
  }

  /** What istiod generates for each proxy of the set, or istiod's (webhook's) error for the set. */
  async translate(set: ResourceSet): Promise<IstiodAnswer> {
    if (this.setsInProcess >= this.setsPerProcess) {
      this.retired.push(this.process.close());
      this.process = new ToolProcess(this.binary);
      this.setsInProcess = 0;
    }
    this.setsInProcess++;
    const raw = await this.process.send({
      objects: [...(set.registry ? registryObjects(set.registry) : []), ...set.objects],
      proxies: set.proxies,
      ...(set.meshConfig !== undefined ? { meshConfig: set.meshConfig } : {}),
    });
    const warnings = raw.warnings ?? [];
    if (raw.error !== undefined) return { ok: false, error: raw.error, warnings, millis: raw.millis };
    const proxies = new Map<string, EnvoyConfig>();
    const refused = new Map<string, string>();
    for (const [key, bundle] of Object.entries(raw.proxies ?? {})) {
      try {
        proxies.set(key, loadEnvoyConfig(bundle, `istiod answer for ${key}`).config);
      } catch (err) {
        if (!(err instanceof EnvoyConfigError)) throw err;
        refused.set(key, err.message);
      }
    }
    return { ok: true, proxies, refused, warnings, millis: raw.millis };
  }

  /** The validating webhook's verdict on the objects alone (pkg/webhooks/validation/server Webhook.validate), without
   * generating any configuration: an error for each object refused, and the warnings. */
  async validate(objects: K8sObject[]): Promise<{ error?: string; warnings: string[] }> {
    const raw = await this.process.send({ objects, proxies: [], validateOnly: true });
    return { ...(raw.error !== undefined ? { error: raw.error } : {}), warnings: raw.warnings ?? [] };
  }

  /** Ends the processes (after the sets already sent are answered). */
  async close(): Promise<void> {
    await Promise.all([...this.retired, this.process.close()]);
  }
}

/** One istio-translate process: requests written in order, answers matched by id. */
class ToolProcess {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (a: RawAnswer) => void; reject: (e: Error) => void }>();
  private readonly stderrTail: string[] = [];
  private exited: Error | undefined;
  private readonly done: Promise<void>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(binary: string) {
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout }).on('line', (line) => this.answer(line));
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 40) this.stderrTail.shift();
    });
    this.done = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.fail(new Error(`istio-translate exited (${signal ?? `code ${code}`})${this.tail()}`));
        resolve();
      });
    });
    child.on('error', (err) => this.fail(err));
  }

  send(body: { objects: unknown[]; proxies: ProxyDescriptor[]; validateOnly?: boolean; meshConfig?: string }): Promise<RawAnswer> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    await this.done;
  }

  private fail(err: Error) {
    this.exited ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private answer(line: string) {
    let raw: RawAnswer;
    try {
      raw = JSON.parse(line) as RawAnswer;
    } catch {
      this.stderrTail.push(`(unparsable answer) ${line.slice(0, 200)}`);
      return;
    }
    const waiting = this.pending.get(raw.id);
    if (!waiting) return;
    this.pending.delete(raw.id);
    waiting.resolve(raw);
  }

  private tail(): string {
    return this.stderrTail.length > 0 ? `; its last output:\n${this.stderrTail.join('\n')}` : '';
  }
}
