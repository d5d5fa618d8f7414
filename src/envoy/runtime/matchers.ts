// StringMatcher and HeaderMatcher as Envoy evaluates them: source/common/common/matchers.cc (StringMatcherImpl::match)
// and source/common/http/header_utility.cc (HeaderUtility::matchHeaders, HeaderDataBaseImpl::matchesHeaders).
import type { HeaderMatcher, JsonValue, MetadataMatcher, StringMatcher, ValueMatcher } from '../model/index.ts';
import { fullMatch } from './re2.ts';
import { must } from '../../must.ts';

/** Request headers by lower-case name; a repeated header is a list. */
export type Headers = Record<string, string | readonly string[] | undefined>;

/** A stream's dynamic metadata by filter name, e.g. envoy.filters.http.jwt_authn → {payload: claims} as Istio configures it. */
export type DynamicMetadata = Record<string, Record<string, JsonValue>>;

export function matchString(matcher: StringMatcher, value: string): boolean {
  const fold = (s: string) => (matcher.ignore_case ? s.toLowerCase() : s);
  if (matcher.exact !== undefined) return fold(value) === fold(matcher.exact);
  if (matcher.prefix !== undefined) return fold(value).startsWith(fold(matcher.prefix));
  if (matcher.suffix !== undefined) return fold(value).endsWith(fold(matcher.suffix));
  if (matcher.contains !== undefined) return fold(value).includes(fold(matcher.contains));
  // ignore_case "has no effect for the safe_regex match" (api/envoy/type/matcher/v3/string.proto).
  if (matcher.safe_regex !== undefined) return fullMatch(matcher.safe_regex.regex, value);
  throw new Error('StringMatcher: none of exact, prefix, suffix, contains, safe_regex is set');
}

/** HeaderUtility::getAllOfHeaderAsString: every value of the header joined with ",", or undefined when absent. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.length === 0 ? undefined : value.join(',');
}

// absl::SimpleAtoi on int64: optional sign, digits, surrounding whitespace allowed.
const INT64 = /^\s*[+-]?\d+\s*$/;

export function matchHeader(matcher: HeaderMatcher, headers: Headers): boolean {
  const value = headerValue(headers, matcher.name);
  const invert = matcher.invert_match === true;
  const isPresentMatch =
    matcher.present_match !== undefined ||
    (matcher.exact_match === undefined &&
      matcher.safe_regex_match === undefined &&
      matcher.range_match === undefined &&
      matcher.prefix_match === undefined &&
      matcher.suffix_match === undefined &&
      matcher.contains_match === undefined &&
      matcher.string_match === undefined);
  if (isPresentMatch) {
    // HeaderDataPresentMatch: no specifier at all means present_match: true.
    // HeaderUtility::matchHeaders: a missing header treated as empty counts as present.
    const wanted = matcher.present_match ?? true;
    const present = value !== undefined || matcher.treat_missing_header_as_empty === true;
    return (wanted === present) !== invert;
  }
  // HeaderDataBaseImpl::matchesHeaders: an absent header matches nothing, inverted or not, unless treated as empty.
  if (value === undefined && matcher.treat_missing_header_as_empty !== true) return false;
  return specificMatch(matcher, value ?? '') !== invert;
}

function specificMatch(m: HeaderMatcher, value: string): boolean {
  // HeaderMatchType::Value: an empty exact_match matches any value.
  if (m.exact_match !== undefined) return m.exact_match === '' || value === m.exact_match;
  if (m.safe_regex_match !== undefined) return fullMatch(m.safe_regex_match.regex, value);
  if (m.prefix_match !== undefined) return value.startsWith(m.prefix_match);
  if (m.suffix_match !== undefined) return value.endsWith(m.suffix_match);
  if (m.contains_match !== undefined) return value.includes(m.contains_match);
  if (m.string_match !== undefined) return matchString(m.string_match, value);
  const range = must(m.range_match, 'range_match (the one specifier left once the present match is ruled out)');
  if (!INT64.test(value)) return false;
  const n = BigInt(value.trim());
  return n >= BigInt(range.start) && n < BigInt(range.end);
}

/** HeaderUtility::matchHeaders: every matcher must match. */
export function matchHeaders(matchers: readonly HeaderMatcher[] | undefined, headers: Headers): boolean {
  return (matchers ?? []).every((m) => matchHeader(m, headers));
}

/** MetadataMatcher::match: the value at filter/path, through Struct fields, matched by the ValueMatcher, then invert. */
export function matchMetadata(matcher: MetadataMatcher, metadata: DynamicMetadata | undefined): boolean {
  let value: JsonValue | undefined = metadata?.[matcher.filter];
  for (const { key } of matcher.path) {
    value = value !== null && typeof value === 'object' && !Array.isArray(value) ? value[key] : undefined;
  }
  return matchValue(matcher.value, value) !== (matcher.invert === true);
}

/** ValueMatcher (source/common/common/matchers.cc); undefined is a value that is not set. */
export function matchValue(m: ValueMatcher, value: JsonValue | undefined): boolean {
  if (m.null_match) return value === null;
  if (m.present_match !== undefined) return m.present_match && value !== undefined;
  if (m.string_match) return typeof value === 'string' && matchString(m.string_match, value);
  if (m.bool_match !== undefined) return value === m.bool_match;
  if (m.double_match) {
    if (typeof value !== 'number') return false;
    if (m.double_match.exact !== undefined) return value === m.double_match.exact;
    return m.double_match.range !== undefined && value >= m.double_match.range.start && value < m.double_match.range.end;
  }
  const list = m.list_match;
  if (list) return Array.isArray(value) && value.some((v) => matchValue(list.one_of, v));
  if (m.or_match) return m.or_match.value_matchers.some((v) => matchValue(v, value));
  throw new Error('ValueMatcher: no match is set');
}
