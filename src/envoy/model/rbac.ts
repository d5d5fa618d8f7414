// envoy.config.rbac.v3 (api/envoy/config/rbac/v3/rbac.proto): the policy trees istiod's authz builder emits
// (pilot/pkg/security/authz/builder). CEL conditions are refused by the loader.
import type { CidrRange, HeaderMatcher, MetadataMatcher, StringMatcher } from './common.ts';

export interface PathMatcher {
  path: StringMatcher;
}

export interface Permission {
  and_rules?: { rules: Permission[] };
  or_rules?: { rules: Permission[] };
  any?: boolean;
  header?: HeaderMatcher;
  url_path?: PathMatcher;
  destination_ip?: CidrRange;
  destination_port?: number;
  destination_port_range?: { start: number; end: number };
  metadata?: MetadataMatcher;
  not_rule?: Permission;
  requested_server_name?: StringMatcher;
}

export interface Principal {
  and_ids?: { ids: Principal[] };
  or_ids?: { ids: Principal[] };
  any?: boolean;
  /** The peer's certificate URI SAN (spiffe://…) for mTLS peers. */
  authenticated?: { principal_name?: StringMatcher };
  direct_remote_ip?: CidrRange;
  remote_ip?: CidrRange;
  header?: HeaderMatcher;
  url_path?: PathMatcher;
  metadata?: MetadataMatcher;
  not_id?: Principal;
}

export interface Policy {
  permissions: Permission[];
  principals: Principal[];
}

export interface Rbac {
  /** Unset = ALLOW (proto3 JSON leaves the enum's zero value out, as istiod's dumps show). */
  action?: 'ALLOW' | 'DENY' | 'LOG';
  policies?: Record<string, Policy>;
}
