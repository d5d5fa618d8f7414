// What the load drivers report per response and what assertions read back.

export type Labels = Record<string, string>;

/** One request as seen by the client. Drivers fill it; classifiers label it. */
export interface ResponseRecord {
  /** Index of the request in the load plan's rotation. */
  requestIndex: number;
  /** When the request was sent, ms since the load started (monotonic clock). */
  sentAtMs: number;
  /** Time to the complete response (or to the error), ms. */
  latencyMs: number;
  /** HTTP status; 0 when no response arrived (connection error, client timeout). */
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Response body (drivers may truncate it; classifiers only need markers). */
  body: string;
  /** Transport error when status is 0, e.g. `ECONNREFUSED`, `timeout`. */
  error?: string;
  /**
   * Labels already computed where the body was seen (the k6 driver classifies inside k6, which cannot stream bodies
   * out). When present, the observation uses them instead of running its response classifiers on an empty body; it
   * still adds the labels of what the client sent (the request's name).
   */
  labels?: Labels;
}

/** A pure function from a response to labels such as { status: "503", flag: "UO" }. */
export type Classifier = (response: ResponseRecord) => Labels;

export interface LatencyView {
  count: number;
  /** Percentile in ms, p in 0..100. */
  percentile(p: number): number;
  max: number;
  min: number;
  mean: number;
  /** Number of recorded values >= ms. */
  countAtLeast(ms: number): number;
}

/** Read-only view of everything observed at the client, used by assertions and reports. */
export interface ObservationView {
  /** Responses and errors recorded (after warm-up). */
  readonly total: number;
  /** Requests whose result matched every label in `where` (all when omitted). */
  count(where?: Labels): number;
  /** Counts per value of `label` among requests matching `where`; requests without the label are absent. */
  countBy(label: string, where?: Labels): Map<string, number>;
  latency(where?: Labels): LatencyView;
  /** Send times (ms since load start) of recorded requests matching `where`, in send order. */
  sendTimes(where?: Labels): Float64Array;
  /** Send times of the warm-up's requests (not recorded) matching `where`, in send order; absent means none. */
  warmupSendTimes?(where?: Labels): Float64Array;
  /** Send times and latencies (ms) of recorded requests matching `where`, both in send order; absent: not kept. */
  sendTimesWithLatencies?(where?: Labels): { sendTimes: Float64Array; latencies: Float64Array };
  /** The same for the warm-up's requests (not recorded). */
  warmupSendTimesWithLatencies?(where?: Labels): { sendTimes: Float64Array; latencies: Float64Array };
}

/** Per-second counts by status, for charts. */
export interface TimeSeriesPoint {
  second: number;
  byStatus: Record<string, number>;
}

/** The JSON form of an observation kept in the RunResult. */
export interface ObservationSnapshot {
  total: number;
  sent: number;
  answered: number;
  errored: number;
  /** One row per distinct label combination. */
  groups: { labels: Labels; count: number; latency: { p50: number; p90: number; p99: number; max: number; mean: number } }[];
  latency: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number; min: number };
  timeSeries: TimeSeriesPoint[];
  /**
   * A few example bodies per label combination, for reports: truncated, and for an HTML page the part that tells
   * responses apart (bodyNote says what was left out).
   */
  samples: { labels: Labels; status: number; body: string; headers: Record<string, string>; bodyNote?: string }[];
}

/** One sample of a Prometheus counter or gauge, tagged with the proxy it came from. */
export interface CounterSample {
  /** Proxy (workload instance) that exported it, e.g. `reviews-v2`, `istio-ingressgateway`. */
  proxy: string;
  name: string;
  labels: Labels;
  value: number;
}
