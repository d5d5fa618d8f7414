// Fans one stream of run events out to several listeners (terminal, logs, ...), as Playwright's multiplexer does.
// A listener that throws does not stop the others or the run.
import type { RunListener } from '../runner/events.ts';

type Method = keyof RunListener;
const methods: Method[] = ['onRunStart', 'onExperimentStart', 'onPhase', 'onLoadProgress', 'onExperimentEnd', 'onRunEnd', 'onMessage'];

export function multiplex(listeners: RunListener[], onError: (error: unknown, method: string) => void = () => {}): Required<RunListener> {
  const out = {} as Record<Method, (...args: unknown[]) => void>;
  for (const method of methods) {
    out[method] = (...args: unknown[]) => {
      for (const listener of listeners) {
        const fn = listener[method] as ((...a: unknown[]) => void) | undefined;
        if (!fn) continue;
        try {
          fn.apply(listener, args);
        } catch (error) {
          onError(error, method);
        }
      }
    };
  }
  return out as unknown as Required<RunListener>;
}
