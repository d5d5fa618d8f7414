// Istio StringMatch (exact / prefix / regex, `{}` meaning "present") and its evaluation.
import { FieldPath, isObj, readString } from './fields.ts';
import type { StringMatcher } from './model.ts';

export function parseStringMatch(value: unknown, at: FieldPath, options: { allowPrefix?: boolean; allowEmpty?: boolean } = {}): StringMatcher {
  if (!isObj(value)) throw at.error('expected a string match such as {exact: ...}, {prefix: ...} or {regex: ...}');
  const entries = Object.entries(value);
  const [entry, ...more] = entries;
  if (entry === undefined) {
    if (options.allowEmpty === false) throw at.error('an empty match is not allowed here');
    return { kind: 'present' };
  }
  if (more.length > 0) throw at.error(`exactly one of exact, prefix, regex is allowed, found ${entries.map(([k]) => k).join(', ')}`);
  const [key, raw] = entry;
  const text = readString(raw, at.key(key));
  switch (key) {
    case 'exact':
      return { kind: 'exact', value: text };
    case 'prefix':
      if (options.allowPrefix === false) throw at.key(key).error('prefix is not supported here (Istio allows exact or regex)');
      return { kind: 'prefix', value: text };
    case 'regex': {
      let regex: RegExp;
      try {
        // Envoy's safe_regex (RE2) must match the whole value.
        regex = new RegExp(`^(?:${text})$`);
      } catch (error) {
        throw at.key(key).error(`invalid regular expression: ${(error as Error).message}`);
      }
      return { kind: 'regex', value: text, regex };
    }
    default:
      throw at.key(key).error('unknown match type (expected exact, prefix or regex)');
  }
}
