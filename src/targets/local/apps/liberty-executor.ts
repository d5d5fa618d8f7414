// Open Liberty's default executor, on which the real reviews service runs every request
// (samples/bookinfo/src/reviews/reviews-wlpcfg/servers/LibertyProjectServer/server.xml: <executor coreThreads="5"/>).
// - A bounded pool: coreThreads threads at first; a request beyond them waits in the executor's queue, first in first
//   out. A thread is held for the whole request, including the blocking JAX-RS call to ratings
//   (LibertyRestEndpoint.java getRatings: builder.get()).
// - Work goes on after the caller gave up: Liberty does not learn that productpage's 3 s timeout closed the
//   connection, so a queued request still runs when a thread frees and holds it until ratings answers.
// - The pool grows while work waits: Liberty's ThreadPoolController (open-liberty dev/com.ibm.ws.threading,
//   ThreadPoolController.java) evaluates every 1.5 s from server start and, with work queued and no history, grows
//   the pool (coin flips between growing and not, faster in hang resolution when a cycle completed nothing); it never
//   shrinks below coreThreads. Its increments depend on the CPU count; growing by coreThreads each cycle while work
//   waits reproduces what the real chain showed (ratings delayed 2 s, 30 parallel pages: 15 of 30 pages with the
//   reviews error at 6.3 s; this model gives 10, 15 or 25 by the cycle's phase, 16.7 on average) and is the
//   approximation used here. With no work waiting the pool shrinks back by the same step, not below coreThreads.
export interface ExecutorOptions {
  coreThreads: number;
  /** Controller cycle (ThreadPoolController interval, 1.5 s). */
  cycleMs?: number;
  /** Threads added (or removed) per cycle; default coreThreads. */
  stepThreads?: number;
}

export class LibertyExecutor {
  private threads: number;
  private busy = 0;
  private readonly queue: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly core: number;
  private readonly step: number;

  constructor(options: ExecutorOptions) {
    this.core = Math.max(4, options.coreThreads); // Liberty raises a positive coreThreads below 4 to 4
    this.threads = this.core;
    this.step = options.stepThreads ?? this.core;
    this.timer = setInterval(() => this.cycle(), options.cycleMs ?? 1500);
    this.timer.unref();
  }

  /** Runs `task` on a thread of the pool, after the requests queued before it. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.busy++;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.busy--;
            this.drain();
          });
      };
      this.queue.push(start);
      this.drain();
    });
  }

  /** Threads in the pool, busy ones and queued requests (for tests). */
  get state(): { threads: number; busy: number; queued: number } {
    return { threads: this.threads, busy: this.busy, queued: this.queue.length };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private cycle(): void {
    if (this.queue.length > 0) {
      this.threads += this.step;
      this.drain();
    } else if (this.threads > this.core && this.busy < this.threads) {
      this.threads = Math.max(this.core, this.threads - this.step);
    }
  }

  private drain(): void {
    for (let next = this.queue[0]; this.busy < this.threads && next; next = this.queue[0]) {
      this.queue.shift();
      next();
    }
  }
}
