// Telemetry (telemetry.istio.io v1alpha1, v1): the metrics part, as istiod merges it per proxy and Envoy's istio_stats
// filter applies it to Istio's standard metrics.
//
// - Which Telemetries a proxy takes (pilot/pkg/model/telemetry.go applicableTelemetries): the oldest selector-less one
//   of the root namespace, then the oldest selector-less one of the proxy's namespace, then every one of the proxy's
//   namespace whose selector matches its labels, in creation order; later ones override earlier ones. One with
//   targetRef(s) attaches to Gateway API gateways and waypoints only (model/policyattachment.go ShouldAttachPolicy:
//   "if targetRef is specified, ignore the policy altogether"), of which the local mesh has none.
// - Merging (telemetry.go mergeMetrics): providers left empty inherit the parent's (the default, prometheus);
//   per mode (CLIENT: outbound and gateways, SERVER: inbound) and metric, `disabled` and each tag override replace
//   earlier ones; ALL_METRICS disabled removes the stats filter of that mode altogether (no Istio metric at all) until
//   a later override of that mode brings it back.
// - istio_stats (istio/proxy istio_stats.cc Config::Config, MetricOverrides::overrideTags): a dropped metric is not
//   counted; REMOVE drops a standard tag (a non-standard one is ignored); UPSERT replaces a standard tag's value in
//   place or appends a new tag (in name order); an expression CEL cannot parse drops a standard tag and adds no new one.
// accessLogging and tracing are refused (the local proxies write no access log and no span).
import type { StatsMetricConfig, StatsPluginConfig } from '../../envoy/model/index.ts';
import type { K8sObject, SourcePos } from '../../spec/types.ts';
import { FieldReader } from '../fields.ts';
import { ROOT_NAMESPACE, labelsMatch, objectNamespace, readSelector, resourceName, type WorkloadRef } from '../selector.ts';
import { compileExpression, type RequestAttributes } from './expression.ts';

export const TELEMETRY_API_VERSIONS = ['telemetry.istio.io/v1', 'telemetry.istio.io/v1alpha1'];

/** telemetry/v1alpha1 MetricSelector.IstioMetric, and the Prometheus name istio_stats gives each (telemetry.go metricToPrometheusMetric). */
const STANDARD_METRICS: Record<string, string> = {
  REQUEST_COUNT: 'requests_total',
  REQUEST_DURATION: 'request_duration_milliseconds',
  REQUEST_SIZE: 'request_bytes',
  RESPONSE_SIZE: 'response_bytes',
  TCP_OPENED_CONNECTIONS: 'tcp_connections_opened_total',
  TCP_CLOSED_CONNECTIONS: 'tcp_connections_closed_total',
  TCP_SENT_BYTES: 'tcp_sent_bytes_total',
  TCP_RECEIVED_BYTES: 'tcp_received_bytes_total',
  GRPC_REQUEST_MESSAGES: 'request_messages_total',
  GRPC_RESPONSE_MESSAGES: 'response_messages_total',
};
const REQUESTS_TOTAL = 'requests_total';
const MODES = ['CLIENT_AND_SERVER', 'CLIENT', 'SERVER'] as const;
type Mode = 'CLIENT' | 'SERVER';

/** istio_requests_total's standard labels in the order the local proxies write them (istio_stats.cc Context::all_tags_). */
export const istioRequestLabelNames = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
  'source_canonical_service',
  'destination_canonical_service',
  'source_canonical_revision',
  'destination_canonical_revision',
] as const;

/** A standard Istio tag: UPSERT replaces it in place, REMOVE drops it. */
const STANDARD_TAGS: ReadonlySet<string> = new Set(istioRequestLabelNames);

interface TagOverride {
  remove: boolean;
  value?: string;
}

interface Override {
  /** istiod's keys (telemetry.go getMatches): IstioMetric names (REQUEST_COUNT, …; ALL_METRICS is every one) or a customMetric. */
  metrics: string[];
  allMetrics: boolean;
  modes: Mode[];
  disabled?: boolean;
  tags: Map<string, TagOverride>;
}

export interface TelemetryModel {
  name: string;
  namespace: string;
  selector?: Record<string, string>;
  targeted: boolean;
  /** spec.metrics in order: whether each names its providers (else it inherits its parent's), and its overrides. */
  metrics: { namesProviders: boolean; overrides: Override[] }[];
}

const parsed = new WeakMap<K8sObject, TelemetryModel>();

export function parseTelemetry(obj: K8sObject, source?: SourcePos): TelemetryModel {
  const cached = parsed.get(obj);
  if (cached) return cached;
  const r = new FieldReader(resourceName(obj), source);
  const spec = r.object(obj.spec ?? {}, 'spec');
  for (const refused of ['accessLogging', 'tracing'] as const) {
    if (spec[refused] !== undefined)
      throw r.error(
        `spec.${refused}`,
        refused === 'tracing'
          ? 'tracing is not emulated: the local proxies start no span and keep no sampling decision'
          : 'access logging is not emulated: the local proxies write no access log',
      );
  }
  r.onlyKeys(spec, 'spec', ['selector', 'targetRef', 'targetRefs', 'metrics']);
  const targeted = spec.targetRef !== undefined || (Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0);
  // validation.go validateOneOfSelectorType
  if (spec.selector !== undefined && targeted) throw r.error('spec.selector', 'only one of targetRefs or workloadSelector can be set for a given policy');
  if (spec.targetRef !== undefined) r.object(spec.targetRef, 'spec.targetRef');
  if (spec.targetRefs !== undefined) r.array(spec.targetRefs, 'spec.targetRefs').forEach((t, i) => r.object(t, `spec.targetRefs[${i}]`));
  const selector = readSelector(obj, 'selector', source);
  const metrics: TelemetryModel['metrics'] = [];
  r.array(spec.metrics ?? [], 'spec.metrics').forEach((raw, i) => {
    const at = `spec.metrics[${i}]`;
    const m = r.object(raw, at);
    r.onlyKeys(m, at, ['providers', 'overrides', 'reportingInterval']);
    const providers = r.array(m.providers ?? [], `${at}.providers`);
    providers.forEach((p, j) => {
      const po = r.object(p, `${at}.providers[${j}]`);
      r.onlyKeys(po, `${at}.providers[${j}]`, ['name']);
      const name = r.string(po.name, `${at}.providers[${j}].name`);
      if (name === '') throw r.error(`${at}.providers[${j}].name`, 'providers.name may not be empty');
      if (name !== 'prometheus')
        throw r.error(
          `${at}.providers[${j}].name`,
          `only the prometheus provider is emulated (the proxies' :15090 Istio metrics), found ${JSON.stringify(name)}`,
        );
    });
    // reportingInterval paces the TCP metrics' reports only; the local mesh serves HTTP, whose metrics count per request.
    if (m.reportingInterval !== undefined) r.string(m.reportingInterval, `${at}.reportingInterval`);
    const overrides = r.array(m.overrides ?? [], `${at}.overrides`).map((o, j) => parseOverride(r, o, `${at}.overrides[${j}]`));
    metrics.push({ namesProviders: providers.length > 0, overrides });
  });
  const model: TelemetryModel = { name: obj.metadata.name, namespace: objectNamespace(obj), ...(selector ? { selector } : {}), targeted, metrics };
  parsed.set(obj, model);
  return model;
}

function parseOverride(r: FieldReader, raw: unknown, at: string): Override {
  if (raw === null) throw r.error(at, 'tagOverrides may not be null');
  const o = r.object(raw, at);
  r.onlyKeys(o, at, ['match', 'disabled', 'tagOverrides']);
  const match = o.match === undefined ? {} : r.object(o.match, `${at}.match`);
  r.onlyKeys(match, `${at}.match`, ['metric', 'customMetric', 'mode']);
  if (match.metric !== undefined && match.customMetric !== undefined) throw r.error(`${at}.match`, 'set metric or customMetric, not both');
  let metrics = Object.keys(STANDARD_METRICS);
  let allMetrics = true;
  if (match.metric !== undefined) {
    const metric = r.string(match.metric, `${at}.match.metric`);
    if (metric !== 'ALL_METRICS') {
      if (!STANDARD_METRICS[metric])
        throw r.error(`${at}.match.metric`, `unknown metric ${JSON.stringify(metric)} (one of ALL_METRICS, ${Object.keys(STANDARD_METRICS).join(', ')})`);
      metrics = [metric];
      allMetrics = false;
    }
  } else if (match.customMetric !== undefined) {
    const custom = r.string(match.customMetric, `${at}.match.customMetric`);
    if (custom === '') throw r.error(`${at}.match.customMetric`, 'customMetric may not be empty');
    // istio_stats looks the name up among its standard metrics too (all_metrics_ by short name).
    metrics = [custom];
    allMetrics = false;
  }
  const mode = match.mode === undefined ? 'CLIENT_AND_SERVER' : r.string(match.mode, `${at}.match.mode`);
  if (!(MODES as readonly string[]).includes(mode)) throw r.error(`${at}.match.mode`, `one of ${MODES.join(', ')}, found ${JSON.stringify(mode)}`);
  const modes: Mode[] = mode === 'CLIENT' ? ['CLIENT'] : mode === 'SERVER' ? ['SERVER'] : ['CLIENT', 'SERVER'];
  const tags = new Map<string, TagOverride>();
  const tagsRaw = o.tagOverrides === undefined ? {} : r.object(o.tagOverrides, `${at}.tagOverrides`);
  for (const [name, value] of Object.entries(tagsRaw)) {
    const tp = `${at}.tagOverrides.${name}`;
    if (value === null) throw r.error(tp, 'tagOverrides may not be null');
    const t = r.object(value, tp);
    r.onlyKeys(t, tp, ['operation', 'value']);
    const operation = t.operation === undefined ? 'UPSERT' : r.string(t.operation, `${tp}.operation`);
    if (operation === 'REMOVE') {
      if (t.value !== undefined && t.value !== '') throw r.error(`${tp}.value`, 'tagOverrides.value may only be set when operation is UPSERT');
      tags.set(name, { remove: true });
    } else if (operation === 'UPSERT') {
      const v = t.value === undefined ? '' : r.string(t.value, `${tp}.value`);
      if (v === '') throw r.error(`${tp}.value`, 'tagOverrides.value must be set when operation is UPSERT');
      const compiled = compileExpression(v);
      if (compiled.kind === 'unsupported') throw r.error(`${tp}.value`, `not emulated: ${compiled.why}`);
      tags.set(name, { remove: false, value: v });
    } else throw r.error(`${tp}.operation`, `UPSERT or REMOVE, found ${JSON.stringify(operation)}`);
  }
  return {
    metrics,
    allMetrics,
    modes,
    ...(typeof o.disabled === 'boolean' ? { disabled: o.disabled } : o.disabled === undefined ? {} : { disabled: r.bool(o.disabled, `${at}.disabled`) }),
    tags,
  };
}

/** Tag overrides whose value Envoy cannot parse as CEL, with what istio_stats then does: for `meshproof validate`. */
export function unparsableTagValues(obj: K8sObject): { path: string; value: string; why: string; standard: boolean }[] {
  const out: { path: string; value: string; why: string; standard: boolean }[] = [];
  const metrics = (obj.spec as { metrics?: unknown } | undefined)?.metrics;
  if (!Array.isArray(metrics)) return out;
  metrics.forEach((m, i) => {
    const overrides = (m as { overrides?: unknown } | null)?.overrides;
    if (!Array.isArray(overrides)) return;
    overrides.forEach((o, j) => {
      const tags = (o as { tagOverrides?: unknown } | null)?.tagOverrides;
      if (tags === null || typeof tags !== 'object') return;
      for (const [name, t] of Object.entries(tags as Record<string, unknown>)) {
        const value = (t as { value?: unknown } | null)?.value;
        if (typeof value !== 'string' || value === '') continue;
        const compiled = compileExpression(value);
        if (compiled.kind === 'unparsable')
          out.push({ path: `spec.metrics[${i}].overrides[${j}].tagOverrides.${name}.value`, value, why: compiled.why, standard: STANDARD_TAGS.has(name) });
      }
    });
  });
  return out;
}

/** One tag of istio_requests_total after the overrides: the standard ones in place, new ones after them. */
export type TagRule = { name: string; remove: true } | { name: string; remove: false; standard: boolean; evaluate: (a: RequestAttributes) => string };

/** What the istio_stats filter of one mode does with istio_requests_total. */
export interface RequestCountMetrics {
  /** No istio_stats filter for this mode (ALL_METRICS disabled): no Istio metric at all. */
  filterDisabled: boolean;
  /** REQUEST_COUNT dropped. */
  dropped: boolean;
  /** Standard tags overridden or removed, then new tags in name order. Empty: Istio's standard labels. */
  tags: TagRule[];
  /** destination_service falls back to the Host header (the filter's `disable_host_header_fallback` is false). */
  hostHeaderFallback: boolean;
}

export interface ProxyRequestMetrics {
  client: RequestCountMetrics;
  server: RequestCountMetrics;
  /**
   * Where a listener port's own chain says otherwise (an EnvoyFilter patching the stats filter of one port): the
   * outbound listener of that port (CLIENT), the inbound chain of that destination port (SERVER).
   */
  clientByPort?: ReadonlyMap<number, RequestCountMetrics>;
  serverByPort?: ReadonlyMap<number, RequestCountMetrics>;
}

export const STANDARD_REQUEST_METRICS: ProxyRequestMetrics = {
  client: { filterDisabled: false, dropped: false, tags: [], hostHeaderFallback: true },
  server: { filterDisabled: false, dropped: false, tags: [], hostHeaderFallback: true },
};

/** The Telemetries a proxy takes, in merge order (telemetry.go applicableTelemetries). */
export function applicableTelemetries(telemetries: readonly TelemetryModel[], proxy: WorkloadRef, rootNamespace = ROOT_NAMESPACE): TelemetryModel[] {
  const wide = (ns: string) => telemetries.find((t) => t.namespace === ns && !t.selector && !t.targeted);
  const out: TelemetryModel[] = [];
  const root = wide(rootNamespace);
  if (root) out.push(root);
  if (proxy.namespace !== rootNamespace) {
    const ns = wide(proxy.namespace);
    if (ns) out.push(ns);
  }
  for (const t of telemetries) {
    if (t.namespace !== proxy.namespace || !t.selector || t.targeted) continue;
    if (labelsMatch(t.selector, proxy.labels)) out.push(t);
  }
  return out;
}

/** istiod's stats filter config per mode for a proxy; absent: no filter for that mode (ALL_METRICS disabled). */
export interface ProxyStatsConfigs {
  client?: StatsPluginConfig;
  server?: StatsPluginConfig;
}

/**
 * The `istio.stats` filter configs istiod writes for a proxy (telemetry.go mergeMetrics + generateStatsConfig): one
 * MetricConfig per overridden metric in key order, named by its Prometheus short name (a customMetric by its own
 * name), its UPSERTs as dimensions and its REMOVEs as tags_to_remove, both in tag name order. The listener class's
 * disable_host_header_fallback is the caller's (classFilters); tcp_reporting_duration is left out, as the loader
 * drops it (no TCP metrics are reported).
 */
export function statsConfigsFor(
  telemetries: readonly TelemetryModel[],
  proxy: WorkloadRef,
  defaultMetricsProviders: readonly string[],
  rootNamespace = ROOT_NAMESPACE,
): ProxyStatsConfigs {
  type Merged = { allDisabled: boolean; metrics: Map<string, { disabled?: boolean; tags: Map<string, TagOverride> }> };
  const merged: Record<Mode, Merged> = { CLIENT: { allDisabled: false, metrics: new Map() }, SERVER: { allDisabled: false, metrics: new Map() } };
  // mergeMetrics: an entry naming no providers inherits the previous one's (the first, the mesh's defaults); only
  // prometheus can be named here, so an entry applies when it or an earlier one names providers, or the defaults do.
  const byDefault = defaultMetricsProviders.includes('prometheus');
  let inherited = byDefault;
  let prometheus = byDefault;
  for (const entry of applicableTelemetries(telemetries, proxy, rootNamespace).flatMap((t) => t.metrics)) {
    if (entry.namesProviders) inherited = prometheus = true;
    if (!inherited) continue;
    for (const o of entry.overrides) {
      for (const mode of o.modes) {
        const m = merged[mode];
        if (o.allMetrics && o.disabled === true) {
          m.allDisabled = true;
          continue;
        }
        m.allDisabled = false;
        for (const key of o.metrics) {
          const metric = m.metrics.get(key) ?? { tags: new Map<string, TagOverride>() };
          if (o.disabled !== undefined) metric.disabled = o.disabled;
          for (const [name, tag] of o.tags) metric.tags.set(name, tag);
          m.metrics.set(key, metric);
        }
      }
    }
  }
  const config = (m: Merged): StatsPluginConfig | undefined => {
    if (m.allDisabled) return undefined;
    const metrics = [...m.metrics.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, metric]): StatsMetricConfig => {
        const tags = [...metric.tags.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const dimensions = Object.fromEntries(tags.flatMap(([n, t]) => (t.remove ? [] : [[n, t.value ?? '']])));
        const removed = tags.filter(([, t]) => t.remove).map(([n]) => n);
        return {
          name: STANDARD_METRICS[key] ?? key,
          ...(Object.keys(dimensions).length > 0 ? { dimensions } : {}),
          ...(removed.length > 0 ? { tags_to_remove: removed } : {}),
          ...(metric.disabled === true ? { drop: true } : {}),
        };
      });
    return metrics.length > 0 ? { metrics } : {};
  };
  // generateStatsConfig: no metrics provider, no stats filter.
  if (!prometheus) return {};
  const client = config(merged.CLIENT);
  const server = config(merged.SERVER);
  return { ...(client ? { client } : {}), ...(server ? { server } : {}) };
}

/**
 * What an `istio.stats` filter does with istio_requests_total (istio_stats.cc Config::Config, MetricOverrides): the
 * MetricConfigs named requests_total (or naming no metric, for the tags) in order, later ones overriding a tag; no
 * filter, no metric at all.
 */
export function requestCountMetricsOf(config: StatsPluginConfig | undefined): RequestCountMetrics {
  if (!config) return { filterDisabled: true, dropped: false, tags: [], hostHeaderFallback: false };
  let dropped = false;
  const tags = new Map<string, TagOverride>();
  for (const metric of config.metrics ?? []) {
    const name = metric.name ?? '';
    if (name !== '' && name !== REQUESTS_TOTAL) continue;
    if (metric.drop === true) {
      // istio_stats drops a metric it finds by name; an unnamed MetricConfig names none.
      if (name === REQUESTS_TOTAL) dropped = true;
      continue;
    }
    for (const tag of metric.tags_to_remove ?? []) tags.set(tag, { remove: true });
    for (const [tag, value] of Object.entries(metric.dimensions ?? {})) tags.set(tag, { remove: false, value });
  }
  const replaced: TagRule[] = [];
  const added: TagRule[] = [];
  for (const [name, tag] of [...tags.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const standard = STANDARD_TAGS.has(name);
    if (tag.remove) {
      if (standard) replaced.push({ name, remove: true });
      continue;
    }
    const compiled = compileExpression(tag.value ?? '');
    if (compiled.kind !== 'attribute') {
      if (standard) replaced.push({ name, remove: true });
      continue;
    }
    (standard ? replaced : added).push({ name, remove: false, standard, evaluate: compiled.evaluate });
  }
  return { filterDisabled: false, dropped, tags: [...replaced, ...added], hostHeaderFallback: config.disable_host_header_fallback !== true };
}

/** istio_requests_total per mode for a proxy, from the Telemetry resources through the config istiod writes. */
export function requestMetricsFor(
  telemetries: readonly TelemetryModel[],
  proxy: WorkloadRef,
  defaultMetricsProviders: readonly string[],
  rootNamespace = ROOT_NAMESPACE,
): ProxyRequestMetrics {
  const configs = statsConfigsFor(telemetries, proxy, defaultMetricsProviders, rootNamespace);
  return { client: requestCountMetricsOf(configs.client), server: requestCountMetricsOf(configs.server) };
}
