// The registry of expectation kinds: one line per kind. Adding a kind is its module (a KindHandler) and a line here;
// KindRegistry makes a kind of the Expectation union without a handler a compile error.
import type { Expectation } from '../spec/types.ts';
import type { KindHandler, KindRegistry } from './kind.ts';
import { distributionKind } from './distribution.ts';
import { statusKind } from './status.ts';
import { retriesKind } from './retries.ts';
import { rateLimitedKind } from './rate-limited.ts';
import { deniedKind } from './denied.ts';
import { latencyKind } from './latency.ts';
import { flagsKind } from './flags.ts';
import { reconcileKind } from './reconcile.ts';
import { counterKind } from './counter.ts';
import { stickyKind } from './sticky.ts';

export const kinds: KindRegistry = {
  distribution: distributionKind,
  status: statusKind,
  retries: retriesKind,
  rateLimited: rateLimitedKind,
  denied: deniedKind,
  latency: latencyKind,
  flags: flagsKind,
  reconcile: reconcileKind,
  counter: counterKind,
  sticky: stickyKind,
};

type AnyHandler = KindHandler<{ kind: string }>;

/** Kinds added at run time beside the built-in ones (tests add a kind of their own this way). */
const added = new Map<string, AnyHandler>();

/** Adds a kind beside the built-in ones; returns the function that removes it again. */
export function registerKind<E extends { kind: string }>(name: E['kind'], handler: KindHandler<E>): () => void {
  if (name in kinds || added.has(name)) throw new Error(`expectation kind "${name}" is already registered`);
  added.set(name, handler as unknown as AnyHandler);
  return () => added.delete(name);
}

/** The handler of a kind (built-in or added); undefined for a kind nobody registered (e.g. in an old result file). */
export function kindHandler(kind: string): AnyHandler | undefined {
  if (Object.hasOwn(kinds, kind)) return kinds[kind as Expectation['kind']] as unknown as AnyHandler;
  return added.get(kind);
}

/** The handler of an expectation's kind; a kind nobody registered is a programming error. */
export function handlerOf(expectation: { kind: string }): AnyHandler {
  const handler = kindHandler(expectation.kind);
  if (!handler) throw new Error(`no handler for expectation kind "${expectation.kind}" (src/assertions/kinds.ts)`);
  return handler;
}
