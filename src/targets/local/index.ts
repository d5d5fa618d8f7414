// The local target: the embedded Bookinfo mesh (started in a child process), with the shared Target lifecycle.
import { resourceId } from '../../spec/resources.ts';
import { isAbsolute } from 'node:path';
import { TargetError } from '../../errors.ts';
import { displayPath } from '../../spec/resources.ts';
import { parsePrometheusText } from '../../observe/prometheus.ts';
import type { CounterSample } from '../../observe/types.ts';
import type { K8sObject } from '../../spec/types.ts';
import type { ConvergenceReport, RestoreReport, Target, TargetInfo, TargetOptions } from '../target.ts';
import { startLocalMesh, type MeshHandle, type ObjectRef, type StartOptions } from './handle.ts';
import type { MeshStatus } from './mesh.ts';
import { ServiceRelay, podAddresses, serviceBackends } from './outside.ts';
import { locateResourceError } from './resource-errors.ts';

export { startLocalMesh, type MeshHandle, type StartOptions } from './handle.ts';

const runLabel = 'meshproof.dev/run';

/** The local target's options: the scenario the embedded mesh runs, its seed, and how it starts (StartOptions). */
export interface LocalTargetOptions extends TargetOptions, StartOptions {
  scenario: string;
  seed: number;
}

const keyOf = resourceId;

function refOf(key: string): ObjectRef {
  const [kind, namespace, name] = key.split('/');
  if (kind === undefined || namespace === undefined || name === undefined) throw new Error(`not a resource id (kind/namespace/name): ${key}`);
  return { kind, metadata: { name, namespace } };
}

async function getText(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new TargetError(`${url} answered ${res.status}`);
  return res.text();
}

export class LocalTarget implements Target {
  readonly kind = 'local' as const;
  private handle?: MeshHandle;
  /** Objects as they were before we touched them (undefined: did not exist). */
  private readonly backups = new Map<string, K8sObject | undefined>();
  private readonly applied = new Set<string>();
  private wantedVersion = '';
  private readonly relays = new Map<string, { relay: ServiceRelay; url: string }>();

  constructor(private readonly options: LocalTargetOptions) {}

  /** The running mesh (after prepare), for tests and tools that need more than the Target interface. */
  get mesh(): MeshHandle {
    if (!this.handle) throw new TargetError('the local target is not prepared');
    return this.handle;
  }

  async prepare(): Promise<TargetInfo> {
    if (this.handle) await this.close();
    const { log, ...start } = this.options;
    const shown = isAbsolute(start.scenario) ? displayPath(start.scenario) : start.scenario;
    log?.(`starting the local mesh of scenario ${shown}`);
    this.handle = await startLocalMesh(start);
    this.wantedVersion = (await this.handle.status()).version;
    return {
      kind: 'local',
      istioVersion: this.handle.istioVersion,
      controlPlane:
        this.handle.controlPlane === 'istiod'
          ? `istiod ${this.handle.istioVersion} (the pinned pilot-discovery's config generation, in-process): routes, clusters, endpoints and every HTTP filter (the sidecars' inbound mTLS chains, JWT, RBAC, ext_authz, local rate limits; the gateway's and outbound listeners)`
          : `built-in (Istio ${this.handle.istioVersion} semantics)`,
      context: 'local',
      description: `embedded ${shown} mesh on ${this.handle.block}.0/24 (seed ${start.seed})`,
    };
  }

  async snapshot(resources: K8sObject[]): Promise<void> {
    for (const r of resources) {
      const key = keyOf(r);
      if (this.backups.has(key)) continue;
      this.backups.set(key, await this.mesh.get(r.kind, r.metadata.namespace ?? 'default', r.metadata.name));
    }
  }

  async apply(resources: K8sObject[], runId: string): Promise<void> {
    await this.snapshot(resources);
    const labelled = resources.map((r) => ({
      ...r,
      metadata: { ...r.metadata, labels: { ...(r.metadata.labels ?? {}), [runLabel]: runId } },
    }));
    try {
      this.wantedVersion = await this.mesh.apply(labelled);
    } catch (error) {
      // The mesh names the refused field; the experiment's objects know where it is written.
      throw locateResourceError(error, resources);
    }
    for (const r of resources) this.applied.add(keyOf(r));
  }

  async waitConverged(timeoutMs: number): Promise<ConvergenceReport> {
    const started = Date.now();
    const wanted = Number(this.wantedVersion);
    let status: MeshStatus = await this.mesh.status();
    for (;;) {
      const proxies = await Promise.all(
        status.proxies.map(async (p) => {
          const info = JSON.parse(await getText(`${p.adminUrl}/config_version`)) as { configVersion: string };
          return { name: p.name, version: info.configVersion, synced: Number(info.configVersion) >= wanted };
        }),
      );
      if (proxies.every((p) => p.synced)) return { version: this.wantedVersion, proxies, waitedMs: Date.now() - started };
      if (Date.now() - started > timeoutMs) {
        const behind = proxies
          .filter((p) => !p.synced)
          .map((p) => `${p.name} (at ${p.version})`)
          .join(', ');
        throw new TargetError(`proxies did not reach config version ${this.wantedVersion} within ${timeoutMs} ms: ${behind}`);
      }
      await new Promise((r) => setTimeout(r, 5));
      status = await this.mesh.status();
    }
  }

  async entrypoint(): Promise<string> {
    return this.mesh.gatewayUrl;
  }

  /** A plain client outside the mesh reaching `service`'s pods through a Service-like relay (no sidecar, no certificate). */
  async outsideEntrypoint(service: string, port: number): Promise<string> {
    const key = `${service}:${port}`;
    const existing = this.relays.get(key);
    if (existing) return existing.url;
    const { deployments } = serviceBackends(this.options.scenario, service, port);
    const pods = podAddresses(await this.mesh.status(), deployments);
    if (pods.length === 0) throw new TargetError(`service ${service} has no running pods in the local mesh`);
    const relay = new ServiceRelay(() => pods);
    const url = await relay.start();
    this.relays.set(key, { relay, url });
    return url;
  }

  async counters(): Promise<CounterSample[]> {
    const status = await this.mesh.status();
    const texts = await Promise.all(status.proxies.map(async (p) => parsePrometheusText(await getText(p.statsUrl), p.name)));
    return texts.flat();
  }

  async restore(): Promise<RestoreReport> {
    const report: RestoreReport = { deleted: [], restored: [], errors: [] };
    if (!this.handle || this.backups.size === 0) return report;
    const upserts: K8sObject[] = [];
    const deletes: ObjectRef[] = [];
    for (const [key, before] of this.backups) {
      if (before) {
        upserts.push(before);
        report.restored.push(key);
      } else if (this.applied.has(key)) {
        deletes.push(refOf(key));
        report.deleted.push(key);
      }
    }
    try {
      this.wantedVersion = await this.handle.change(upserts, deletes);
    } catch (error) {
      report.errors.push((error as Error).message);
    }
    this.backups.clear();
    this.applied.clear();
    return report;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    this.backups.clear();
    this.applied.clear();
    const relays = [...this.relays.values()];
    this.relays.clear();
    await Promise.all(relays.map((r) => r.relay.close()));
    await h?.close();
  }
}
