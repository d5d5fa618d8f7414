// Which HTTP filters run for an inbound request, as Envoy selects them from a sidecar's listeners
// (source/common/listener_manager/filter_chain_manager_impl.cc: the original destination lands on istiod's
// `virtualInbound` listener, whose filter chain matches the destination port and the transport protocol — `tls` for an
// mTLS connection, `raw_buffer` for plaintext — and whose HTTP connection manager lists the filters in order).
import { TypedConfigType, type ExtAuthz, type HttpFilter, type Listener, type Rbac } from '../model/index.ts';

/** The HTTP filters of the inbound chain a connection to `port` takes; undefined when no chain takes it (a reset). */
export function inboundHttpFilters(listeners: readonly Listener[], port: number, mtls: boolean): HttpFilter[] | undefined {
  const inbound = listeners.find((l) => l.name === 'virtualInbound');
  if (!inbound) return undefined;
  const transport = mtls ? 'tls' : 'raw_buffer';
  const candidates = (inbound.filter_chains ?? []).filter((c) => c.filter_chain_match?.destination_port === port);
  // The most specific match wins: a chain naming the transport protocol before one that does not.
  const chain =
    candidates.find((c) => c.filter_chain_match?.transport_protocol === transport) ??
    candidates.find((c) => c.filter_chain_match?.transport_protocol === undefined);
  const hcm = chain?.filters.find((f) => f.typed_config['@type'] === TypedConfigType.httpConnectionManager);
  if (!hcm || hcm.typed_config['@type'] !== TypedConfigType.httpConnectionManager) return undefined;
  return hcm.typed_config.http_filters ?? [];
}

/**
 * The HTTP filters of a gateway's listener for `port` (istiod's `0.0.0.0_<port>`, gateway.go buildGatewayListeners): the
 * chain without a server-name match (the plaintext HTTP servers); undefined when no listener takes the port.
 */
export function gatewayHttpFilters(listeners: readonly Listener[], port: number): HttpFilter[] | undefined {
  const listener = listeners.find((l) => l.address?.socket_address.port_value === port && l.traffic_direction !== 'INBOUND');
  const chain = (listener?.filter_chains ?? []).find((c) => !c.filter_chain_match?.server_names?.length);
  const hcm = chain?.filters.find((f) => f.typed_config['@type'] === TypedConfigType.httpConnectionManager);
  if (!hcm || hcm.typed_config['@type'] !== TypedConfigType.httpConnectionManager) return undefined;
  return hcm.typed_config.http_filters ?? [];
}

/**
 * The HTTP filters of a sidecar's outbound HTTP listener for `port` (istiod's `0.0.0.0_<port>`, listener.go
 * buildSidecarOutboundHTTPListenerOpts): its plaintext HTTP chain; undefined when the port has no HTTP listener.
 */
export function outboundHttpFilters(listeners: readonly Listener[], port: number): HttpFilter[] | undefined {
  const listener = listeners.find((l) => l.name === `0.0.0.0_${port}` && l.traffic_direction === 'OUTBOUND');
  for (const chain of listener?.filter_chains ?? []) {
    const hcm = chain.filters.find((f) => f.typed_config['@type'] === TypedConfigType.httpConnectionManager);
    if (hcm?.typed_config['@type'] === TypedConfigType.httpConnectionManager) return hcm.typed_config.http_filters ?? [];
  }
  return undefined;
}

/** The RBAC rules of those filters, in order (a filter without rules allows everything; shadow rules decide nothing). */
export function rbacRulesOf(filters: readonly HttpFilter[]): { name: string; rules: Rbac }[] {
  return filters.flatMap((f) =>
    f.typed_config?.['@type'] === TypedConfigType.rbac && f.typed_config.rules ? [{ name: f.name, rules: f.typed_config.rules }] : [],
  );
}

/**
 * The authorization filters of a chain in order: RBAC (enforced rules, and shadow rules whose verdict goes to the
 * dynamic metadata) and ext_authz (enabled by that metadata): istiod's CUSTOM, DENY and ALLOW policies
 * (pilot/pkg/security/authz/builder/builder.go buildHTTP).
 */
export type AuthzStep =
  { kind: 'rbac'; name: string; rules?: Rbac; shadow?: { rules: Rbac; prefix: string } } | { kind: 'ext_authz'; name: string; config: ExtAuthz };

export function authzStepsOf(filters: readonly HttpFilter[]): AuthzStep[] {
  return filters.flatMap((f): AuthzStep[] => {
    const c = f.typed_config;
    if (c?.['@type'] === TypedConfigType.rbac) {
      if (!c.rules && !c.shadow_rules) return [];
      return [
        {
          kind: 'rbac',
          name: f.name,
          ...(c.rules ? { rules: c.rules } : {}),
          ...(c.shadow_rules ? { shadow: { rules: c.shadow_rules, prefix: c.shadow_rules_stat_prefix ?? '' } } : {}),
        },
      ];
    }
    if (c?.['@type'] === TypedConfigType.extAuthz) return [{ kind: 'ext_authz', name: f.name, config: c }];
    return [];
  });
}

/**
 * The mTLS mode the inbound filter chains for `port` implement, as istiod writes PeerAuthentication into them (seen on
 * the sandbox's istiod): STRICT leaves only `tls` chains, DISABLE only `raw_buffer` ones, PERMISSIVE both. Chains that
 * name no port (the catch-all ones) decide for a port no chain names. Undefined when no chain takes the port at all.
 */
export function inboundPeerMode(listeners: readonly Listener[], port: number): 'STRICT' | 'PERMISSIVE' | 'DISABLE' | undefined {
  const inbound = listeners.find((l) => l.name === 'virtualInbound');
  if (!inbound) return undefined;
  const chains = inbound.filter_chains ?? [];
  const forPort = chains.filter((c) => c.filter_chain_match?.destination_port === port);
  const candidates = forPort.length > 0 ? forPort : chains.filter((c) => c.filter_chain_match?.destination_port === undefined);
  const transports = new Set(candidates.map((c) => c.filter_chain_match?.transport_protocol ?? 'any'));
  const tls = transports.has('tls') || transports.has('any');
  const plaintext = transports.has('raw_buffer') || transports.has('any');
  if (tls && plaintext) return 'PERMISSIVE';
  if (tls) return 'STRICT';
  if (plaintext) return 'DISABLE';
  return undefined;
}
