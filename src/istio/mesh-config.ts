// The part of Istio's MeshConfig the local target reads: the `mesh` key of the `istio` ConfigMap in istio-system (what
// istiod watches), and of it only extensionProviders of the external-authorization kinds, which CUSTOM
// AuthorizationPolicies name. Fields follow istio/api mesh/v1alpha1/config.proto
// (MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationGrpcProvider); what istiod does with them follows
// pilot/pkg/security/authz/builder/extauthz.go (processExtensionProvider, buildExtAuthzGRPC, timeoutOrDefault,
// parseStatusOnError, validateProviderName).
import { parse as parseYaml } from 'yaml';
import type { K8sObject } from '../spec/types.ts';
import { FieldPath, isObj, readBoolean, readDuration, readNumber, readObject, readString } from './networking/fields.ts';
import { valueText } from '../spec/untyped.ts';

export const MESH_CONFIG_MAP = { namespace: 'istio-system', name: 'istio' } as const;

export interface ExtAuthzGrpcProvider {
  name: string;
  kind: 'envoyExtAuthzGrpc';
  /** As written: a FQDN (`opa.researchflow.svc.cluster.local`) or `<namespace>/<host>`. */
  service: string;
  port: number;
  /** extauthz.go timeoutOrDefault: 600 s when unset. */
  timeoutMs: number;
  /** ExtAuthz.failure_mode_allow. */
  failOpen: boolean;
  /** ExtAuthz.status_on_error; Envoy answers 403 when it is unset. */
  statusOnError?: number;
}

export interface MeshConfig {
  /** The `mesh` YAML as written, for istiod (--control-plane istiod); undefined for the defaults. */
  yaml?: string;
  /** Providers by name; a provider istiod would find errors in carries them (`invalid`), as processExtensionProvider does. */
  extensionProviders: Map<string, ExtAuthzGrpcProvider | { name: string; invalid: string }>;
  /** outboundTrafficPolicy.mode; absent: ALLOW_ANY. */
  outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** defaultProviders.metrics as written; absent when the mesh config sets no defaultProviders. */
  defaultMetricsProviders?: string[];
}

/**
 * The metrics providers an installation's mesh config names when it sets no defaultProviders: istioctl and Helm
 * write `defaultProviders.metrics: [prometheus]` into the istio ConfigMap (manifests/charts/istio-control/
 * istio-discovery/templates/configmap.yaml, telemetry.v2.prometheus.enabled by default). istiod's own default
 * (mesh.go DefaultMeshConfig) names none, and then writes no istio.stats filter (telemetry.go mergeMetrics).
 */
export const INSTALLED_METRICS_PROVIDERS: readonly string[] = ['prometheus'];

/** The mesh YAML istiod reads in an installation: the one written, with the installer's defaultProviders when it sets none. */
export function installedMeshYaml(mesh: MeshConfig): string {
  if (mesh.defaultMetricsProviders !== undefined || (mesh.yaml !== undefined && /^defaultProviders\s*:/m.test(mesh.yaml))) return mesh.yaml ?? '';
  const installed = `defaultProviders:\n  metrics:\n${INSTALLED_METRICS_PROVIDERS.map((p) => `  - ${p}\n`).join('')}`;
  return mesh.yaml === undefined ? installed : `${installed}${mesh.yaml}`;
}

export const emptyMeshConfig: MeshConfig = { extensionProviders: new Map() };

/** MeshConfig fields that change nothing the local mesh can observe: access logs, tracing, Prometheus scraping. */
const inertMeshFields = ['accessLogFile', 'accessLogEncoding', 'accessLogFormat', 'enableTracing', 'enablePrometheusMerge'];

/** MeshConfig fields that change behaviour and that the local mesh does not take from the ConfigMap, with why. */
const refusedMeshFields: Record<string, string> = {
  trustDomain: "the local mesh's identities are in cluster.local; another trust domain changes every principal",
  rootNamespace: 'mesh-wide policies live in istio-system here',
  discoverySelectors: 'every namespace of the scenario is in the mesh here',
  defaultConfig: "proxy settings come from each pod's proxy.istio.io/config annotation here",
};

/** HTTP statuses Envoy's StatusCode enum has (envoy/type/v3/http_status.proto), which parseStatusOnError requires. */
const envoyStatusCodes = new Set([
  100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411,
  412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

export function isMeshConfigMap(o: K8sObject): boolean {
  return o.kind === 'ConfigMap' && o.metadata.name === MESH_CONFIG_MAP.name && (o.metadata.namespace ?? 'default') === MESH_CONFIG_MAP.namespace;
}

/** The mesh config of the `istio` ConfigMap; refuses, by field, what the local target does not run. */
export function parseMeshConfig(configMap: K8sObject): MeshConfig {
  const at = FieldPath.of('ConfigMap', `${MESH_CONFIG_MAP.namespace}/${MESH_CONFIG_MAP.name}`);
  const data = readObject((configMap as { data?: unknown }).data ?? {}, at.key('data'), ['mesh', 'meshNetworks']);
  if (data.mesh === undefined) return emptyMeshConfig;
  const meshAt = at.key('data.mesh');
  let mesh: unknown;
  try {
    mesh = parseYaml(readString(data.mesh, meshAt));
  } catch (error) {
    throw meshAt.error(`not valid YAML: ${(error as Error).message}`);
  }
  if (mesh === null || mesh === undefined) return emptyMeshConfig;
  const m = readObject(mesh, meshAt, ['extensionProviders', 'outboundTrafficPolicy', 'defaultProviders', ...inertMeshFields], refusedMeshFields);
  const defaultMetricsProviders =
    m.defaultProviders === undefined ? undefined : parseDefaultMetricsProviders(m.defaultProviders, meshAt.key('defaultProviders'));
  const outboundTrafficPolicy =
    m.outboundTrafficPolicy === undefined ? undefined : parseOutboundTrafficPolicy(m.outboundTrafficPolicy, meshAt.key('outboundTrafficPolicy'));
  const providers = new Map<string, ExtAuthzGrpcProvider | { name: string; invalid: string }>();
  if (m.extensionProviders !== undefined) {
    if (!Array.isArray(m.extensionProviders)) throw meshAt.key('extensionProviders').error('expected a list');
    m.extensionProviders.forEach((raw, i) => {
      const at = meshAt.key('extensionProviders').index(i);
      const p = parseProvider(raw, at);
      // pkg/config/mesh/mesh.go ApplyMeshConfig merges the providers by name: a later one replaces an earlier one of
      // the same name (a telemetry provider too, which leaves no authorization provider of that name).
      if (p === undefined)
        providers.delete((raw as { name: string }).name); // parseProvider has read the name
      else providers.set(p.name, p);
    });
  }
  return {
    yaml: data.mesh as string,
    extensionProviders: providers,
    ...(outboundTrafficPolicy ? { outboundTrafficPolicy } : {}),
    ...(defaultMetricsProviders ? { defaultMetricsProviders } : {}),
  };
}

/**
 * defaultProviders: `metrics` decides whether istiod writes the istio.stats filter (telemetry.go mergeMetrics: only
 * prometheus is emulated, the proxies' :15090 Istio metrics); `tracing` and `accessLogging` change no request here.
 */
function parseDefaultMetricsProviders(value: unknown, at: FieldPath): string[] {
  const o = readObject(value, at, ['metrics', 'tracing', 'accessLogging']);
  if (o.metrics === undefined) return [];
  if (!Array.isArray(o.metrics)) throw at.key('metrics').error('expected a list');
  return o.metrics.map((p, i) => {
    const name = readString(p, at.key('metrics').index(i));
    if (name !== 'prometheus')
      throw at
        .key('metrics')
        .index(i)
        .error(`only the prometheus metrics provider is emulated, found ${JSON.stringify(name)}`);
    return name;
  });
}

/**
 * MeshConfig.OutboundTrafficPolicy: ALLOW_ANY (the default) sends a host outside the registry to the
 * PassthroughCluster (which reaches nothing outside the local mesh), REGISTRY_ONLY to the BlackHoleCluster.
 */
function parseOutboundTrafficPolicy(value: unknown, at: FieldPath): 'ALLOW_ANY' | 'REGISTRY_ONLY' {
  const o = readObject(value, at, ['mode'], { egressProxy: 'an egress proxy for unknown hosts is not emulated' });
  const mode = o.mode === undefined ? 'ALLOW_ANY' : readString(o.mode, at.key('mode'));
  if (mode !== 'ALLOW_ANY' && mode !== 'REGISTRY_ONLY') throw at.key('mode').error(`${mode} is not emulated (supported here: ALLOW_ANY, REGISTRY_ONLY)`);
  return mode;
}

/** Provider kinds that are not external authorization (telemetry, tracing, access logs): no CUSTOM policy uses them. */
const nonAuthzProviders = [
  'prometheus',
  'stackdriver',
  'envoyFileAccessLog',
  'envoyHttpAls',
  'envoyTcpAls',
  'envoyOtelAls',
  'zipkin',
  'lightstep',
  'datadog',
  'opencensus',
  'skywalking',
  'opentelemetry',
  'sds',
];

function parseProvider(raw: unknown, at: FieldPath): ExtAuthzGrpcProvider | { name: string; invalid: string } | undefined {
  const o = readObject(raw, at, ['name', 'envoyExtAuthzGrpc', ...nonAuthzProviders], {
    envoyExtAuthzHttp: 'the HTTP ext_authz service is not run by the local target yet; envoyExtAuthzGrpc is',
  });
  const name = readString(o.name, at.key('name'));
  if (o.envoyExtAuthzGrpc === undefined) return undefined;
  const nameError = providerNameError(name);
  if (nameError) return { name, invalid: `invalid provider name ${JSON.stringify(name)}: ${nameError}` };
  const gat = at.key('envoyExtAuthzGrpc');
  const g = readObject(o.envoyExtAuthzGrpc, gat, ['service', 'port', 'timeout', 'failOpen', 'statusOnError'], {
    includeRequestBodyInCheck: 'the check request carries no body here',
    clearRouteCache: 'route re-selection after the check is not run',
  });
  const service = readString(g.service, gat.key('service'));
  const port = typeof g.port === 'string' && /^\d+$/.test(g.port) ? Number(g.port) : readNumber(g.port, gat.key('port'), { integer: true });
  if (port < 1 || port > 65535) return { name, invalid: `port must be in the range [1, 65535], found: ${port}` };
  const timeoutMs = g.timeout === undefined ? 600_000 : readDuration(g.timeout, gat.key('timeout'));
  const failOpen = g.failOpen === undefined ? false : readBoolean(g.failOpen, gat.key('failOpen'));
  let statusOnError: number | undefined;
  if (g.statusOnError !== undefined) {
    const text = isObj(g.statusOnError) ? '' : valueText(g.statusOnError);
    if (!/^\d+$/.test(text)) return { name, invalid: `invalid statusOnError ${JSON.stringify(g.statusOnError)}` };
    if (!envoyStatusCodes.has(Number(text))) return { name, invalid: `unsupported statusOnError ${text}` };
    statusOnError = Number(text);
  }
  return { name, kind: 'envoyExtAuthzGrpc', service, port, timeoutMs, failOpen, ...(statusOnError !== undefined ? { statusOnError } : {}) };
}

/** extauthz.go validateProviderName: a DNS-1123 label. */
function providerNameError(name: string): string | undefined {
  if (name.length === 0) return 'provider name cannot be empty';
  if (name.length > 63) return `provider name too long (max 63 characters): ${name.length}`;
  if (!/^[a-z0-9-]+$/.test(name)) return 'only lowercase letters, digits, and hyphens allowed';
  if (name.startsWith('-') || name.endsWith('-')) return 'provider name cannot start or end with hyphen';
  return undefined;
}
