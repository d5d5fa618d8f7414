// The embedded Bookinfo mesh in this process: one loopback /24 per instance (ingress on .1, one address per pod),
// a sidecar per pod in front of its TypeScript app, the ingress gateway, and the configuration pushed to every proxy
// asynchronously with a version each proxy reports (as xDS would): routes, clusters and endpoints from the built-in
// control plane (src/istio/xds) or from istiod (--control-plane istiod), filters built from the Istio resources.
import { randomInt } from 'node:crypto';
import type { K8sObject } from '../../spec/types.ts';
import { DEFAULT_ISTIO_VERSION, istioBehaviour, type IstioBehaviour } from '../../istio/version.ts';
import { createDetails } from './apps/details.ts';
import { createProductpage } from './apps/productpage.ts';
import { createRatings } from './apps/ratings.ts';
import { createReviews } from './apps/reviews.ts';
import { guardApp } from './apps/crash.ts';
import { createEcho, type EchoIdentity } from './apps/echo.ts';
import { defaultEchoBehaviour } from './apps/echo-config.ts';
import type { AppContext, AppHandler } from './apps/types.ts';
import { ConfigStore, type CompiledConfig } from './config-store.ts';
import { resourceId } from '../../spec/resources.ts';
import { seededHex } from './decide.ts';
import { meshLog, meshLogError } from './log.ts';
import { loadScenario } from './scenario.ts';
import { buildPolicy, FilterChainStates, inboundHcmStatPrefix } from './security.ts';
import type { EndpointInfo } from './proxy/cluster.ts';
import type { MeshSnapshot, ServiceInfo } from './proxy/config-view.ts';
import { IngressGateway, gatewayPort } from './proxy/gateway.ts';
import { Sidecar, type WorkloadIdentity } from './proxy/sidecar.ts';
import { selectsPod, type WorkloadSpec } from './topology.ts';
import { buildClusters } from '../../istio/xds/clusters.ts';
import { buildEndpoints } from '../../istio/xds/endpoints.ts';
import { buildRoutes } from '../../istio/xds/routes.ts';
import type { TranslationInput } from '../../istio/xds/input.ts';
import { proxyDescriptorOf, translationInputOf } from './builtin-control-plane.ts';
import { IstiodControlPlane, istiodControlPlaneVersion, type ControlPlane, type IstiodProxyConfig } from './istiod-control-plane.ts';
import { SpecError } from '../../errors.ts';
import type { RouterConfig } from './proxy/router.ts';
import { AdsControlPlane, playedPodKey, type ClusterPod, type PlayedCluster } from './ads-control-plane.ts';
import { OpaProcess } from './opa/process.ts';
import { ExtAuthzClient, type ExtAuthzOutcome, type ExtAuthzRequest } from './proxy/ext-authz.ts';
import type { ExtAuthzRuntime } from './security.ts';
import { StandIn } from './stand-in.ts';
import { buildListeners } from '../../istio/xds/listeners.ts';
import { must } from '../../must.ts';
import { requestMetricsOfListeners } from './request-metrics.ts';
import { INSTALLED_METRICS_PROVIDERS, installedMeshYaml } from '../../istio/mesh-config.ts';
import { hasUsableKey, remoteJwksRules } from '../../istio/security/request-authentication.ts';
import { publicOnlyJwks } from '../../istio/security/jwks-resolver.ts';
import { fetchJwks } from './jwks-fetch.ts';

export interface MeshOptions {
  /** Scenario folder name under scenarios/ (or an absolute path). Default `bookinfo`. */
  scenario?: string;
  seed?: number;
  istioVersion?: string;
  /** Loopback block `127.A.B` to use; chosen at random (and retried) when absent. */
  block?: string;
  /**
   * Who translates the Istio resources into the proxies' routes and clusters: the built-in control plane (default), or
   * istiod's own config generation (src/targets/local/istiod-control-plane.ts), which also validates what is applied.
   */
  controlPlane?: ControlPlane;
  /**
   * Play a cluster's pods (the sandbox): each local pod takes the name and address of the cluster's pod it plays and
   * its proxy is an xDS client of that cluster's istiod (src/targets/local/ads-control-plane.ts).
   */
  cluster?: PlayedCluster;
}

export interface ProxyInfo {
  name: string;
  podName: string;
  namespace: string;
  /** The address of the cluster's pod it plays, when the mesh plays a cluster. */
  clusterIp?: string;
  kind: 'sidecar' | 'gateway';
  ip: string;
  /** Base URL of the admin listener (`/config_version`, `/stats/prometheus`) on :15000. */
  adminUrl: string;
  /** The Prometheus endpoint on :15090. */
  statsUrl: string;
  configVersion: string;
}

export interface MeshStatus {
  version: string;
  gatewayUrl: string;
  proxies: ProxyInfo[];
  workloads: { deployment: string; podName: string; ip: string; url: string }[];
}

const appFactories: Record<Exclude<WorkloadSpec['appKind'], 'echo' | 'opa'>, (ctx: AppContext) => AppHandler> = {
  productpage: createProductpage,
  details: createDetails,
  reviews: createReviews,
  ratings: createRatings,
};

/** Who an echo pod answers as: the Services of its namespace that select it, in the configuration `current` gives. */
function echoIdentity(spec: WorkloadSpec, current: () => CompiledConfig): EchoIdentity {
  let cached: { version: number; names: string[] } | undefined;
  const services = () => {
    const compiled = current();
    if (cached?.version !== compiled.version) {
      const names = [...compiled.services.values()]
        .filter((s) => selectsPod(s, spec))
        .map((s) => s.name)
        .sort();
      cached = { version: compiled.version, names };
    }
    return cached.names;
  };
  return { services, app: spec.app, version: spec.version, namespace: spec.namespace, port: spec.port };
}

interface Pod {
  spec: WorkloadSpec;
  index: number;
  sidecar: Sidecar;
  endpoint: EndpointInfo;
  /** An OPA pod's process. */
  opa?: OpaProcess;
}

const gatewayLabels = { app: 'istio-ingressgateway', istio: 'ingressgateway' };

export class LocalMesh {
  private readonly store: ConfigStore;
  private readonly pods = new Map<string, Pod>();
  private gateway!: IngressGateway;
  /** Counts pod starts and stops: the control plane's input changes with them. */
  private podGeneration = 0;
  private lastInput?: { compiled: CompiledConfig; generation: number; input: TranslationInput };
  private nextHost = 10;
  /** Per pod: its listeners' filter chains, whose rate-limit buckets outlive a push only when the chain is unchanged. */
  private readonly filterChains = new Map<string, FilterChainStates>();
  private pushing: Promise<void> = Promise.resolve();
  readonly seed: number;
  readonly behaviour: IstioBehaviour;
  readonly controlPlane: ControlPlane;
  private istiod?: IstiodControlPlane;
  private readonly cluster?: PlayedCluster;
  private ads?: AdsControlPlane;
  /** Each local pod's cluster address, when the mesh plays a cluster. */
  private readonly clusterIps = new Map<string, string>();
  readonly secret: string;
  private closed = false;
  /** The external hosts' stand-ins by host, each on its own address of the block (.2 to .9). */
  private readonly standIns = new Map<string, StandIn>();

  private constructor(
    readonly block: string,
    options: MeshOptions,
  ) {
    this.seed = options.seed ?? 1;
    this.controlPlane = options.controlPlane ?? 'builtin';
    this.cluster = options.cluster;
    // A cluster's API server decides which namespaces exist, also those made after the mesh started.
    this.store = new ConfigStore({ anyNamespace: this.cluster !== undefined });
    if (this.cluster) {
      if (options.controlPlane !== undefined)
        throw new SpecError("a mesh that plays a cluster takes its configuration from that cluster's istiod; no --control-plane");
      this.behaviour = istioBehaviour(this.cluster.istioVersion);
    } else if (this.controlPlane === 'istiod') {
      // The built-in listeners and filters follow the version of the istiod that generates the routes and clusters.
      const version = istioBehaviour(istiodControlPlaneVersion).version;
      if (options.istioVersion !== undefined && istioBehaviour(options.istioVersion).version !== version) {
        throw new SpecError(`--control-plane istiod is the pinned istiod ${version}; --istio-version ${options.istioVersion} cannot be combined with it`);
      }
      this.behaviour = istioBehaviour(version);
    } else {
      this.behaviour = istioBehaviour(options.istioVersion ?? DEFAULT_ISTIO_VERSION);
    }
    this.secret = seededHex(this.seed, `mtls-secret-${block}-${process.pid}-${Date.now()}`, 24);
  }

  /** Start a mesh: load the scenario, bind a free loopback block, start every proxy and app. */
  static async start(options: MeshOptions = {}): Promise<LocalMesh> {
    const objects = loadScenario(options.scenario ?? 'bookinfo');
    for (let tries = 0; ; tries++) {
      const block = options.block ?? `127.${randomInt(16, 250)}.${randomInt(0, 256)}`;
      const mesh = new LocalMesh(block, options);
      try {
        await mesh.boot(objects);
        return mesh;
      } catch (error) {
        await mesh.close();
        const code = (error as NodeJS.ErrnoException).code;
        if (options.block || tries >= 8 || (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL')) throw error;
      }
    }
  }

  private async boot(objects: K8sObject[]): Promise<void> {
    if (this.cluster) {
      this.ads = new AdsControlPlane(
        this.cluster,
        (key) => this.onAdsUpdate(key),
        (key, message) => meshLogError('xds', `${key} refused istiod's configuration`, new Error(message)),
      );
    } else if (this.controlPlane === 'istiod') {
      this.istiod = IstiodControlPlane.start();
      await this.istiod.validate(objects);
    }
    const compiled = this.store.init(objects);
    await this.reconcileStandIns(compiled);
    await this.resolveJwks(compiled);
    const gatewayPod = this.clusterPod('istio-system', 'istio-ingressgateway', 0);
    this.gateway = new IngressGateway(
      {
        proxyName: 'istio-ingressgateway',
        podName: gatewayPod?.name ?? `istio-ingressgateway-${seededHex(this.seed, 'gw', 10)}-${seededHex(this.seed, 'gw-pod', 5)}`,
        workload: 'istio-ingressgateway',
        namespace: 'istio-system',
        app: 'istio-ingressgateway',
        version: 'unknown',
        labels: gatewayLabels,
        serviceAccount: 'istio-ingressgateway-service-account',
        principal: 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
        ip: `${this.block}.1`,
        // As if the installation set meshConfig.defaultConfig.proxyStatsMatcher like the scenario's workloads.
        statsMatcher: {
          inclusionPrefixes: ['cluster.outbound'],
          inclusionSuffixes: [],
          inclusionRegexps: [/^(?:.*http_local_rate_limit.*)$/, /^(?:.*rbac.*)$/],
        },
      },
      { seed: this.seed, meshSecret: this.secret, delimitedStatPrefixes: this.behaviour.delimitedStatPrefixes },
    );
    if (gatewayPod) {
      this.clusterIps.set(this.gateway.identity.podName, gatewayPod.ip);
      this.istiodConnection().connect(gatewayPod, 'router');
      await this.waitSynced([this.gateway.identity.podName + '.istio-system']);
    }
    await this.gateway.start();
    await this.reconcilePods(compiled);
    const fromIstiod = await this.istiodConfigs(compiled);
    this.configureProxy(this.gateway, compiled, fromIstiod);
    for (const pod of this.pods.values()) this.configureProxy(pod.sidecar, compiled, fromIstiod);
  }

  get gatewayUrl(): string {
    return this.gateway.url;
  }

  get version(): string {
    return String(this.store.current.version);
  }

  /** Create or replace objects (validated together; SpecError changes nothing). Resolves when pods are up; proxies converge asynchronously. */
  async apply(objects: K8sObject[]): Promise<string> {
    return this.change(objects, []);
  }

  /** Delete objects by kind/namespace/name. */
  async remove(refs: { kind: string; metadata: { name: string; namespace?: string } }[]): Promise<string> {
    return this.change([], refs.map(resourceId));
  }

  get(kind: string, namespace: string, name: string): K8sObject | undefined {
    const o = this.store.get(kind, namespace, name);
    return o ? structuredClone(o) : undefined;
  }

  list(): K8sObject[] {
    return this.store.list().map((o) => structuredClone(o));
  }

  /** Upserts and deletions in one atomic change (one new config version). */
  async change(upserts: K8sObject[], deletes: string[]): Promise<string> {
    // istiod's validating webhook answers before anything is stored, as the API server asks it on a cluster.
    await this.istiod?.validate(upserts);
    const compiled = this.store.change(upserts, deletes);
    await this.reconcileStandIns(compiled);
    await this.resolveJwks(compiled);
    await this.reconcilePods(compiled);
    this.push(compiled);
    return String(compiled.version);
  }

  /**
   * Start the stand-ins of external hosts the configuration declares (ExternalHost), stop those it no longer does.
   * Nothing leaves loopback: the mesh's name resolution maps each host to its stand-in's address.
   */
  private async reconcileStandIns(compiled: CompiledConfig): Promise<void> {
    for (const [host, standIn] of this.standIns) {
      if (JSON.stringify(compiled.externalHosts.get(host)) === JSON.stringify(standIn.spec)) continue;
      this.standIns.delete(host);
      await standIn.close();
    }
    for (const [host, spec] of compiled.externalHosts) {
      if (this.standIns.has(host)) continue;
      const used = new Set([...this.standIns.values()].map((s) => s.ip));
      const free = [2, 3, 4, 5, 6, 7, 8, 9].map((n) => `${this.block}.${n}`).find((ip) => !used.has(ip));
      if (!free) throw new SpecError(`at most 8 external hosts have a stand-in in one local mesh (${host} is one more)`);
      const standIn = new StandIn(spec, free);
      await standIn.start();
      this.standIns.set(host, standIn);
    }
  }

  /**
   * istiod's fetch of the http(s) jwksUris the configuration names (model/jwks_resolver.go GetPublicKey), before the
   * configuration is pushed: from the host's stand-in on loopback (the only hosts such a URI may name here), trusting
   * the stand-ins' certificates as istiod trusts the public CAs. A failure is logged as istiod logs it.
   */
  private async resolveJwks(compiled: CompiledConfig): Promise<void> {
    const rules = compiled.security.requestAuthentications.flatMap((ra) => remoteJwksRules(ra));
    if (rules.length === 0) return;
    for (const outcome of await this.store.jwks.resolve(rules, (uri, timeoutMs) => fetchJwks(uri, timeoutMs, (host) => this.standIns.get(host)))) {
      if (outcome.error !== undefined)
        meshLog(
          'istiod',
          `Failed to fetch public key from jwks URI ${JSON.stringify(outcome.uri)}: ${outcome.error}; using public-only JWKS, JWT requests for ${outcome.issuer} will be rejected`,
        );
    }
  }

  /** The certificates of the stand-ins: what the pods' TLS clients trust (as a real image trusts the public CAs). */
  private trustedCertificates(): string[] {
    return [...this.standIns.values()].map((s) => s.certificate);
  }

  /** The cluster's pod a local pod plays, when the mesh plays a cluster. */
  /** The connection to the played cluster's istiod: there when the mesh plays a cluster's pods. */
  private istiodConnection(): AdsControlPlane {
    if (!this.ads) throw new Error('internal error: no ADS control plane (the mesh plays no cluster)');
    return this.ads;
  }

  private clusterPod(namespace: string, workload: string, index: number): ClusterPod | undefined {
    if (!this.cluster) return undefined;
    const pod = this.cluster.pods.get(playedPodKey(namespace, workload, index));
    if (!pod) throw new Error(`the cluster has no pod ${index} of ${namespace}/${workload} for the local mesh to play`);
    return pod;
  }

  /** Until every proxy named `<pod>.<namespace>` has ACKed its first whole configuration from the cluster's istiod. */
  private async waitSynced(keys: string[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ads = this.istiodConnection();
    for (;;) {
      const pending = keys.filter((k) => !ads.synced(k));
      if (pending.length === 0) return;
      if (this.closed) throw new Error('mesh closed while its proxies connected to istiod');
      if (Date.now() > deadline) {
        const why = pending.map((k) => `${k}${ads.rejected(k).length > 0 ? ` (refused: ${ads.rejected(k).join('; ')})` : ''}`);
        throw new Error(
          `no whole configuration (CDS, EDS, LDS, RDS) from istiod at ${this.cluster?.xdsAddress ?? '(no cluster)'} within ${timeoutMs / 1000} s for ${why.join(', ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private podName(spec: WorkloadSpec, index: number): string {
    const played = this.clusterPod(spec.namespace, spec.deployment, index);
    if (played) return played.name;
    // Bookinfo's pod names stay as they were; a Deployment of another namespace hashes its namespace in.
    const id = spec.namespace === 'default' ? spec.deployment : `${spec.namespace}/${spec.deployment}`;
    const hash = seededHex(this.seed, `rs|${id}|${spec.templateHash}`, 10);
    return `${spec.deployment}-${hash}-${seededHex(this.seed, `pod|${id}|${spec.templateHash}|${index}`, 5)}`;
  }

  /** Start pods that the Deployments now ask for and stop the ones they no longer do (new template → new pods). */
  private async reconcilePods(compiled: CompiledConfig): Promise<void> {
    const wanted = new Map<string, { spec: WorkloadSpec; index: number }>();
    for (const spec of compiled.workloads) {
      for (let i = 0; i < spec.replicas; i++) wanted.set(this.podName(spec, i), { spec, index: i });
    }
    const stopping: Pod[] = [];
    for (const [name, pod] of this.pods) {
      if (!wanted.has(name)) {
        stopping.push(pod);
        this.pods.delete(name);
        this.podGeneration++;
        this.filterChains.delete(name);
        this.ads?.disconnect(`${name}.${pod.spec.namespace}`);
        this.clusterIps.delete(name);
      }
    }
    const created: Sidecar[] = [];
    for (const [podName, { spec, index }] of wanted) {
      if (this.pods.has(podName)) continue;
      const ip = `${this.block}.${this.nextHost++}`;
      if (this.nextHost > 254) this.nextHost = 10;
      const identity: WorkloadIdentity = {
        proxyName: spec.replicas > 1 && index > 0 ? `${spec.deployment}-${index}` : spec.deployment,
        podName,
        workload: spec.deployment,
        namespace: spec.namespace,
        app: spec.app,
        version: spec.version,
        labels: spec.labels,
        serviceAccount: spec.serviceAccount,
        principal: `cluster.local/ns/${spec.namespace}/sa/${spec.serviceAccount}`,
        ip,
        statsMatcher: spec.statsMatcher,
      };
      const sidecar = new Sidecar(identity, {
        seed: this.seed,
        meshSecret: this.secret,
        port: spec.port,
        delimitedStatPrefixes: this.behaviour.delimitedStatPrefixes,
      });
      const ctx: AppContext = {
        podName,
        env: spec.env,
        seed: this.seed,
        call: (scope, call) => sidecar.call(scope, call),
        connect: (scope, c) => sidecar.connect(scope, c),
        trustedCertificates: () => this.trustedCertificates(),
      };
      let opa: OpaProcess | undefined;
      let app: AppHandler;
      if (spec.appKind === 'opa' && spec.opa) {
        opa = new OpaProcess(podName, spec.opa, ip, new Map(Object.entries(spec.opa.files ?? {})), spec.opa.grpcPort);
        await opa.start();
        app = opa.app();
      } else {
        app =
          spec.appKind === 'echo' || spec.appKind === 'opa'
            ? createEcho(
                ctx,
                echoIdentity(spec, () => this.store.current),
                spec.echo ?? defaultEchoBehaviour,
              )
            : appFactories[spec.appKind](ctx);
      }
      sidecar.setApp(guardApp(spec.appKind, podName, app));
      created.push(sidecar);
      this.podGeneration++;
      const played = this.clusterPod(spec.namespace, spec.deployment, index);
      if (played) this.clusterIps.set(podName, played.ip);
      this.pods.set(podName, {
        spec,
        index,
        sidecar,
        endpoint: {
          ip,
          port: spec.port,
          podName,
          workload: spec.deployment,
          namespace: spec.namespace,
          app: spec.app,
          version: spec.version,
          principal: identity.principal,
          labels: spec.labels,
          ...(played ? { clusterIp: played.ip } : {}),
        },
        ...(opa ? { opa } : {}),
      });
      if (played) this.istiodConnection().connect(played, 'sidecar');
    }
    if (this.ads) await this.waitSynced(created.map((s) => `${s.identity.podName}.${s.identity.namespace}`));
    // Configured once every new pod is known: a snapshot taken earlier would lack the endpoints of pods created after
    // it, and a proxy keeps a cluster's endpoints for the rest of that config version.
    const fromIstiod = created.length > 0 ? await this.istiodConfigs(compiled) : undefined;
    for (const sidecar of created) {
      this.configureProxy(sidecar, compiled, fromIstiod);
      await sidecar.start();
    }
    // Old pods stop after the new config (without them) has been pushed, like a rolling update.
    if (stopping.length > 0)
      setTimeout(() => void Promise.all(stopping.flatMap((p) => (p.opa ? [p.sidecar.close(), p.opa.stop()] : [p.sidecar.close()]))), 50).unref();
  }

  private snapshot(compiled: CompiledConfig): MeshSnapshot {
    return {
      version: String(compiled.version),
      virtualServices: compiled.virtualServices,
      destinationRules: compiled.destinationRules,
      services: compiled.services,
      gateways: compiled.gateways,
      endpoints: [...this.pods.values()].map((p) => p.endpoint),
      resolveExternal: (host) => this.standIns.get(host)?.ip,
    };
  }

  private filterChainsOf(podName: string): FilterChainStates {
    let c = this.filterChains.get(podName);
    if (!c) {
      c = new FilterChainStates();
      this.filterChains.set(podName, c);
    }
    return c;
  }

  /** The built-in control plane's input for a config version and the pods now running (recomputed when either changes). */
  private translationInput(compiled: CompiledConfig, snapshot: MeshSnapshot): TranslationInput {
    if (this.lastInput?.compiled !== compiled || this.lastInput.generation !== this.podGeneration) {
      const input = translationInputOf({
        behaviour: this.behaviour,
        virtualServices: compiled.virtualServices,
        destinationRules: compiled.destinationRuleList,
        gateways: compiled.gateways,
        services: compiled.services.values(),
        endpoints: snapshot.endpoints,
        // The keys istiod fetched for a jwksUri, inline, as istiod writes them into the jwt_authn provider.
        securityObjects: compiled.securityObjects.map((o) => (o.kind === 'RequestAuthentication' ? this.withFetchedJwks(o) : o)),
        outboundTrafficPolicy: compiled.meshConfig.outboundTrafficPolicy,
        extensionProviders: compiled.meshConfig.extensionProviders,
        telemetries: compiled.telemetries,
        // The ConfigMap as an installation writes it: prometheus unless the mesh config names its own defaultProviders.
        defaultMetricsProviders: compiled.meshConfig.defaultMetricsProviders ?? [...INSTALLED_METRICS_PROVIDERS],
      });
      this.lastInput = { compiled, generation: this.podGeneration, input };
    }
    return this.lastInput.input;
  }

  /** Under `--control-plane istiod`: every proxy's routes and clusters from istiod for this config and the pods now running. */
  private async istiodConfigs(compiled: CompiledConfig): Promise<Map<string, IstiodProxyConfig> | undefined> {
    if (!this.istiod) return undefined;
    const input = this.translationInput(compiled, this.snapshot(compiled));
    const proxies = [
      proxyDescriptorOf(this.gateway.identity, 'router'),
      ...[...this.pods.values()].map((p) => proxyDescriptorOf(p.sidecar.identity, 'sidecar')),
    ];
    // istiod gets the keys it would have fetched inline: it must not fetch anything itself.
    const objects = this.store.list().map((o) => (o.kind === 'RequestAuthentication' ? this.withFetchedJwks(o) : o));
    return this.istiod.translate(input, objects, proxies, installedMeshYaml(compiled.meshConfig));
  }

  /** A RequestAuthentication whose http(s) jwksUris are replaced by what their fetch gave (BuildLocalJwks inlines the same). */
  private withFetchedJwks(ra: K8sObject): K8sObject {
    const remote = remoteJwksRules(ra);
    if (remote.length === 0) return ra;
    const copy = structuredClone(ra);
    const rules = (copy.spec as { jwtRules: Record<string, unknown>[] }).jwtRules;
    for (const rule of rules) {
      const fetched = remote.find((r) => r.issuer === rule.issuer && r.uri === rule.jwksUri);
      if (!fetched) continue;
      delete rule.jwksUri;
      // istiod validates an inline jwks (never what it fetched): a fetched document without a usable key goes as an
      // empty key set, which leaves Envoy's jwt_authn without keys for the issuer exactly as that document would.
      const text = this.store.jwks.lookup(fetched.issuer, fetched.uri);
      rule.jwks = text === undefined ? publicOnlyJwks() : hasUsableKey(text) ? text : '{"keys":[]}';
    }
    return copy;
  }

  /** A proxy of the mesh playing a cluster ACKed istiod's response: it runs the new configuration from now on. */
  private onAdsUpdate(key: string): void {
    if (this.closed) return;
    // The gateway is set in start(); an ADS update can come before.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    const proxy = [this.gateway, ...[...this.pods.values()].map((p) => p.sidecar)].find((p) => p && `${p.identity.podName}.${p.identity.namespace}` === key);
    // A pod still starting is configured by reconcilePods once all of its types arrived.
    if (!proxy || proxy.configVersion === '') return;
    try {
      this.configureProxy(proxy, this.store.current);
    } catch (error) {
      meshLogError(proxy.name, `refused istiod's configuration`, error);
    }
  }

  /** The proxy's configuration (listeners, routes, clusters, endpoints): from istiod when it is the control plane, else built in. */
  private configureProxy(proxy: Sidecar | IngressGateway, compiled: CompiledConfig, fromIstiod?: Map<string, IstiodProxyConfig>): void {
    let snap = this.snapshot(compiled);
    const id = proxy.identity;
    const descriptor = proxyDescriptorOf(id, proxy instanceof IngressGateway ? 'router' : 'sidecar');
    let xds: RouterConfig;
    // The proxy's listeners, whose HTTP filters it runs (and whose outbound TCP chains it proxies by).
    let listeners: IstiodProxyConfig['listeners'];
    if (this.ads) {
      const config = this.ads.config(`${descriptor.podName}.${descriptor.namespace}`);
      if (!config) throw new Error(`no configuration from the cluster's istiod for ${descriptor.podName}`);
      xds = config;
      listeners = config.listeners;
      // Each xDS update is a configuration of its own: the routers re-read clusters and endpoints per version.
      snap = { ...snap, version: `${compiled.version}.${config.updates}` };
    } else if (this.istiod) {
      const config = fromIstiod?.get(`${descriptor.podName}.${descriptor.namespace}`);
      if (!config) throw new Error(`no configuration from istiod for ${descriptor.podName}`);
      xds = config;
      listeners = config.listeners;
    } else {
      const input = this.translationInput(compiled, snap);
      xds = { routes: buildRoutes(input, descriptor), clusters: buildClusters(input, descriptor), endpoints: buildEndpoints(input, descriptor) };
      // The built-in listeners, run as istiod's are: the sidecar's virtualInbound and outbound listeners, the gateway's.
      listeners = buildListeners(input, descriptor);
    }
    // Telemetry reaches istio_requests_total through the listeners' istio.stats filters, whichever control plane wrote them.
    proxy.stats.requestMetrics = requestMetricsOfListeners(listeners);
    const deps = {
      behaviour: this.behaviour,
      seed: this.seed,
      stats: proxy.stats,
      chains: this.filterChainsOf(id.podName),
      extAuthz: this.extAuthz(compiled),
      listeners,
    };
    if (proxy instanceof IngressGateway) {
      proxy.configure(
        snap,
        xds,
        buildPolicy(
          compiled.security,
          {
            namespace: id.namespace,
            labels: id.labels,
            context: 'GATEWAY',
            port: gatewayPort,
            hcmStatPrefix: `outbound_0.0.0.0_${gatewayPort}`,
            address: id.ip,
            principal: id.principal,
          },
          deps,
        ),
      );
    } else {
      const port = this.podPort(id.podName) ?? 9080;
      proxy.configure(
        snap,
        xds,
        buildPolicy(
          compiled.security,
          {
            namespace: id.namespace,
            labels: id.labels,
            context: 'SIDECAR_INBOUND',
            port,
            hcmStatPrefix: inboundHcmStatPrefix(port),
            address: id.ip,
            principal: id.principal,
          },
          deps,
        ),
        buildPolicy(
          compiled.security,
          { namespace: id.namespace, labels: id.labels, context: 'SIDECAR_OUTBOUND', port, hcmStatPrefix: `outbound_0.0.0.0_${port}` },
          deps,
        ),
        listeners,
      );
    }
  }

  private readonly extAuthzClients = new Map<string, ExtAuthzClient>();
  private extAuthzTurn = 0;

  /** The mesh's ext_authz services: a Check call to the cluster an ext_authz filter names, as Envoy makes it. */
  private extAuthz(compiled: CompiledConfig): ExtAuthzRuntime {
    return {
      checkCluster: (cluster, timeoutMs, request) => {
        // outbound|<port>|<subset>|<host> (model.BuildSubsetKey), the cluster istiod's ext_authz filter names.
        const [, port, host] = /^outbound\|(\d+)\|[^|]*\|(.+)$/.exec(cluster) ?? [];
        const service = host !== undefined ? compiled.services.get(host) : undefined;
        if (!service) return Promise.resolve({ kind: 'error', reason: `no cluster ${cluster}` });
        return this.extAuthzCheck(compiled, service, Number(port), timeoutMs, request);
      },
    };
  }

  /** One Check call to an endpoint of `service`'s `port`, round robin, like its outbound cluster. */
  private extAuthzCheck(compiled: CompiledConfig, service: ServiceInfo, port: number, timeoutMs: number, request: ExtAuthzRequest): Promise<ExtAuthzOutcome> {
    const target = compiled.grpcPorts.get(service.fqdn)?.get(port);
    const endpoints = [...this.pods.values()].filter((pod) => selectsPod(service, pod.spec));
    if (endpoints.length === 0) return Promise.resolve({ kind: 'error', reason: `no healthy upstream for outbound|${port}||${service.fqdn}` });
    const pod = must(endpoints[this.extAuthzTurn++ % endpoints.length], `an endpoint of ${service.fqdn}`);
    if (target === undefined || !pod.opa?.grpcAddress || pod.spec.opa?.grpcPort !== target) {
      return Promise.resolve({ kind: 'error', reason: `port ${port} of ${service.fqdn} is not a gRPC ext_authz service (pod ${pod.endpoint.podName})` });
    }
    const address = pod.opa.grpcAddress;
    let client = this.extAuthzClients.get(address);
    if (!client) {
      client = new ExtAuthzClient(address);
      this.extAuthzClients.set(address, client);
    }
    return client.check(request, timeoutMs);
  }

  private podPort(podName: string): number | undefined {
    return this.pods.get(podName)?.spec.port;
  }

  /**
   * Push to every proxy asynchronously, one at a time, like xDS; each reports its version when it has it. Under istiod
   * the configurations are generated first; a generation that fails leaves every proxy on its former version (the
   * mesh's log says why, and convergence waits for a version that does not come).
   */
  private push(compiled: CompiledConfig): void {
    const proxies: (Sidecar | IngressGateway)[] = [this.gateway, ...[...this.pods.values()].map((p) => p.sidecar)];
    this.pushing = this.pushing.then(async () => {
      if (this.closed || compiled.version < this.store.current.version) return;
      let fromIstiod: Map<string, IstiodProxyConfig> | undefined;
      try {
        fromIstiod = await this.istiodConfigs(compiled);
      } catch (error) {
        meshLogError('istiod', `config version ${compiled.version}`, error);
        return;
      }
      for (const proxy of proxies) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may run during the awaits below
        if (this.closed) return;
        await new Promise((r) => setImmediate(r));
        if (compiled.version < this.store.current.version) return; // a newer push follows
        if (this.ads && proxy.configVersion === '') continue; // still starting: configured once istiod's answer is whole
        try {
          this.configureProxy(proxy, compiled, fromIstiod);
        } catch (error) {
          // As a proxy that NACKs: it keeps its former configuration (convergence waits in vain and says which proxy),
          // and the other proxies and later pushes go on.
          meshLogError(proxy.name, `refused config version ${compiled.version}`, error);
        }
      }
    });
  }

  status(): MeshStatus {
    const proxyInfo = (p: Sidecar | IngressGateway, kind: 'sidecar' | 'gateway'): ProxyInfo => ({
      name: p.name,
      podName: p.identity.podName,
      namespace: p.identity.namespace,
      ...(this.clusterIps.has(p.identity.podName) ? { clusterIp: this.clusterIps.get(p.identity.podName) } : {}),
      kind,
      ip: p.identity.ip,
      adminUrl: `http://${p.identity.ip}:15000`,
      statsUrl: `http://${p.identity.ip}:15090/stats/prometheus`,
      configVersion: p.configVersion,
    });
    return {
      version: this.version,
      gatewayUrl: this.gatewayUrl,
      proxies: [proxyInfo(this.gateway, 'gateway'), ...[...this.pods.values()].map((p) => proxyInfo(p.sidecar, 'sidecar'))],
      workloads: [...this.pods.values()].map((p) => ({
        deployment: p.spec.deployment,
        podName: p.endpoint.podName,
        ip: p.endpoint.ip,
        url: `http://${p.endpoint.ip}:${p.spec.port}`,
      })),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ads?.close();
    for (const client of this.extAuthzClients.values()) client.close();
    await Promise.all([
      // The gateway is set in start(), which may have failed before it.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      this.gateway?.close(),
      ...[...this.pods.values()].flatMap((p) => [p.sidecar.close(), p.opa?.stop()]),
      this.istiod?.close(),
      ...[...this.standIns.values()].map((s) => s.close()),
    ]);
    this.standIns.clear();
    this.pods.clear();
  }
}
