// The mesh counters' baseline for a load with a warm-up: read again when the warm-up ends, so mesh-side verdicts
// (reconcile, retries, flags, denied by service, counter) count the same requests as the client, which records only
// requests sent after the warm-up.
//
// The read takes time while load runs, so a few requests can fall on the wrong side of it. Which ones is known
// exactly from the client, and reconcile allows them in either direction (its in-flight allowance):
// - a warm-up request the client received after the read started may have been counted by the proxy after the
//   snapshot (the proxy counts a request when the response completes, before the client receives it);
// - a recorded request sent before the read ended may have been counted before the snapshot.
// Send times come from the driver's clock, placed on Date.now()'s clock by the origin the driver reports.
// The read starts a little before the warm-up ends (by about what the read before the load took), so that it is over
// before the first recorded send: the autocannon driver's open model sends a burst at the start of every second,
// right at the end of a whole-second warm-up.
import type { CounterSample, ResponseRecord } from '../observe/types.ts';

/** Date.now() and k6's send times are whole milliseconds: a send this close to the read's end may precede it. */
const CLOCK_MARGIN_MS = 2;

export interface BaselineRead {
  /** The counters at the end of warm-up; absent when the load ended before the warm-up did (or the read failed). */
  counters?: CounterSample[];
  /** Requests that may be counted on the other side of the baseline from the client (see the file comment). */
  inFlight: number;
  /** When the read ran (Date.now() clock), for the phase list. */
  startedAt?: number;
  endedAt?: number;
  error?: unknown;
}

export class WarmupBaseline {
  private readonly origins = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private cancelled = false;
  private read: Promise<void> | undefined;
  private startedAt: number | undefined;
  private endedAt: number | undefined;
  private counters: CounterSample[] | undefined;
  private error: unknown;
  private warmupResponses = 0;
  private warmupAfterReadStart = 0;
  private recordedBeforeReadEnd = 0;

  constructor(
    private readonly warmupMs: number,
    private readonly readCounters: () => Promise<CounterSample[]>,
    /** How long before the warm-up's end the read starts (about as long as a read takes). */
    private readonly leadMs = 0,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** A load part's clock origin (LoadControl.onClockOrigin): the read is due at the latest origin + warm-up. */
  onClockOrigin(part: number, epochMs: number): void {
    this.origins.set(part, epochMs);
    if (this.read || this.cancelled) return;
    clearTimeout(this.timer);
    const due = Math.max(...this.origins.values()) + this.warmupMs - Math.min(this.leadMs, this.warmupMs / 2);
    this.timer = setTimeout(() => this.start(), Math.max(0, due - this.now()));
  }

  onResponse(part: number, response: ResponseRecord): void {
    if (response.sentAtMs < this.warmupMs) {
      this.warmupResponses++;
      if (this.startedAt !== undefined) this.warmupAfterReadStart++;
      return;
    }
    if (this.endedAt === undefined) {
      this.recordedBeforeReadEnd++; // received before the read ended, so sent before it too
      return;
    }
    const origin = this.origins.get(part);
    if (origin === undefined || origin + response.sentAtMs < this.endedAt + CLOCK_MARGIN_MS) this.recordedBeforeReadEnd++;
  }

  /** After the load: no read starts any more; waits for one under way. */
  async settle(): Promise<BaselineRead> {
    this.cancel();
    await this.read;
    if (this.counters === undefined) {
      // No baseline at the end of warm-up: the counters' delta runs from before the load and includes the warm-up.
      return { inFlight: this.warmupResponses, ...(this.error !== undefined ? { error: this.error, startedAt: this.startedAt, endedAt: this.endedAt } : {}) };
    }
    return { counters: this.counters, inFlight: this.warmupAfterReadStart + this.recordedBeforeReadEnd, startedAt: this.startedAt, endedAt: this.endedAt };
  }

  /** Stops a read that has not started (the load ended or failed). */
  cancel(): void {
    this.cancelled = true;
    clearTimeout(this.timer);
  }

  private start(): void {
    if (this.cancelled || this.read) return;
    this.startedAt = this.now();
    this.read = this.readCounters().then(
      (counters) => {
        this.counters = counters;
        this.endedAt = this.now();
      },
      (error: unknown) => {
        this.error = error;
        this.endedAt = this.now();
      },
    );
  }
}
