// The mesh's configuration: every object applied (scenario baseline plus experiments), validated as a whole on
// each change, compiled into one immutable snapshot per version. A change that fails validation changes nothing.
import { SpecError } from '../../errors.ts';
import { resourceId } from '../../spec/resources.ts';
import type { K8sObject } from '../../spec/types.ts';
import { field, valueText } from '../../spec/untyped.ts';
import { parseDestinationRule } from '../../istio/networking/destination-rule.ts';
import { DestinationRuleIndex } from '../../istio/networking/destination-rule-index.ts';
import { parseGateway } from '../../istio/networking/gateway.ts';
import type { DestinationRuleModel, GatewayModel, VirtualServiceModel } from '../../istio/networking/model.ts';
import { fqdn } from '../../istio/networking/routing.ts';
import { parseVirtualService } from '../../istio/networking/virtual-service.ts';
import type { ServiceInfo } from './proxy/config-view.ts';
import { compileSecurity, type SecurityConfig } from './security.ts';
import { checkInjected, checkInterception, checkNamespace } from './sidecar-injection.ts';
import { emptyMeshConfig, isMeshConfigMap, parseMeshConfig, type MeshConfig } from '../../istio/mesh-config.ts';
import { FieldPath } from '../../istio/networking/fields.ts';
import { configMapData, mountedFiles, resolveGrpcPort } from './opa/workload.ts';
import {
  checkGrpcPorts,
  checkServiceAccount,
  parseDeployment,
  parseService,
  resolveEchoPorts,
  resolveTargetPorts,
  type ServiceSpec,
  type WorkloadSpec,
} from './topology.ts';
import { checkEchoCalls } from './echo-calls.ts';
import { parseServiceEntry, type ServiceEntryModel } from '../../istio/networking/service-entry.ts';
import { EXTERNAL_HOST_API_VERSION, parseExternalHost, type ExternalHostSpec } from './external-host.ts';
import { must } from '../../must.ts';
import { JwksCache } from '../../istio/security/jwks-resolver.ts';
import { remoteJwksRules } from '../../istio/security/request-authentication.ts';
import { resourceName } from '../../istio/selector.ts';
import { TELEMETRY_API_VERSIONS, parseTelemetry, type TelemetryModel } from '../../istio/telemetry/telemetry.ts';

const apiVersions: Record<string, string[]> = {
  Namespace: ['v1'],
  ConfigMap: ['v1'],
  Deployment: ['apps/v1'],
  Service: ['v1'],
  ServiceAccount: ['v1'],
  VirtualService: ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'],
  DestinationRule: ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'],
  Gateway: ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'],
  EnvoyFilter: ['networking.istio.io/v1alpha3'],
  AuthorizationPolicy: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  PeerAuthentication: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  RequestAuthentication: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  ServiceEntry: ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'],
  ExternalHost: [EXTERNAL_HOST_API_VERSION],
  Telemetry: TELEMETRY_API_VERSIONS,
};

export const supportedKinds = Object.keys(apiVersions);
/** The namespaces every local mesh has: the workloads' default and Istio's own (the ingress gateway, mesh-wide policy). */
const builtInNamespaces = ['default', 'istio-system'];
const epoch = Date.UTC(2025, 0, 1);

interface Entry {
  object: K8sObject;
  createdAt: number;
}

export interface CompiledConfig {
  version: number;
  virtualServices: VirtualServiceModel[];
  destinationRules: DestinationRuleIndex;
  /** The same rules in creation order, as the control plane's input. */
  destinationRuleList: DestinationRuleModel[];
  gateways: GatewayModel[];
  services: Map<string, ServiceInfo>;
  workloads: WorkloadSpec[];
  security: SecurityConfig;
  /** The policy objects security was compiled from. */
  securityObjects: K8sObject[];
  /** The `istio` ConfigMap's mesh config (extension providers). */
  meshConfig: MeshConfig;
  /** Per Service FQDN, its gRPC ports (an OPA pod's ext_authz service): port → the pods' port. */
  grpcPorts: Map<string, Map<number, number>>;
  /** The external hosts the scenario gives a local stand-in (ExternalHost objects), by host. */
  externalHosts: Map<string, ExternalHostSpec>;
  /** Telemetry objects (their metrics part), oldest first. */
  telemetries: TelemetryModel[];
}

/** An object as the user wrote it (nothing has checked it yet): kind, apiVersion, name and namespace. */
function checkEnvelope(o: unknown, namespaces: ReadonlySet<string> | 'any'): void {
  const where = `${valueText(field(o, 'kind') ?? 'object')} ${valueText(field(o, 'metadata', 'name') ?? '(unnamed)')}`;
  if (typeof o !== 'object' || o === null) throw new SpecError('expected a Kubernetes object', undefined, where);
  const kind = field(o, 'kind');
  if (typeof kind !== 'string') throw new SpecError('kind is required', undefined, `${where}: kind`);
  const versions = apiVersions[kind];
  if (!versions)
    throw new SpecError(`kind ${kind} is not supported by the local target (supported: ${supportedKinds.join(', ')})`, undefined, `${where}: kind`);
  const apiVersion = field(o, 'apiVersion');
  if (typeof apiVersion !== 'string' || !versions.includes(apiVersion))
    throw new SpecError(`apiVersion ${valueText(apiVersion)} is not one of ${versions.join(', ')}`, undefined, `${where}: apiVersion`);
  const name = field(o, 'metadata', 'name');
  if (typeof name !== 'string' || name === '') throw new SpecError('metadata.name is required', undefined, `${where}: metadata.name`);
  const namespace = field(o, 'metadata', 'namespace');
  if (kind === 'Namespace') {
    if (namespace !== undefined) throw new SpecError('a Namespace has no namespace', undefined, `${where}: metadata.namespace`);
    if (namespaces !== 'any' && !namespaces.has(name))
      throw new SpecError(
        `namespace ${name} is not part of the scenario (the local mesh has ${[...namespaces].join(', ')}); declare it in the scenario's folder`,
        undefined,
        `${where}: metadata.name`,
      );
    return;
  }
  const ns = namespace ?? 'default';
  if (typeof ns !== 'string' || (namespaces !== 'any' && !namespaces.has(ns))) {
    throw new SpecError(
      `namespace ${valueText(ns)} is not emulated (the local mesh has ${namespaces === 'any' ? 'any' : [...namespaces].join(', ')}: the built-in ones and those the scenario declares)`,
      undefined,
      `${where}: metadata.namespace`,
    );
  }
}

/** The namespaces of a baseline: the built-in ones, its Namespace objects and every namespace its objects name. */
function baselineNamespaces(objects: readonly unknown[]): Set<string> {
  const out = new Set(builtInNamespaces);
  for (const o of objects) {
    const name = field(o, 'metadata', 'name');
    const namespace = field(o, 'metadata', 'namespace');
    if (field(o, 'kind') === 'Namespace' && typeof name === 'string') out.add(name);
    else if (typeof namespace === 'string') out.add(namespace);
  }
  return out;
}

export class ConfigStore {
  private entries = new Map<string, Entry>();
  private clock = 0;
  private version = 0;
  private namespaces: ReadonlySet<string> = new Set(builtInNamespaces);
  /**
   * Objects of any namespace are taken: set for a mesh that plays a cluster's pods, whose API server has already
   * checked that the namespace exists (a namespace made after the mesh started, as --deploy-echo makes one).
   */
  private readonly anyNamespace: boolean;
  current!: CompiledConfig;

  constructor(options: { anyNamespace?: boolean } = {}) {
    this.anyNamespace = options.anyNamespace ?? false;
  }
  /** istiod's fetches of http(s) jwksUris, kept across versions as istiod's resolver keeps them. */
  readonly jwks = new JwksCache();

  /** Load the baseline (version 1); its namespaces are the mesh's from then on. */
  init(objects: K8sObject[]): CompiledConfig {
    this.namespaces = baselineNamespaces(objects);
    return this.change(objects, []);
  }

  get(kind: string, namespace: string, name: string): K8sObject | undefined {
    return this.entries.get(resourceId({ kind, metadata: { name, namespace } }))?.object;
  }

  list(): K8sObject[] {
    return [...this.entries.values()].map((e) => e.object);
  }

  /** Create or replace `upserts` and delete `deletes` (keys), atomically; throws SpecError and changes nothing on bad input. */
  change(upserts: K8sObject[], deletes: string[]): CompiledConfig {
    const next = new Map(this.entries);
    for (const key of deletes) next.delete(key);
    for (const object of upserts) {
      checkEnvelope(object, this.anyNamespace ? 'any' : this.namespaces);
      const copy = structuredClone(object);
      const key = resourceId(copy);
      const existing = next.get(key);
      const createdAt = existing?.createdAt ?? ++this.clock;
      // Policies resolve conflicts by age (oldest wins), as the API server's creationTimestamp orders them.
      if (copy.metadata.creationTimestamp === undefined) copy.metadata.creationTimestamp = new Date(epoch + createdAt * 1000).toISOString();
      next.set(key, { object: copy, createdAt });
    }
    const compiled = compile(next, this.version + 1);
    this.entries = next;
    this.version = compiled.version;
    this.current = compiled;
    return compiled;
  }
}

function compile(entries: Map<string, Entry>, version: number): CompiledConfig {
  const virtualServices: VirtualServiceModel[] = [];
  const destinationRules: DestinationRuleModel[] = [];
  const gateways: GatewayModel[] = [];
  const services = new Map<string, ServiceInfo>();
  const workloads: WorkloadSpec[] = [];
  const securityObjects: K8sObject[] = [];
  const namespaceObjects = new Map<string, K8sObject>();
  const serviceSpecs: ServiceSpec[] = [];
  let meshConfig = emptyMeshConfig;
  const configMaps = new Map<string, Record<string, string>>();
  const serviceEntries: ServiceEntryModel[] = [];
  const externalHosts = new Map<string, ExternalHostSpec>();
  const telemetries: TelemetryModel[] = [];
  const sorted = [...entries.values()].sort((a, b) => a.createdAt - b.createdAt);
  for (const { object, createdAt } of sorted) {
    switch (object.kind) {
      case 'VirtualService':
        virtualServices.push(parseVirtualService(object, createdAt));
        break;
      case 'DestinationRule':
        destinationRules.push(parseDestinationRule(object, createdAt));
        break;
      case 'Gateway':
        gateways.push(parseGateway(object));
        break;
      case 'Service':
        serviceSpecs.push(parseService(object));
        break;
      case 'Deployment':
        workloads.push(parseDeployment(object));
        break;
      case 'ServiceAccount':
        checkServiceAccount(object);
        break;
      case 'Namespace':
        checkNamespace(object);
        namespaceObjects.set(object.metadata.name, object);
        break;
      case 'ServiceEntry':
        serviceEntries.push(parseServiceEntry(object));
        break;
      case 'Telemetry':
        telemetries.push(parseTelemetry(object));
        break;
      case 'ExternalHost': {
        const spec = parseExternalHost(object);
        if (externalHosts.has(spec.host))
          throw new SpecError(`the stand-in of ${spec.host} is declared twice`, undefined, `ExternalHost ${object.metadata.name}: metadata.name`);
        externalHosts.set(spec.host, spec);
        break;
      }
      case 'ConfigMap':
        if (isMeshConfigMap(object)) meshConfig = parseMeshConfig(object);
        else configMaps.set(`${object.metadata.namespace ?? 'default'}/${object.metadata.name}`, configMapData(object));
        break;
      default:
        securityObjects.push(object);
    }
  }
  for (const vs of virtualServices) {
    vs.http.forEach((rule, i) =>
      rule.route.forEach((d, j) => {
        if (d.host.includes('*')) {
          throw new SpecError('a destination host cannot be a wildcard', undefined, `VirtualService ${vs.name}: spec.http[${i}].route[${j}].destination.host`);
        }
      }),
    );
  }
  for (const w of workloads) checkInjected(w, namespaceObjects.get(w.namespace));
  resolveEchoPorts(workloads, serviceSpecs);
  for (const w of workloads) {
    if (!w.opa) continue;
    const files = mountedFiles(w.opa, (name) => configMaps.get(`${w.namespace}/${name}`));
    const grpcPort = resolveGrpcPort(w.opa, files, FieldPath.of('Deployment', w.deployment).key('spec.template.spec.containers[0].args'));
    w.opa = { ...w.opa, files: Object.fromEntries(files), ...(grpcPort !== undefined ? { grpcPort } : {}) };
  }
  const grpcPorts = new Map<string, Map<number, number>>();
  for (const s of serviceSpecs) {
    checkGrpcPorts(s, workloads);
    if (s.grpcPorts)
      grpcPorts.set(fqdn(s.name, s.namespace), new Map(s.grpcPorts.map((g) => [g.port, typeof g.targetPort === 'number' ? g.targetPort : 9191])));
  }
  for (const s of serviceSpecs) {
    const name = fqdn(s.name, s.namespace);
    const targetPorts = resolveTargetPorts(s, workloads);
    const portNames = Object.fromEntries(s.ports.map((port, i) => [port, must(s.portNames[i], `the name of port ${port} of service ${name}`)]));
    services.set(name, {
      name: s.name,
      namespace: s.namespace,
      fqdn: name,
      ports: s.ports,
      selector: s.selector,
      portNames,
      ...(targetPorts ? { targetPorts } : {}),
    });
  }
  for (const entry of serviceEntries) addServiceEntry(services, entry);
  for (const w of workloads) {
    checkEchoCalls(w, services, externalHosts);
    checkInterception(w);
  }
  const security = compileSecurity(securityObjects);
  for (const ra of security.requestAuthentications) checkJwksHosts(ra, externalHosts);
  return {
    version,
    virtualServices,
    destinationRules: new DestinationRuleIndex(destinationRules),
    destinationRuleList: destinationRules,
    gateways,
    services,
    workloads,
    security,
    securityObjects,
    meshConfig,
    grpcPorts,
    externalHosts,
    telemetries,
  };
}

/**
 * istiod fetches an http(s) jwksUri from its own network; nothing leaves loopback here, so its host must have a local
 * stand-in (an ExternalHost), which the local mesh fetches it from.
 */
function checkJwksHosts(ra: K8sObject, externalHosts: ReadonlyMap<string, ExternalHostSpec>): void {
  for (const rule of remoteJwksRules(ra)) {
    const host = new URL(rule.uri).hostname.toLowerCase();
    if (externalHosts.has(host)) continue;
    const where =
      host.endsWith('.svc.cluster.local') || host.endsWith('.svc') || !host.includes('.')
        ? 'a mesh Service (istiod would call it without a sidecar; not emulated)'
        : 'outside the mesh';
    throw new SpecError(
      `istiod fetches this JWKS itself; ${host} is ${where} and has no local stand-in: declare an ExternalHost ${host} serving it (docs/scenarios.md), or give the keys inline in jwks`,
      undefined,
      `${resourceName(ra)}: ${rule.path}`,
    );
  }
}

/** A ServiceEntry's hosts into the registry, one service per host (serviceentry/conversion.go convertServices). */
function addServiceEntry(services: Map<string, ServiceInfo>, entry: ServiceEntryModel): void {
  entry.hosts.forEach((host, i) => {
    const taken = services.get(host);
    if (taken) {
      const by = taken.external ? `ServiceEntry ${taken.external.entry}` : `Service ${taken.namespace}/${taken.name}`;
      throw new SpecError(
        `host ${host} is already in the registry (${by}); the local target does not merge entries for one host`,
        undefined,
        `ServiceEntry ${entry.name}: spec.hosts[${i}]`,
      );
    }
    services.set(host, {
      name: host,
      namespace: entry.namespace,
      fqdn: host,
      ports: entry.ports.map((p) => p.number),
      selector: {},
      portNames: Object.fromEntries(entry.ports.map((p) => [p.number, p.name])),
      external: {
        entry: `${entry.namespace}/${entry.name}`,
        resolution: entry.resolution,
        protocols: Object.fromEntries(entry.ports.map((p) => [p.number, p.protocol])),
        ...(entry.exportTo ? { exportTo: entry.exportTo } : {}),
      },
    });
  });
}
