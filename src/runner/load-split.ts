// Requests with different entry points (the ingress gateway, or a service straight from outside the mesh) cannot
// share one driver run, which has a single base URL: the load is split into one part per entry point, each part
// getting the share of rate / connections / requests that its requests' weights give it.
import type { LoadPlan, LoadProgress, LoadSummary } from '../load/driver.ts';
import type { RequestSpec } from '../spec/types.ts';
import { must } from '../must.ts';

export interface EntryGroup {
  baseUrl: string;
  /** Indices into the experiment's request list. */
  indices: number[];
}

export interface LoadPart {
  plan: LoadPlan;
  /** Maps the part's request index back to the experiment's. */
  indices: number[];
}

/** Groups requests by the base URL each one goes to, keeping first-appearance order. */
export function groupByEntry(requests: RequestSpec[], baseUrlOf: (request: RequestSpec) => string): EntryGroup[] {
  const groups = new Map<string, EntryGroup>();
  requests.forEach((request, i) => {
    const baseUrl = baseUrlOf(request);
    const group = groups.get(baseUrl) ?? { baseUrl, indices: [] };
    group.indices.push(i);
    groups.set(baseUrl, group);
  });
  return [...groups.values()];
}

/**
 * Splits `amount` by `shares` into integers that sum to it (largest remainders). A `floor` raises small parts to it,
 * so the sum may then exceed `amount` (every closed-model part needs a connection).
 */
export function apportion(amount: number, shares: number[], floor = 0): number[] {
  const total = shares.reduce((a, b) => a + b, 0);
  const exact = shares.map((s) => (amount * s) / total);
  const parts = exact.map(Math.floor);
  let left = amount - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    parts[i] = (parts[i] ?? 0) + 1;
    left--;
  }
  return parts.map((p) => Math.max(p, floor));
}

/** One plan per entry group; a single group gives the plan unchanged. */
export function splitPlan(plan: LoadPlan, groups: EntryGroup[]): LoadPart[] {
  const [only] = groups;
  if (only && groups.length === 1) return [{ plan: { ...plan, baseUrl: only.baseUrl }, indices: only.indices }];
  const requestAt = (i: number) => must(plan.requests[i], `request ${i} of the plan`);
  const shares = groups.map((g) => g.indices.reduce((sum, i) => sum + requestAt(i).weight, 0));
  const total = shares.reduce((a, b) => a + b, 0);
  const connections = plan.model.kind === 'closed' ? apportion(plan.model.connections, shares, 1) : [];
  // A request count is never exceeded: a part whose share rounds to no request is left out.
  const counts = plan.totalRequests !== undefined && Number.isFinite(plan.totalRequests) ? apportion(plan.totalRequests, shares) : undefined;
  const ofPart = <T>(values: T[], g: number, what: string): T => must(values[g], `the ${what} of load part ${g}`);
  const parts: LoadPart[] = groups.map((group, g) => ({
    indices: group.indices,
    plan: {
      ...plan,
      baseUrl: group.baseUrl,
      requests: group.indices.map(requestAt),
      model:
        plan.model.kind === 'open'
          ? { kind: 'open', rate: (plan.model.rate * ofPart(shares, g, 'share')) / total }
          : { kind: 'closed', connections: ofPart(connections, g, 'connections') },
      ...(counts ? { totalRequests: ofPart(counts, g, 'request count') } : {}),
      seed: plan.seed + g,
    },
  }));
  return counts ? parts.filter((_, g) => ofPart(counts, g, 'request count') > 0) : parts;
}

/** `parts` names each part (its requests and entry point), so the note lists exactly the parts that ran. */
export function mergeSummaries(summaries: LoadSummary[], parts?: string[]): LoadSummary {
  const first = must(summaries[0], 'a load summary to merge');
  if (summaries.length === 1) return first;
  const sum = (pick: (s: LoadSummary) => number | undefined) => summaries.reduce((a, s) => a + (pick(s) ?? 0), 0);
  const dropped = summaries.some((s) => s.droppedIterations !== undefined) ? { droppedIterations: sum((s) => s.droppedIterations) } : {};
  const failedExit = summaries.find((s) => s.exitCode !== undefined && s.exitCode !== 0)?.exitCode ?? summaries.find((s) => s.exitCode !== undefined)?.exitCode;
  return {
    driver: first.driver,
    sent: sum((s) => s.sent),
    answered: sum((s) => s.answered),
    errored: sum((s) => s.errored),
    durationMs: Math.max(...summaries.map((s) => s.durationMs)),
    ...dropped,
    ...(failedExit !== undefined ? { exitCode: failedExit } : {}),
    notes: [
      `the load ran as ${summaries.length} parallel parts, one per entry point${parts?.length === summaries.length ? `: ${parts.join('; ')}` : ''}`,
      ...new Set(summaries.flatMap((s) => s.notes)),
    ],
  };
}

export function mergeProgress(parts: (LoadProgress | undefined)[]): LoadProgress {
  const merged: LoadProgress = { elapsedMs: 0, sent: 0, answered: 0, errored: 0, byStatus: {} };
  for (const p of parts) {
    if (!p) continue;
    merged.elapsedMs = Math.max(merged.elapsedMs, p.elapsedMs);
    merged.sent += p.sent;
    merged.answered += p.answered;
    merged.errored += p.errored;
    for (const [status, n] of Object.entries(p.byStatus)) merged.byStatus[status] = (merged.byStatus[status] ?? 0) + n;
  }
  return merged;
}
