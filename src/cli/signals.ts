// SIGINT/SIGTERM → runner.interrupt(); the runner restores before the process exits (exit 130).

export interface Interruptible {
  interrupt(signal: string): void;
}

/** Install handlers for the duration of a run; returns a function that removes them. */
export function handleSignals(target: Interruptible): () => void {
  const onSignal = (signal: NodeJS.Signals) => target.interrupt(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
