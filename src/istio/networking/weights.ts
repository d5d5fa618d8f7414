// Istio's rules for a route's destination weights, in one place: what its validation accepts (istio/istio
// pkg/config/validation validateWeight: an int32 >= 0, "weight %d < 0"; validateHTTPRouteDestinations: "total
// destination weight = 0" when several destinations add up to 0) and how pilot routes by them (route.go: a single
// destination takes every request whatever its weight; a 0-weight destination of several gets none; weights are
// relative shares of their total, they need not add up to 100). Used by the local target's parser, `validate`'s
// checks and the pitfall warnings alike.

/** Route weights are int32 in Istio's API. */
export const MAX_WEIGHT = 2 ** 31 - 1;

/** Whether a weight as written is one Istio accepts: left out (0, as proto3 reads it), or an int32 >= 0. */
export function isValidWeight(weight: unknown): boolean {
  return weight === undefined || (typeof weight === 'number' && Number.isInteger(weight) && weight >= 0 && weight <= MAX_WEIGHT);
}

/** The weight a destination routes by: a single destination takes all (100); otherwise as written, left out = 0. */
export function routedWeights(weights: readonly (number | undefined)[]): number[] {
  if (weights.length === 1) return [100];
  return weights.map((w) => w ?? 0);
}

/** Each destination's share of requests in percent, or undefined when the weights add up to 0 (Istio refuses it). */
export function weightShares(weights: readonly (number | undefined)[]): number[] | undefined {
  const routed = routedWeights(weights);
  const total = routed.reduce((a, b) => a + b, 0);
  if (total <= 0) return undefined;
  return routed.map((w) => (100 * w) / total);
}
