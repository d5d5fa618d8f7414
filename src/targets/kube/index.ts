// The kube target: the same experiments against a real cluster with Istio (kind, microk8s, a team's staging cluster),
// leaving it exactly as it was found.
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { asError, ResourceError, SpecError, TargetError } from '../../errors.ts';
import { parsePrometheusText, sampleKey } from '../../observe/prometheus.ts';
import type { CounterSample } from '../../observe/types.ts';
import type { K8sObject } from '../../spec/types.ts';
import type { ConvergenceProbe, ConvergenceReport, RestoreReport, Target, TargetInfo, TargetOptions } from '../target.ts';
import type { ProxyPod } from './affected.ts';
import { hostUrlAnnotation } from './constants.ts';
import { shadowedHosts } from './host-conflicts.ts';
import { describeRef, KubeApi, KubeApiError, refOf, UnknownKindError, unknownFieldError } from './api.ts';
import { JournalWriter, newJournal, type Journal, type JournalEntry } from './journal.ts';
import { checkRunId, labelledForRun, pushesOnUpdate, refKey, replacementFor, runLabel, savedForm } from './objects.ts';
import { startServiceRelay, type Relay } from './outside-relay.ts';
import { forwardPort, portForwardGet, type Forward } from './port-forward.ts';
import { checkContext, checkWorkloads, istioVersionFromImage, loadKubeConfig, meshDefaultConfig, missingIstioKinds } from './preflight.ts';
import { isReady, type Pod } from './pods.ts';
import { replayJournal } from './restore.ts';
import { monitoringPort, SyncStatus } from './convergence.ts';
import { bookinfoWorkloads, scenarioServiceNamespace, scenarioWorkloads, type ScenarioWorkload } from './scenario.ts';
import { EchoNamespace } from './echo-namespace.ts';
import { defaultEchoImage, echoNamespaceFor, planEchoDeployment } from './echo-plan.ts';
import type { PushVersion } from './sync-status.ts';
import { must } from '../../must.ts';
import { field } from '../../spec/untyped.ts';

export { cleanup } from './cleanup.ts';

/** A behavioural check that the applied change is visible (e.g. a request answered the way the new config says). */

/** The kube target's options: where the cluster is, what to expect in it, and how to wait for its proxies. */
export interface KubeTargetOptions extends TargetOptions {
  /** kubeconfig context (default: the current one), and whether a non-kind context is allowed. */
  context?: string;
  allowContext?: boolean;
  /** Base URL of the ingress to use instead of discovering one. */
  url?: string;
  /**
   * Refused when given: the proxies take their configuration from the cluster's own istiod (the CLI's --control-plane
   * is for the local target).
   */
  controlPlane?: string;
  /** kubeconfig file (default: KUBECONFIG or ~/.kube/config). */
  kubeconfig?: string;
  /** Namespace of the scenario's workloads and of resources that name none (default `default`). */
  namespace?: string;
  /** Namespace of istiod and the ingress gateway (default `istio-system`). */
  istioNamespace?: string;
  /** Labels of the ingress gateway pods (default `istio: ingressgateway`). */
  gatewayLabels?: Record<string, string>;
  /** Folder holding scenarios/<name>/ (default: the package's scenarios/). */
  scenariosDir?: string;
  /** Behavioural confirmation after every affected proxy acknowledged the config. */
  probe?: ConvergenceProbe;
  /** The probe must pass this many consecutive windows (default 3) ... */
  probeWindows?: number;
  /** ... of this many ms each (default 500). */
  probeWindowMs?: number;
  /** How often istiod's sync status is read while waiting (default 500 ms). */
  pollIntervalMs?: number;
  /** How long istiod's sync status must stand still before a change's push baseline is taken (default 300 ms). */
  baselineSettleMs?: number;
  /** How long restore() waits for the proxies to drop the run's config (default: the last waitConverged timeout, else 60 s). */
  restoreTimeoutMs?: number;
  /**
   * Deploy the scenario folder's workloads as echo workloads into a test namespace of their own, run there, and
   * delete it at close() (docs/kube.md "Echo workloads in a test namespace"). Needs `runId` (the namespace's default name).
   */
  deployEcho?: {
    /** Default `meshproof-echo-<last 4 characters of the run id>`. */
    namespace?: string;
    /** Default meshproof/echo:dev (deploy/echo/Dockerfile, loaded into the nodes). */
    image?: string;
    /** How long to wait for the echo workloads to be ready with sidecars (default 5 min). */
    readyTimeoutMs?: number;
    /** How long close() waits for the namespace to be gone (default 2 min). */
    deleteTimeoutMs?: number;
  };
  /** The run's id: labels the test namespace of --deploy-echo. */
  runId?: string;
  /** Ctrl-C while prepare() waits for the echo workloads: it stops waiting (close() still deletes the namespace). */
  interrupt?: AbortSignal;
}

const defaultConvergeTimeoutMs = 60_000;

export class KubeTarget implements Target {
  readonly kind = 'kube' as const;
  private config?: KubeConfig;
  private api?: KubeApi;
  private contextName = '';
  private proxies: ProxyPod[] = [];
  private workloadOf = new Map<string, string>();
  private gatewayPods: Pod[] = [];
  private istiodPods: Pod[] = [];
  private journal?: JournalWriter;
  private baseline?: Map<string, PushVersion | undefined>;
  private pending: K8sObject[] = [];
  /** The timeout of the last convergence wait: restore waits as long for the proxies to drop the run's config. */
  private convergeTimeoutMs?: number;
  private forward?: Forward;
  /** outsideEntrypoint relays, by `service:port`. */
  private relays = new Map<string, Relay>();
  /** --deploy-echo: the test namespace this run made. */
  private echo?: EchoNamespace;
  constructor(private readonly options: KubeTargetOptions) {}

  /** The scenario's namespace: --namespace, or the test namespace of --deploy-echo. */
  private get namespace(): string {
    return this.echo?.name ?? this.options.namespace ?? 'default';
  }

  /** An experiment's object as it goes to the cluster: under --deploy-echo, moved into the test namespace. */
  private mapped(object: K8sObject): K8sObject {
    return this.echo ? this.echo.plan.mapping.object(object) : object;
  }

  private get istioNamespace(): string {
    return this.options.istioNamespace ?? 'istio-system';
  }

  /** Convergence by istiod's sync status, for the proxies prepare() found. */
  private sync(): SyncStatus {
    if (!this.config || !this.api) throw new TargetError('kube target used before prepare()');
    return new SyncStatus({
      config: this.config,
      api: this.api,
      istioNamespace: this.istioNamespace,
      namespace: this.namespace,
      proxies: this.proxies,
      pollIntervalMs: this.options.pollIntervalMs,
      baselineSettleMs: this.options.baselineSettleMs,
      probeWindows: this.options.probeWindows,
      probeWindowMs: this.options.probeWindowMs,
      log: (m) => this.log(m),
    });
  }

  private client(): KubeApi {
    if (!this.api) throw new TargetError('kube target used before prepare()');
    return this.api;
  }

  private kubeConfig(): KubeConfig {
    if (!this.config) throw new TargetError('kube target used before prepare()');
    return this.config;
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  async prepare(): Promise<TargetInfo> {
    const { options } = this;
    if (options.controlPlane !== undefined) {
      throw new SpecError(`--control-plane is for the local target; on --target kube the proxies take their configuration from the cluster's own istiod`);
    }
    this.config = loadKubeConfig(options.context, options.kubeconfig);
    this.contextName = this.config.getCurrentContext();
    checkContext(this.contextName, { requested: options.context, allowContext: options.allowContext, server: this.config.getCurrentCluster()?.server });
    this.api = new KubeApi(this.config, (text) => options.log?.(`API server warning: ${text}`));
    const api = this.api;

    const reach = await api.raw('GET', '/version').catch(asError);
    if (reach instanceof Error || reach.code !== 200) {
      throw new TargetError(
        `cannot reach the API server of context ${this.contextName} (${api.server}): ${reach instanceof Error ? reach.message : `HTTP ${reach.code}`}`,
      );
    }
    const missing = await missingIstioKinds(api);
    if (missing.length > 0) throw new TargetError(`Istio is not installed in context ${this.contextName}: the API server does not serve ${missing.join(', ')}`);

    this.istiodPods = (await api.list<Pod>('v1', 'Pod', { namespace: this.istioNamespace, labelSelector: 'app=istiod' })).filter(isReady);
    const [istiod] = this.istiodPods;
    if (!istiod) throw new TargetError(`no ready istiod pod (label app=istiod) in namespace ${this.istioNamespace}`);
    const istioVersion = await this.readIstioVersion(istiod);

    const workloads = options.deployEcho ? await this.deployEcho(options.deployEcho) : scenarioWorkloads(options.scenario, options.scenariosDir);
    const expected = workloads.length > 0 ? workloads : options.scenario === 'bookinfo' ? bookinfoWorkloads : [];
    // A scenario folder's workloads run in the namespaces its objects name.
    const namespaces = [...new Set([this.namespace, ...expected.map((w) => w.namespace ?? this.namespace)])];
    const pods = (await Promise.all(namespaces.map((namespace) => api.list<Pod>('v1', 'Pod', { namespace })))).flat();
    this.gatewayPods = await api.list<Pod>('v1', 'Pod', { namespace: this.istioNamespace, labelSelector: this.gatewaySelector() });
    const mesh = await api.get<K8sObject & { data?: Record<string, string> }>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: this.istioNamespace,
      name: 'istio',
    });
    const check = checkWorkloads(pods, this.gatewayPods, expected, this.namespace, meshDefaultConfig(mesh));
    if (check.problems.length > 0) {
      throw new TargetError(`the cluster of context ${this.contextName} is not ready for scenario ${options.scenario}:\n  - ${check.problems.join('\n  - ')}`);
    }
    this.proxies = check.proxies;
    this.workloadOf = check.workloadOf;
    return {
      kind: 'kube',
      istioVersion,
      controlPlane: `the cluster's istiod (${istioVersion})`,
      context: this.contextName,
      description: `${this.contextName} (${api.server}), ${this.proxies.length} proxies${this.echo ? `, echo workloads in the test namespace ${this.echo.name}` : ''}`,
    };
  }

  /** --deploy-echo: the test namespace made, the folder's workloads in it as echo workloads, ready with sidecars. */
  private async deployEcho(deploy: NonNullable<KubeTargetOptions['deployEcho']>): Promise<ScenarioWorkload[]> {
    const runId = this.options.runId;
    if (!runId) throw new TargetError('internal error: --deploy-echo needs the run id');
    const image = deploy.image ?? defaultEchoImage;
    const plan = planEchoDeployment({
      scenario: this.options.scenario,
      namespace: deploy.namespace ?? echoNamespaceFor(runId),
      image,
      runId,
      owner: { pid: process.pid, host: hostname() },
    });
    const echo = new EchoNamespace(this.client(), plan, image, (m) => this.log(m));
    this.echo = echo;
    await echo.deploy();
    await echo.waitReady(deploy.readyTimeoutMs ?? 300_000, this.options.interrupt);
    return plan.deployments.map((d) => ({
      name: d.metadata.name,
      namespace: echo.name,
      labels: (field(d.spec, 'template', 'metadata', 'labels') ?? {}) as Record<string, string>,
    }));
  }

  private gatewaySelector(): string {
    const labels = this.options.gatewayLabels ?? { istio: 'ingressgateway' };
    return Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }

  private async readIstioVersion(istiod: Pod): Promise<string> {
    const container = istiod.spec.containers.find((c) => c.name === 'discovery') ?? istiod.spec.containers[0];
    const fromImage = istioVersionFromImage(container?.image);
    if (fromImage) return fromImage;
    // :15014/version answers e.g. `1.28.0-<sha>-Clean` (pkg/kube/client.go notes the form); not behind debug auth.
    const text = await portForwardGet(this.kubeConfig(), this.istioNamespace, istiod.metadata.name, monitoringPort(istiod), '/version').catch(() => '');
    const version = /^(\d+\.\d+[.\w-]*?)(?:-[0-9a-f]{40})?(?:-Clean|-Modified)?\s*$/.exec(text.trim())?.[1];
    if (!version)
      throw new TargetError(
        `cannot tell the Istio version: istiod image ${container?.image ?? '?'} has no version tag and :15014/version said "${text.trim().slice(0, 80)}"`,
      );
    return version;
  }

  private withNamespace(object: K8sObject): K8sObject {
    return object.metadata.namespace === undefined ? { ...object, metadata: { ...object.metadata, namespace: this.namespace } } : object;
  }

  async snapshot(experimentResources: K8sObject[]): Promise<void> {
    const api = this.client();
    const resources = experimentResources.map((r) => this.mapped(r));
    // Fail early on kinds the cluster does not serve; the authoritative copy is read again right before the change.
    for (const r of resources) {
      try {
        await api.get(refOf(this.withNamespace(r)));
      } catch (error) {
        throw this.asSpecError(r, error);
      }
    }
    // istiod would ignore a VirtualService of the experiment that an older one of its namespace shadows (host-conflicts.ts).
    const virtualServices = resources.filter((r) => r.kind === 'VirtualService');
    const namespaces = [...new Set(virtualServices.map((r) => r.metadata.namespace ?? this.namespace))];
    const live = (await Promise.all(namespaces.map((namespace) => api.list('networking.istio.io/v1', 'VirtualService', { namespace })))).flat();
    const shadowed = shadowedHosts(virtualServices, live, this.namespace);
    const [s, ...alsoShadowed] = shadowed;
    if (s) {
      throw new ResourceError(
        `host ${s.host} is already routed for the mesh by VirtualService ${s.by} (created ${s.created}); istiod keeps only the oldest ` +
          `VirtualService per host for a namespace's sidecars (IST0109), so this one would not take effect and the experiment would measure the old routes. ` +
          `Route in that VirtualService, delete it, or give this experiment's VirtualService its name` +
          (alsoShadowed.length > 0 ? ` (also: ${alsoShadowed.map((x) => `${x.host} by ${x.by}`).join(', ')})` : ''),
        s.resource,
        `spec.hosts[${s.index}]`,
      );
    }
  }

  private asSpecError(object: K8sObject, error: unknown): Error {
    const name = `${object.kind} ${object.metadata.name}`;
    if (error instanceof UnknownKindError) return new SpecError(error.message, undefined, name);
    const unknown = unknownFieldError(object, error);
    if (unknown) return unknown;
    if (error instanceof KubeApiError && (error.code === 422 || error.code === 400)) {
      const causes = (error.status?.details as { causes?: { field?: string; message?: string }[] } | undefined)?.causes ?? [];
      const text = causes.map((c) => (c.field && !(c.message ?? '').startsWith(c.field) ? `${c.field}: ${c.message ?? ''}` : (c.message ?? ''))).join('; ');
      const field = causes.find((c) => c.field)?.field;
      return new SpecError(`the API server rejected it: ${text || error.status?.message || error.message}`, undefined, field ? `${name}: ${field}` : name);
    }
    if (error instanceof TargetError || error instanceof SpecError) return error;
    return new TargetError(`${name}: ${(error as Error).message}`);
  }

  async apply(resources: K8sObject[], runId: string): Promise<void> {
    checkRunId(runId);
    const api = this.client();
    if (!this.journal) {
      this.journal = new JournalWriter(api, newJournal({ runId, context: this.contextName, server: api.server, namespace: this.namespace }));
    } else if (this.journal.journal.runId !== runId) {
      throw new TargetError(`apply for run ${runId} while run ${this.journal.journal.runId} has not been restored`);
    }
    const journal = this.journal;
    const objects = resources.map((r) => labelledForRun(this.mapped(r), runId, this.namespace));
    // The push baseline of this change: read before it, once per convergence wait (several applies may share one).
    if (!this.baseline) this.baseline = await this.sync().recordBaseline();

    // 1. the journal, before any change: the exact prior objects.
    const entries: JournalEntry[] = [];
    const live = new Map<string, K8sObject | undefined>();
    for (const object of objects) {
      const ref = refOf(object);
      if (live.has(refKey(ref))) continue;
      let found: K8sObject | undefined;
      try {
        found = await api.get(ref);
      } catch (error) {
        throw this.asSpecError(object, error);
      }
      live.set(refKey(ref), found);
      if (journal.has(ref)) continue;
      entries.push(found ? { ref, existed: true, prior: savedForm(found) } : { ref, existed: false });
    }
    try {
      await journal.record(entries);
    } catch (error) {
      throw new TargetError(`cannot write the run journal (nothing was changed): ${(error as Error).message}`);
    }
    const journalledNow = new Set(entries.map((e) => refKey(e.ref)));

    // 2. the change: objects that exist are replaced whole (PUT), new ones are created by server-side apply.
    for (const object of objects) {
      const key = refKey(refOf(object));
      const before = live.get(key);
      const after = before ? await this.replaceExisting(object, before, journalledNow.has(key)) : await this.createNew(object);
      live.set(key, after);
      // istiod does not push for an update that changes nothing it reads: waiting for that push would time out.
      if (!before || pushesOnUpdate(before, after)) this.pending.push(object);
      else this.log(`${describeRef(refOf(object))}: same spec as the object in the cluster; istiod sends no push for it`);
    }
  }

  /** Server-side apply of an object that did not exist; conflicts with other field managers are reported, then forced. */
  private async createNew(object: K8sObject): Promise<K8sObject> {
    const api = this.client();
    try {
      return await api.apply(object);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.code === 409)) throw this.asSpecError(object, error);
      this.log(`${describeRef(refOf(object))}: taking over fields managed by others (${error.status?.message ?? 'conflict'}); restore puts them back`);
      try {
        return await api.apply(object, { force: true });
      } catch (forced) {
        throw this.asSpecError(object, forced);
      }
    }
  }

  /**
   * PUT the experiment's object over an existing one, conditional on the version read before. When someone changed
   * it in between, read it again — and, if this apply journalled it, journal the newer version as the one to put
   * back — then retry (a few times).
   */
  private async replaceExisting(object: K8sObject, live: K8sObject, journalledNow: boolean): Promise<K8sObject> {
    const api = this.client();
    const ref = refOf(object);
    for (let attempt = 0; ; attempt++) {
      try {
        return await api.replace(replacementFor(object, live));
      } catch (error) {
        if (!(error instanceof KubeApiError && error.code === 409 && attempt < 3)) throw this.asSpecError(object, error);
        const fresh = await api.get(ref);
        if (!fresh) throw new TargetError(`${describeRef(ref)} was deleted by someone else while meshproof was replacing it`);
        if (journalledNow) await must(this.journal, 'the journal of this apply').update({ ref, existed: true, prior: savedForm(fresh) });
        live = fresh;
      }
    }
  }

  async waitConverged(timeoutMs: number, probe: ConvergenceProbe | undefined = this.options.probe): Promise<ConvergenceReport> {
    const started = Date.now();
    this.convergeTimeoutMs = timeoutMs;
    const verdicts = await this.sync().waitForProxies(this.pending, this.baseline, started + timeoutMs, timeoutMs, 'configuration');
    await this.sync().runProbe(probe, started + timeoutMs, timeoutMs);
    this.pending = [];
    this.baseline = undefined;
    const version =
      verdicts
        .map((v) => v.version)
        .sort()
        .at(-1) ?? '';
    return {
      version,
      proxies: verdicts.map((v) => ({ name: v.id, version: v.version, synced: v.converged })),
      waitedMs: Date.now() - started,
    };
  }

  async entrypoint(): Promise<string> {
    if (this.options.url) return this.options.url.replace(/\/+$/, '');
    const api = this.client();
    const services = await api.list<K8sObject & { spec: { ports?: { port: number; targetPort?: number | string }[] } }>('v1', 'Service', {
      namespace: this.istioNamespace,
      labelSelector: this.gatewaySelector(),
    });
    const annotated = services.map((s) => s.metadata.annotations?.[hostUrlAnnotation]).find(Boolean);
    if (annotated) return annotated.replace(/\/+$/, '');
    if (this.forward) return this.forward.url;
    const pod = this.gatewayPods.find(isReady);
    if (!pod) throw new TargetError('no ready ingress gateway pod to port-forward to');
    const ports = (services[0]?.spec.ports ?? []) as { port: number; targetPort?: number | string }[];
    const http = ports.find((p) => p.port === 80);
    const targetPort = typeof http?.targetPort === 'number' ? http.targetPort : 8080;
    this.forward = await forwardPort(this.kubeConfig(), pod.metadata.namespace ?? this.istioNamespace, pod.metadata.name, targetPort);
    this.log(`port-forwarding ${this.forward.url} to ${pod.metadata.name}:${targetPort}`);
    return this.forward.url;
  }

  /** The port-forward's tunnels for the load's connections, opened ahead (port-forward.ts says why). */
  async openConnections(baseUrl: string, count: number): Promise<void> {
    const forward = this.forward;
    if (!forward || baseUrl !== forward.url || count < 1) return;
    const started = Date.now();
    const { waiting, opened, failed, error } = await forward.prewarm(count);
    if (opened === 0 && failed === 0) return;
    const ready = waiting > 0 ? `${opened} opened, ${waiting} were waiting` : `${opened} opened`;
    const refused = failed > 0 ? `; ${failed} not open (${error ?? 'not open in time'})` : '';
    this.log(`port-forward: tunnels for the load's ${count} connection(s) ahead of it: ${ready} in ${Date.now() - started} ms${refused}`);
  }

  /**
   * A client outside the mesh reaching `service` directly: a loopback relay through the API server's service proxy
   * (see outside-relay.ts). The API server has no sidecar and no mesh certificate, so STRICT mTLS resets it.
   */
  async outsideEntrypoint(service: string, port: number): Promise<string> {
    const key = `${service}:${port}`;
    const existing = this.relays.get(key);
    if (existing) return existing.url;
    const api = this.client();
    const namespace = this.echo ? this.echo.name : (scenarioServiceNamespace(this.options.scenario, service) ?? this.namespace);
    const found = await api.get<K8sObject & { spec?: { ports?: { port: number }[] } }>({ apiVersion: 'v1', kind: 'Service', namespace, name: service });
    if (!found) throw new TargetError(`no Service ${service} in namespace ${namespace} of context ${this.contextName}`);
    const ports = ((found.spec?.ports ?? []) as { port: number }[]).map((p) => p.port);
    if (!ports.includes(port)) throw new TargetError(`Service ${namespace}/${service} has no port ${port} (it has ${ports.join(', ') || 'none'})`);
    const relay = await startServiceRelay(api, namespace, service, port);
    this.relays.set(key, relay);
    this.log(`client outside the mesh for ${service}:${port} at ${relay.url} (through the API server's service proxy)`);
    return relay.url;
  }

  async counters(): Promise<CounterSample[]> {
    // Counters are read before and after load: an outside relay the API server refused fails the experiment here.
    for (const [key, relay] of this.relays) {
      const failure = relay.failure();
      if (failure) {
        throw new TargetError(
          `the API server itself answered the client outside the mesh for ${key} (its service proxy, not the workload): ${failure}. ` +
            'Requests with `service:` need permission to get services/proxy in the namespace and an API server that does not throttle them.',
        );
      }
    }
    const pods = this.proxies.map((p) => {
      const [name = p.id] = p.id.split('.', 1);
      return { name, namespace: p.namespace };
    });
    // Through port-forward, as istioctl reads a proxy (pods/proxy refuses some pod addresses and needs another permission).
    const texts = await Promise.all(
      pods.map((p) =>
        portForwardGet(this.kubeConfig(), p.namespace, p.name, 15090, '/stats/prometheus').then(
          (text) => ({ pod: p, text }),
          (error: unknown) => {
            throw new TargetError(`cannot read counters of ${p.namespace}/${p.name} (:15090/stats/prometheus through port-forward): ${asError(error).message}`);
          },
        ),
      ),
    );
    // One series per workload: replicas of a workload add up, as the local target has one proxy per workload.
    const sums = new Map<string, CounterSample>();
    texts.forEach(({ pod: p, text }) => {
      for (const sample of parsePrometheusText(text, this.workloadOf.get(p.name) ?? p.name)) {
        const key = sampleKey(sample);
        const seen = sums.get(key);
        if (seen) seen.value += sample.value;
        else sums.set(key, sample);
      }
    });
    return [...sums.values()];
  }

  async restore(): Promise<RestoreReport> {
    const writer = this.journal;
    if (!writer || !this.api) return { deleted: [], restored: [], errors: [] };
    // What putting things back changes for istiod, read before it happens, with the push baseline to wait from.
    const changes = await this.restoreChanges(writer.journal);
    const baseline = changes.length > 0 ? await this.sync().recordBaseline().catch(asError) : undefined;
    const report = await replayJournal(this.api, writer.journal);
    this.pending = [];
    this.baseline = undefined;
    if (report.errors.length === 0) {
      await writer.remove().catch((error: unknown) => report.errors.push(`removing the run journal: ${asError(error).message}`));
      this.journal = undefined;
    }
    // The next experiment starts only once every proxy dropped this run's config: otherwise its convergence wait
    // could take this restore's push for its own, and its load could meet this run's config.
    if (baseline instanceof Error) {
      report.errors.push(`restored, but cannot tell whether the proxies dropped the run's config: ${baseline.message}`);
    } else if (baseline) {
      const timeoutMs = this.options.restoreTimeoutMs ?? this.convergeTimeoutMs ?? defaultConvergeTimeoutMs;
      try {
        await this.sync().waitForProxies(changes, baseline, Date.now() + timeoutMs, timeoutMs, 'restored configuration');
      } catch (error) {
        report.errors.push(`restored, but ${(error as Error).message}`);
      }
    }
    return report;
  }

  /** The objects whose replay istiod pushes: live ones the run created or changed, and the priors put back. */
  private async restoreChanges(journal: Journal): Promise<K8sObject[]> {
    const api = this.client();
    const changes: K8sObject[] = [];
    for (const entry of journal.entries) {
      let live: K8sObject | undefined;
      try {
        live = await api.get(entry.ref);
      } catch {
        // unreadable now: the replay reports it; wait as if it changed
        if (entry.prior) changes.push(entry.prior);
        continue;
      }
      if (entry.existed && entry.prior) {
        if (!live || pushesOnUpdate(live, entry.prior)) changes.push(...(live ? [live] : []), entry.prior);
      } else if (live?.metadata.labels?.[runLabel] === journal.runId) {
        changes.push(live);
      }
    }
    return changes;
  }

  async close(): Promise<void> {
    await this.forward?.close();
    this.forward = undefined;
    await Promise.all([...this.relays.values()].map((r) => r.close()));
    this.relays.clear();
    // After every experiment's restore: the test namespace goes, with everything in it.
    await this.echo?.remove(this.options.deployEcho?.deleteTimeoutMs ?? 120_000);
  }
}
