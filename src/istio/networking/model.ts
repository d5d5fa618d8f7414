// The Istio traffic resources as the local mesh uses them: validated, defaults resolved, ready to evaluate.

export type StringMatcher =
  { kind: 'exact'; value: string } | { kind: 'prefix'; value: string } | { kind: 'regex'; value: string; regex: RegExp } | { kind: 'present' };

export interface HttpMatch {
  name?: string;
  uri?: StringMatcher;
  scheme?: StringMatcher;
  method?: StringMatcher;
  authority?: StringMatcher;
  /** Lower-case header names. */
  headers: [string, StringMatcher][];
  withoutHeaders: [string, StringMatcher][];
  /**
   * `@request.auth.claims.a.b` / `@request.auth.claims[a][b]` header keys: a match on the JWT payload at that path
   * (pkg/jwt/routing.go ToRoutingClaim; route.go translateMetadataMatch). Paths keep the claims' case.
   */
  claims?: [string[], StringMatcher][];
  withoutClaims?: [string[], StringMatcher][];
  queryParams: [string, StringMatcher][];
  ignoreUriCase: boolean;
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
}

export interface HeaderOperations {
  set: [string, string][];
  add: [string, string][];
  remove: string[];
  /** Request only: `host` / `:authority` in set (or else add), which istiod turns into a host rewrite. */
  authority?: string;
}

export interface HeadersSpec {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface RouteDestination {
  host: string;
  /** The host as an FQDN, resolved in the VirtualService's namespace. */
  fqdn: string;
  subset?: string;
  port?: number;
  /** Relative share; destinations of weight 0 are dropped when there are others (as Istio does). */
  weight: number;
  headers?: HeadersSpec;
}

/** Percentages as Envoy keeps them: parts per million. A fault without `percentage` has 0 (injects nothing). */
export interface FaultSpec {
  delay?: { fixedDelayMs: number; ppm: number };
  abort?: { httpStatus: number; ppm: number };
}

/** The VirtualService `retries` block as written. */
export interface RetrySpec {
  attempts: number;
  perTryTimeoutMs?: number;
  retryOn?: string;
  retryIgnorePreviousHosts?: boolean;
  backoffMs?: number;
}

/** VirtualService corsPolicy (networking/v1alpha3 CorsPolicy), as written. */
export interface CorsSpec {
  allowOrigins: StringMatcher[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
  allowCredentials?: boolean;
  /** IGNORE answers a preflight from an origin not allowed itself; FORWARD (and unset) passes it on. */
  unmatchedPreflights?: 'FORWARD' | 'IGNORE';
}

export interface HttpRoute {
  name?: string;
  /** Empty: matches everything. Several: ORed. */
  match: HttpMatch[];
  route: RouteDestination[];
  timeoutMs?: number;
  /** undefined: the route sets none and Istio's default policy applies. */
  retries?: RetrySpec;
  fault?: FaultSpec;
  headers?: HeadersSpec;
  rewrite?: { uri?: string; authority?: string };
  cors?: CorsSpec;
  /** Gateway routes only: the Gateway server port the route was built for (route.go listenPort). */
  gatewayPort?: number;
}

export interface VirtualServiceModel {
  kind: 'VirtualService';
  name: string;
  namespace: string;
  hosts: string[];
  /** Gateways the rules apply to as `namespace/name` (resolveGatewayName); `mesh` means the sidecars. Empty in the resource means [`mesh`]. */
  gateways: string[];
  http: HttpRoute[];
  /** Namespaces it is visible to (`.` already replaced by its own), or [`*`]; absent: everywhere (Istio's default). */
  exportTo?: string[];
  /** Order of creation (older first): the oldest VirtualService for a host wins, as with Istio. */
  createdAt: number;
}

export type LoadBalancer = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM';

export interface ConnectionPoolSettings {
  maxConnections?: number;
  connectTimeoutMs?: number;
  http1MaxPendingRequests?: number;
  http2MaxRequests?: number;
  maxRequestsPerConnection?: number;
  maxRetries?: number;
  idleTimeoutMs?: number;
}

/** As written: unset fields take Envoy's defaults where the cluster runs (src/envoy/runtime/cluster.ts). */
export interface OutlierDetectionSettings {
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  intervalMs?: number;
  baseEjectionTimeMs?: number;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

export type TlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

/** LoadBalancerSettings.ConsistentHashLB's hash key (networking/v1alpha3/destination_rule.proto). */
export type ConsistentHashKey =
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string; path?: string; ttlSeconds?: number }
  | { kind: 'sourceIp' }
  | { kind: 'query'; name: string };

export interface ConsistentHashSpec {
  key?: ConsistentHashKey;
  /** ringHash.minimumRingSize, or the deprecated top-level minimumRingSize (0 or unset: Envoy's 1024). */
  minimumRingSize?: number;
  /** Whether `ringHash` was given (istiod then writes no ring config for a zero size). */
  ringHash: boolean;
}

/** The loadBalancer group: a simple policy or consistent hashing (one of them). */
export interface LoadBalancerSpec {
  simple?: LoadBalancer;
  consistentHash?: ConsistentHashSpec;
}

export interface TrafficPolicySettings {
  loadBalancer?: LoadBalancerSpec;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetectionSettings;
  tls?: TlsMode;
  /** tls.subjectAltNames: the server identities ISTIO_MUTUAL accepts instead of the Service's accounts (part of the tls group). */
  subjectAltNames?: string[];
}

export interface TrafficPolicy extends TrafficPolicySettings {
  portLevel: Map<number, TrafficPolicySettings>;
}

export interface Subset {
  name: string;
  labels: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleModel {
  kind: 'DestinationRule';
  name: string;
  namespace: string;
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets: Subset[];
  /** As written (`.`, `*` or namespaces); absent or empty: exported everywhere. */
  exportTo?: string[];
  /** `namespace/name` of every rule merged into this one (istiod's ConsolidatedDestRule.from), first the oldest. */
  mergedFrom?: string[];
  createdAt: number;
}

export interface GatewayServer {
  /** The port the gateway listens on for this server (a Service port as written is resolved to its targetPort). */
  port: number;
  /**
   * The port as written in the Gateway: what a bound VirtualService's `match.port` is compared with (istio/istio
   * pilot/pkg/networking/core/gateway.go builds each server's routes with `port := int(server.Port.Number)`, and
   * route.TranslateRoute drops a match whose port differs from it).
   */
  declaredPort: number;
  protocol: 'HTTP';
  /** Hosts without their namespace part. */
  hosts: string[];
  /**
   * The namespace part of each host (`*` when none is written, the Gateway's own for `.`): only VirtualServices of
   * that namespace bind to it (gateway.go pickMatchingGatewayHosts / host.NamesForNamespace).
   */
  hostNamespaces: string[];
}

export interface GatewayModel {
  kind: 'Gateway';
  name: string;
  namespace: string;
  selector: Record<string, string>;
  servers: GatewayServer[];
}
