// Reconnect back-off: exponential with full jitter in the manner of Envoy's JitteredExponentialBackOffStrategy, with
// the xDS stream's retry defaults (500 ms initial, 30 s cap: RETRY_INITIAL_DELAY_MS / RETRY_MAX_DELAY_MS in grpc_stream.h).
export interface BackOffOptions {
  baseMs?: number;
  maxMs?: number;
  /** A number in [0, 1); injected so tests are deterministic. */
  random: () => number;
}

export class BackOff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(private readonly options: BackOffOptions) {
    this.baseMs = options.baseMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
  }

  /** The next wait: a random point in [0, min(max, base·2^attempt)). */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    if (ceiling < this.maxMs) this.attempt += 1;
    return Math.floor(this.options.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}
