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

export function record(
  stats: ProxyStats,
  reporter: 'source' | 'destination',
  source: PeerInfo,
  destination: PeerInfo | undefined,
  service: ServiceInfo | undefined,
  status: number,
  flags: string[],
  mtls: boolean | undefined,
  request?: Omit<RequestAttributes, 'status' | 'mtls'>,
): void {
  // Istio's stats filter: CLIENT mode on outbound listeners and gateways, SERVER mode inbound (telemetry.go workloadMode).
  const metrics = reporter === 'source' ? stats.requestMetrics.client : stats.requestMetrics.server;
  if (metrics.filterDisabled || metrics.dropped) return;
  const d = destination ?? unknownPeer;
  const flagText = responseFlagsText(flags);
  let key = `${reporter}|${source.workload}|${source.principal}|${d.workload}|${d.principal}|${service?.fqdn}|${status}|${flagText}|${mtls}`;
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
      destination_service: service?.fqdn ?? 'unknown',
      destination_service_name: service?.name ?? 'unknown',
      destination_service_namespace: service?.namespace ?? 'unknown',
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
