// The behavioural half of "converged" on a cluster: after every proxy has acknowledged the new config, a few of the
// experiment's own requests per window must be served without the symptoms of a half-pushed config. While a route
// names a subset whose cluster a proxy has not received yet, Envoy answers 503 with no body (response flag NC, "no
// cluster"), and a missing route gives 404 with no body (NR) — the 503s users report during propagation
// (istio/istio#23998, #31509). Experiments' own failures carry bodies (fault aborts, "no healthy upstream", RBAC).
import type { K8sObject, RequestSpec } from '../spec/types.ts';
import { must } from '../must.ts';

export type ProbeResult = { ok: boolean; detail?: string };

/** What one probe response says about the config having arrived everywhere. */
export function halfPushedSymptom(status: number, body: string, error?: string): string | undefined {
  if (status === 0) return `no response (${error ?? 'connection failed'})`;
  if ((status === 503 || status === 404) && body.trim() === '')
    return `${status} with an empty body (Envoy ${status === 503 ? 'NC: no cluster for the route yet' : 'NR: no route yet'})`;
  return undefined;
}

/**
 * Sends `perWindow` of the experiment's gateway requests (anonymous: logins happen after convergence) at once and
 * judges them. Each may take as long as the experiment lets one of its own requests take (`timeoutMs`):
 * an experiment whose requests are slow by design (a 10 s per-try timeout) would otherwise never see its probe
 * answered (found on the sandbox: examples/kubestock 03).
 */
export function halfPushedProbe(baseUrl: string, requests: RequestSpec[], perWindow = 5, timeoutMs = 5_000): () => Promise<ProbeResult> {
  const viaGateway = requests.filter((r) => r.service === undefined);
  const send = async (request: RequestSpec): Promise<string | undefined> => {
    try {
      const response = await fetch(`${baseUrl}${request.path}`, {
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      return halfPushedSymptom(response.status, await response.text());
    } catch (error) {
      return halfPushedSymptom(0, '', (error as Error).message);
    }
  };
  return async () => {
    if (viaGateway.length === 0) return { ok: true };
    const window = Array.from({ length: perWindow }, (_, i) => must(viaGateway[i % viaGateway.length], `gateway request ${i % viaGateway.length}`));
    const symptoms = await Promise.all(window.map(send));
    const failed = symptoms.findIndex((s) => s !== undefined);
    if (failed < 0) return { ok: true };
    const request = must(window[failed], `probe request ${failed}`);
    return { ok: false, detail: `${request.method} ${request.path}: ${symptoms[failed]}` };
  };
}

/**
 * Why the probe must not run for these resources, if it must not: the probe's requests are real traffic, and with
 * outlier detection the first failing responses eject hosts (for baseEjectionTime) before the counters' baseline is
 * read, so the load would measure a mesh the probe already changed and the evidence of the ejection would fall outside
 * the window (Envoy ejects on the consecutive 5xx of any traffic: outlier_detection_impl.cc).
 */
export function probeDisturbance(resources: K8sObject[]): string | undefined {
  for (const r of resources) {
    if (r.kind !== 'DestinationRule') continue;
    const spec = (r.spec ?? {}) as { trafficPolicy?: Policy; subsets?: { trafficPolicy?: Policy }[] };
    const policies = [spec.trafficPolicy, ...(spec.subsets ?? []).map((s) => s.trafficPolicy)];
    if (policies.some((p) => p?.outlierDetection !== undefined || (p?.portLevelSettings ?? []).some((l) => l.outlierDetection !== undefined))) {
      return `DestinationRule ${r.metadata.name} turns on outlier detection: the probe's requests could eject hosts before the measurement; convergence is the proxies' acknowledgement alone`;
    }
  }
  return undefined;
}

interface Policy {
  outlierDetection?: unknown;
  portLevelSettings?: { outlierDetection?: unknown }[];
}
