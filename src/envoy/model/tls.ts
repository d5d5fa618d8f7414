// envoy.extensions.transport_sockets.tls.v3 (tls.proto, common.proto): only what decides whether a connection is
// mTLS and which peer identities are accepted. Certificates come over SDS and are no-ops here (identity is the
// workload's SPIFFE id, not a key).
export interface CommonTlsContext {
  alpn_protocols?: string[];
  /** Subject alt names accepted from the peer (exact/prefix spiffe ids). */
  combined_validation_context?: {
    default_validation_context?: { match_subject_alt_names?: import('./common.ts').StringMatcher[] };
  };
}

export interface UpstreamTlsContext {
  common_tls_context?: CommonTlsContext;
  sni?: string;
}

export interface DownstreamTlsContext {
  common_tls_context?: CommonTlsContext;
  /** BoolValue: mTLS when true. */
  require_client_certificate?: boolean;
}
