// RE2 (Envoy's safe_regex engine) run as a JS RegExp. safe_regex matches the whole value
// (source/common/common/regex.cc CompiledGoogleReMatcher::match → re2::RE2::FullMatch), so the pattern is anchored.
// RE2 syntax JS would read differently, or not at all, is refused rather than approximated.

export class UnsupportedRegexError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`safe_regex "${pattern}": ${reason}`);
    this.name = 'UnsupportedRegexError';
  }
}

const REFUSED: [RegExp, string][] = [
  [/\(\?[imsU-]+[):]/, 'inline flags such as (?i) have no JavaScript equivalent here'],
  [/\(\?<?[=!]/, 'look-around is not RE2 (Envoy rejects it)'],
  [/\\[1-9]/, 'back-references are not RE2 (Envoy rejects them)'],
  [/\\[AzCQE]/, '\\A, \\z, \\C and \\Q…\\E are RE2-only escapes'],
  [/\[\[:/, 'POSIX classes such as [[:alpha:]] are RE2-only'],
  [/\\[pP][A-Za-z]/, 'one-letter Unicode classes (\\pL) are RE2-only; write \\p{L}'],
];

const cache = new Map<string, RegExp>();

/** The pattern as JavaScript RegExp source (unanchored), or an UnsupportedRegexError. */
function jsSource(pattern: string): string {
  // Checked on the pattern with escaped backslashes removed, so `\\1` (a literal backslash then 1) is not refused.
  const unescaped = pattern.replace(/\\\\/g, '');
  for (const [probe, reason] of REFUSED) if (probe.test(unescaped)) throw new UnsupportedRegexError(pattern, reason);
  return pattern.replace(/\(\?P</g, '(?<');
}

function compile(pattern: string, source: string, flags: string): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new UnsupportedRegexError(pattern, `not a regular expression JavaScript runs the same way (${(error as Error).message})`);
  }
}

/** A RegExp that matches exactly the strings RE2::FullMatch(pattern) accepts, or an UnsupportedRegexError. */
export function compileSafeRegex(pattern: string): RegExp {
  const cached = cache.get(pattern);
  if (cached) return cached;
  const regex = compile(pattern, `^(?:${jsSource(pattern)})$`, 'u');
  cache.set(pattern, regex);
  return regex;
}

/** A global RegExp finding every (unanchored) match of the pattern, for RE2::GlobalReplace. */
export function compileSafeRegexGlobal(pattern: string): RegExp {
  return compile(pattern, jsSource(pattern), 'gu');
}

export function fullMatch(pattern: string, value: string): boolean {
  return compileSafeRegex(pattern).test(value);
}
