/**
 * The value a lookup must find: a programming error (exit 3 with a stack trace) names what was missing when it does not.
 * For indexes the code has just proven in range (a regex's mandatory group, a non-empty list's first element).
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`internal error: ${what} is missing`);
  return value;
}

/** `values[i]` where the code keeps `i` in range (typed arrays in hot loops): a RangeError names the index when not. */
export function elementAt<T>(values: ArrayLike<T>, i: number): T {
  const value = values[i];
  if (value === undefined) throw new RangeError(`index ${i} is outside the ${values.length} values`);
  return value;
}
