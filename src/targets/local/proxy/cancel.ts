// A cancellation flag with listeners, for the proxies' per-request "downstream gone / timed out" signals.
// AbortController/AbortSignal (an EventTarget) cost about 3 % of the mesh process per page in a profile of bench row 2;
// this does the same job for code that only needs abort(), `aborted` and one-shot listeners.

export class Cancellation {
  aborted = false;
  private listeners: (() => void)[] | undefined;

  /** Runs `listener` once when aborted (never, if already aborted: check `aborted` first). */
  onAbort(listener: () => void): void {
    if (this.aborted) return;
    if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener];
  }

  off(listener: () => void): void {
    const list = this.listeners;
    if (!list) return;
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const list = this.listeners;
    this.listeners = undefined;
    if (list) for (const listener of list) listener();
  }
}
