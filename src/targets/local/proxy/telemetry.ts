// istio_requests_total as Istio's stats filter labels it: one sample per request per reporting proxy
// (the client side reports once per downstream request, whatever the retries; the server side once per attempt).
import { responseFlagsText } from '../../../envoy/response-flags.ts';
import type { EndpointInfo } from './cluster.ts';
import type { ServiceInfo } from './config-view.ts';
import { istioRequestLabelNames, type IstioRequestLabels, type ProxyStats } from './stats.ts';
import type { RequestAttributes } from '../../../istio/telemetry/expression.ts';
import type { RequestCountMetrics } from '../../../istio/telemetry/telemetry.ts';

export interface PeerInfo {
  workload: string;
  namespace: string;
  principal: string;
  app: string;
  version: string;
}

export const unknownPeer: PeerInfo = { workload: 'unknown', namespace: 'unknown', principal: 'unknown', app: 'unknown', version: 'unknown' };

/** Istio's peer metadata exchange over HTTP headers (x-envoy-peer-metadata-id / x-envoy-peer-metadata). */
export function encodePeer(peer: PeerInfo): string {
  return `${peer.workload};${peer.namespace};${peer.app};${peer.version};${peer.principal}`;
}

export function decodePeer(text: string | undefined): PeerInfo | undefined {
  if (!text) return undefined;
  const [workload, namespace, app, version, principal] = text.split(';');
  if (workload === undefined || namespace === undefined || app === undefined || version === undefined || principal === undefined) return undefined;
  return { workload, namespace, app, version, principal };
}

/**
 * What istio_stats reads a request's destination service from: the route's name, the upstream cluster the route chose
 * (Envoy sets it when it resolves the route, before any HTTP filter runs: conn_manager_impl.cc refreshCachedRoute), and
 * that cluster's `istio.services` metadata, which istiod writes for a Service's clusters (cluster_builder.go
 * addTelemetryMetadata). No route or no such cluster: all absent.
 */
export interface UpstreamTarget {
  route?: string;
  cluster?: string;
  service?: ServiceInfo;
}

const PASSTHROUGH_CLUSTERS = new Set([
  'BlackHoleCluster',
  'PassthroughCluster',
  'InboundPassthroughCluster',
  'InboundPassthroughClusterIpv4',
  'InboundPassthroughClusterIpv6',
]);

interface DestinationService {
  host: string;
  name: string;
  namespace: string;
}

/**
 * destination_service, _name and _namespace as istio_stats computes them (istio_stats.cc populatePeerInfo): the Host
 * header when the filter's `disable_host_header_fallback` is false (istiod writes true on inbound and gateway
 * listeners, telemetry.go disableHostHeaderFallback), then istiod's `block_all`/`allow_any` routes and the passthrough
 * clusters by name, then the cluster's Service. What is still empty: `unknown` on the client side; the proxy's own
 * canonical service and namespace on the server side.
 */
function destinationService(
  reporter: 'source' | 'destination',
  target: UpstreamTarget,
  hostHeader: string | undefined,
  fallback: boolean,
  peerNamespace: string | undefined,
  self: PeerInfo,
): DestinationService {
  let host = fallback ? (hostHeader ?? '') : '';
  let name = host;
  let namespace = '';
  if (target.route === 'block_all') name = 'BlackHoleCluster';
  else if (target.route === 'allow_any') name = 'PassthroughCluster';
  else if (target.cluster !== undefined && PASSTHROUGH_CLUSTERS.has(target.cluster)) name = target.cluster;
  else if (target.service) {
    host = target.service.fqdn;
    name = target.service.name;
    namespace = target.service.namespace;
  }
  if (reporter === 'destination') return { host: host || self.app, name: name || self.app, namespace: self.namespace };
  return { host: host || 'unknown', name: name || 'unknown', namespace: namespace || peerNamespace || 'unknown' };
}

/**
 * One request into istio_requests_total. `destination` is the answering workload (the server side: the proxy itself),
 * `target` where the route sent the request.
 */
export function record(
  stats: ProxyStats,
  reporter: 'source' | 'destination',
  source: PeerInfo,
  destination: PeerInfo | undefined,
  target: UpstreamTarget,
  status: number,
  flags: string[],
  mtls: boolean | undefined,
  request?: Omit<RequestAttributes, 'status' | 'mtls'>,
  /** The listener port the request came in on (outbound: the destination's; inbound: the pod's): its chain's stats. */
  port?: number,
): void {
  // Istio's stats filter: CLIENT mode on outbound listeners and gateways, SERVER mode inbound (telemetry.go workloadMode).
  const all = stats.requestMetrics;
  const byPort = port === undefined ? undefined : reporter === 'source' ? all.clientByPort?.get(port) : all.serverByPort?.get(port);
  const metrics = byPort ?? (reporter === 'source' ? all.client : all.server);
  if (metrics.filterDisabled || metrics.dropped) return;
  const d = destination ?? unknownPeer;
  const self = reporter === 'source' ? source : d;
  const service = destinationService(reporter, target, request?.host, metrics.hostHeaderFallback, destination?.namespace, self);
  const flagText = responseFlagsText(flags);
  let key = `${reporter}|${source.workload}|${source.principal}|${d.workload}|${d.principal}|${service.host}|${service.name}|${service.namespace}|${status}|${flagText}|${mtls}`;
  const standard = () =>
    ({
      reporter,
      source_workload: source.workload,
      source_workload_namespace: source.namespace,
      source_principal: source.principal === 'unknown' ? 'unknown' : `spiffe://${source.principal}`,
      source_app: source.app,
      source_version: source.version,
      source_cluster: source.workload === 'unknown' ? 'unknown' : 'Kubernetes',
      destination_workload: d.workload,
      destination_workload_namespace: d.namespace,
      destination_principal: d.principal === 'unknown' ? 'unknown' : `spiffe://${d.principal}`,
      destination_app: d.app,
      destination_version: d.version,
      destination_service: service.host,
      destination_service_name: service.name,
      destination_service_namespace: service.namespace,
      destination_cluster: destination ? 'Kubernetes' : 'unknown',
      request_protocol: 'http',
      response_code: String(status),
      grpc_response_status: '',
      response_flags: flagText,
      connection_security_policy: reporter === 'source' ? 'unknown' : mtls ? 'mutual_tls' : 'none',
      source_canonical_service: source.app,
      destination_canonical_service: d.app,
      source_canonical_revision: source.version === 'unknown' ? 'latest' : source.version,
      destination_canonical_revision: d.version === 'unknown' ? 'latest' : d.version,
    }) satisfies IstioRequestLabels;
  if (metrics.tags.length === 0) {
    stats.countRequest(key, standard);
    return;
  }
  const attributes: RequestAttributes = { method: '', host: '', path: '', headers: {}, ...request, status, mtls: mtls === true };
  const values = evaluateTags(metrics, attributes);
  key += `|${JSON.stringify(values)}`;
  stats.countRequest(key, () => overriddenLabels(standard(), metrics, values));
}

function evaluateTags(metrics: RequestCountMetrics, attributes: RequestAttributes): (string | undefined)[] {
  return metrics.tags.map((t) => (t.remove ? undefined : t.evaluate(attributes)));
}

/** istio_stats MetricOverrides::overrideTags: standard tags in order (replaced or dropped), then the added ones. */
function overriddenLabels(labels: IstioRequestLabels, metrics: RequestCountMetrics, values: (string | undefined)[]): [string, string][] {
  const byName = new Map(metrics.tags.map((t, i) => [t.name, { rule: t, value: values[i] }]));
  const out: [string, string][] = [];
  for (const name of istioRequestLabelNames) {
    const o = byName.get(name);
    if (!o) out.push([name, labels[name]]);
    else if (!o.rule.remove) out.push([name, o.value ?? 'unknown']);
  }
  metrics.tags.forEach((t, i) => {
    if (!t.remove && !t.standard) out.push([t.name, values[i] ?? 'unknown']);
  });
  return out;
}

export function peerOfEndpoint(e: EndpointInfo | undefined): PeerInfo | undefined {
  return e ? { workload: e.workload, namespace: e.namespace, principal: e.principal, app: e.app, version: e.version } : undefined;
}
