// The typed, validated experiment: what every other module consumes.

/** A place in a source file, 1-based, as editors show it. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** A Kubernetes / Istio object, as applied. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec?: unknown;
  [key: string]: unknown;
}

/** One resource of an experiment, with where it came from. */
export interface ResourceRef {
  object: K8sObject;
  /** Where the object's text starts (the inline entry or the document in the referenced file). */
  source: SourcePos;
  /** `inline` or the path of the referenced file as written in the experiment. */
  origin: string;
}

export interface RequestSpec {
  /** Short name used as the `request` label; defaults to `r<index>`. */
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Bookinfo user to log in as before load (productpage keeps the user in its session cookie). */
  user?: string;
  /** Relative share of this request in the rotation (default 1). */
  weight: number;
  /**
   * Send straight to this service's workload, bypassing the ingress gateway, as a plain client outside the mesh
   * (no sidecar, no client certificate) would: e.g. to show that STRICT mTLS refuses such clients.
   */
  service?: string;
  /** The service port for `service` (default: the scenario Service's only/first port). */
  port?: number;
}

export type LoadModel = { kind: 'open'; rate: number } | { kind: 'closed'; connections: number };

export interface SequentialSpec {
  /** Keep going until every expectation is conclusive, at most `budget` requests. */
  budget: number;
  /** How many requests between looks (default 10, DEFAULT_CHECK_EVERY). */
  checkEvery: number;
}

export interface LoadSpec {
  driver: 'autocannon' | 'k6';
  requests: RequestSpec[];
  model: LoadModel;
  /** Stop after this long (ms) ... */
  durationMs?: number;
  /** ... or after this many requests. */
  totalRequests?: number;
  /** Responses during the first warmupMs are not recorded. */
  warmupMs: number;
  /** Client-side timeout of one request (ms). */
  timeoutMs: number;
  /** Names of classifiers (src/observe/classifiers) that label each response. */
  classifiers: string[];
  sequential?: SequentialSpec;
}

/** A bound on a number: min / max / approx ± tolerance (all optional, at least one given). */
export interface Bound {
  min?: number;
  max?: number;
  approx?: number;
  tolerance?: number;
}

interface ExpectationBase {
  /** Human label for reports, e.g. "distribution of reviews.version". */
  title: string;
  source: SourcePos;
  /** Confidence level for intervals (default 0.99). */
  confidence: number;
}

export interface DistributionExpectation extends ExpectationBase {
  kind: 'distribution';
  of: string;
  weights: Record<string, number>;
  /** In percentage points (default 5). */
  tolerance: number;
  /** Only responses whose labels match. */
  where?: Record<string, string>;
}

export interface StatusExpectation extends ExpectationBase {
  kind: 'status';
  /** `503`, `5xx`, or undefined when `flag` is used. */
  code?: string;
  flag?: string;
  /** Share of responses, 0..1. `approx` may be derived: { failing, retries } → failing^(retries+1). */
  ratio: Bound & { derived?: { failing: number; retries: number } };
  where?: Record<string, string>;
}

/**
 * Stickiness: within each group of responses (each value of `by`, e.g. each named request or user), the share that
 * went to the group's most common value of `of` (e.g. the pod) — consistent hashing, session affinity.
 */
export interface StickyExpectation extends ExpectationBase {
  kind: 'sticky';
  of: string;
  by: string;
  ratio: Bound;
  where?: Record<string, string>;
}

export interface RetriesExpectation extends ExpectationBase {
  kind: 'retries';
  service: string;
  subset?: string;
  /** Which proxy's counters: the caller's workload (e.g. reviews-v2); default all. */
  from?: string;
  count: Bound;
}

export interface RateLimitedExpectation extends ExpectationBase {
  kind: 'rateLimited';
  /** Name of the EnvoyFilter (default: the only local-rate-limit filter applied). */
  filter?: string;
  /** Extra slack in requests on top of the computed clock-skew tolerance. */
  slack: number;
  where?: Record<string, string>;
}

export interface DeniedExpectation extends ExpectationBase {
  kind: 'denied';
  service?: string;
  ratio: Bound;
  where?: Record<string, string>;
}

export interface LatencyExpectation extends ExpectationBase {
  kind: 'latency';
  /** e.g. { p50: { below: 100 }, p99: { below: 500 } } in ms. */
  percentiles: Record<string, { below?: number; above?: number }>;
  /** Delay-fault form: about `share` of requests take at least `atLeastMs`. */
  delayed?: { atLeastMs: number; share: Bound };
  where?: Record<string, string>;
}

export interface FlagsExpectation extends ExpectationBase {
  kind: 'flags';
  flag: string;
  /** Counted from mesh counters (istio_requests_total response_flags) or from client-side labels. */
  from: 'mesh' | 'client';
  count?: Bound;
  ratio?: Bound;
  service?: string;
}

/** Any counter a proxy exports (Prometheus name at :15090/stats/prometheus), by how much it rose during the load. */
export interface CounterExpectation extends ExpectationBase {
  kind: 'counter';
  /** e.g. envoy_cluster_upstream_rq_pending_overflow */
  name: string;
  /** Only this workload's proxies (e.g. productpage-v1, istio-ingressgateway); default every proxy. */
  proxy?: string;
  /** Only series with these exact label values. */
  labels: Record<string, string>;
  count: Bound;
}

export interface ReconcileExpectation extends ExpectationBase {
  kind: 'reconcile';
  /** Which proxy's istio_requests_total to compare with the client (default the ingress gateway). */
  proxy: string;
  /** Allowed difference in requests (default: in-flight allowance computed from the load). */
  slack?: number;
}

export type Expectation =
  | DistributionExpectation
  | StatusExpectation
  | RetriesExpectation
  | RateLimitedExpectation
  | DeniedExpectation
  | LatencyExpectation
  | FlagsExpectation
  | CounterExpectation
  | ReconcileExpectation
  | StickyExpectation;

export interface SweepPoint {
  /** Parameter values of this point of the matrix. */
  params: Record<string, string | number>;
  /** Name of the experiment before expansion. */
  baseName: string;
}

export interface Experiment {
  /** Absolute path of the experiment file. */
  file: string;
  name: string;
  description: string;
  tags: string[];
  scenario: string;
  apply: ResourceRef[];
  load: LoadSpec;
  expect: Expectation[];
  sweep?: SweepPoint;
  /** Non-fatal findings of validation (e.g. weights not summing to 100). */
  warnings: SpecWarning[];
}

export interface SpecWarning {
  source: SourcePos;
  path: string;
  message: string;
}
