/**
 * The value a lookup must find: a programming error (exit 3 with a stack trace) names what was missing when it does not.
 * For indexes the code has just proven in range (a regex's mandatory group, a non-empty list's first element).
 */
export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal error: ${what} is missing`);
  return value;
}
