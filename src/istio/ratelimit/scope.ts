// Which proxy listener a local-rate-limit patch lands on.
import { ROOT_NAMESPACE, scopeApplies, type WorkloadRef } from '../selector.ts';
import type { EnvoyFilterContext, LocalRateLimit } from './types.ts';

/**
 * True when the patch applies to this proxy's listener: namespace/root-namespace + workloadSelector scoping
 * (selector.ts), the same match context (SIDECAR_INBOUND: the sidecar's inbound listener, SIDECAR_OUTBOUND: its
 * outbound listeners, GATEWAY: a gateway's listeners) and, when `match.listener.portNumber` is set, the same port
 * (inbound: the workload's target port, e.g. 9080; gateway: the server port, e.g. 8080).
 */
export function rateLimitApplies(
  limit: LocalRateLimit,
  proxy: WorkloadRef & { context: EnvoyFilterContext; port: number },
  rootNamespace = ROOT_NAMESPACE,
): boolean {
  if (limit.context !== proxy.context) return false;
  if (limit.portNumber !== undefined && limit.portNumber !== proxy.port) return false;
  return scopeApplies({ namespace: limit.namespace, selector: limit.selector }, proxy, rootNamespace);
}
