// The behavioural half of "converged" on a cluster: after every proxy has acknowledged the new config, a few of the
// experiment's own requests per window must be served without the symptoms of a half-pushed config. While a route
// names a subset whose cluster a proxy has not received yet, Envoy answers 503 with no body (response flag NC, "no
// cluster"), and a missing route gives 404 with no body (NR) — the 503s users report during propagation
// (istio/istio#23998, #31509). Experiments' own failures carry bodies (fault aborts, "no healthy upstream", RBAC).
import type { RequestSpec } from '../spec/types.ts';

export type ProbeResult = { ok: boolean; detail?: string };

/** What one probe response says about the config having arrived everywhere. */
export function halfPushedSymptom(status: number, body: string, error?: string): string | undefined {
  if (status === 0) return `no response (${error ?? 'connection failed'})`;
  if ((status === 503 || status === 404) && body.trim() === '') return `${status} with an empty body (Envoy ${status === 503 ? 'NC: no cluster for the route yet' : 'NR: no route yet'})`;
  return undefined;
}

/** Sends `perWindow` of the experiment's gateway requests (anonymous: logins happen after convergence) and judges them. */
export function halfPushedProbe(baseUrl: string, requests: RequestSpec[], perWindow = 5, timeoutMs = 5_000): () => Promise<ProbeResult> {
  const viaGateway = requests.filter((r) => r.service === undefined);
  return async () => {
    if (viaGateway.length === 0) return { ok: true };
    for (let i = 0; i < perWindow; i++) {
      const request = viaGateway[i % viaGateway.length];
      let symptom: string | undefined;
      try {
        const response = await fetch(`${baseUrl}${request.path}`, {
          method: request.method,
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'manual',
        });
        symptom = halfPushedSymptom(response.status, await response.text());
      } catch (error) {
        symptom = halfPushedSymptom(0, '', (error as Error).message);
      }
      if (symptom) return { ok: false, detail: `${request.method} ${request.path}: ${symptom}` };
    }
    return { ok: true };
  };
}
