// The header checks Istio's validation makes on a VirtualService (istio/istio pkg/config/validation), plus the rule
// Envoy's own config validation adds, so that what Istio or Envoy would refuse is bad input before anything runs.
import type { PathSegment } from '../../spec/yaml-source.ts';

export interface HeaderProblem {
  /** Path below the object that holds the problem, e.g. `['spec', 'http', 0, 'headers', 'request', 'set', ':path']`. */
  path: PathSegment[];
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** RFC 7230 token characters (validation.go validHeaderNameRegex). */
const TOKEN = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;
/** validation.go httpHeaderValueRegexp: no control character but tab. */
const BAD_VALUE_CHAR = /[\u0000-\u0008\u000A-\u001F\u007F]/;
/**
 * Envoy's config/core/v3/base.proto HeaderValue.key (and route_components.proto's *_headers_to_remove items):
 * well_known_regex HTTP_HEADER_NAME, strict false, i.e. no NUL, CR or LF; Envoy NACKs a route that has one, which Istio
 * alone would let through (an Istio-valid config that never takes effect).
 */
const BAD_NAME_CHAR = /[\u0000\r\n]/;
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);

/** `x` shown in a message: quoted, control characters escaped. */
const shown = (s: string) => JSON.stringify(s);

/** isInternalHeader in validation/virtualservice.go and route.go: a ":" prefix or Host, which Envoy cannot modify. */
function isInternalHeader(name: string): boolean {
  return name.startsWith(':') || name.toLowerCase() === 'host';
}

/** isAuthorityHeader in validation/virtualservice.go: `:authority` or `host` (either case), an authority rewrite. */
export function isAuthorityHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === ':authority' || lower === 'host';
}

function envoyNameProblem(name: string): string | undefined {
  if (BAD_NAME_CHAR.test(name)) return `invalid header ${shown(name)}: a header name cannot contain NUL, CR or LF (Envoy refuses the route configuration)`;
  return undefined;
}

/** validation.go ValidateHTTPHeaderWithAuthorityOperationName: request `set`/`add` (`:authority` and `host` rewrite the authority). */
function requestSetNameProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (isInternalHeader(name) && !isAuthorityHeader(name)) return `invalid header ${shown(name)}: header cannot have ":" prefix`;
  return envoyNameProblem(name);
}

/** validation.go ValidateHTTPHeaderOperationName: request `remove` and every response operation. */
function operationNameProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (name.toLowerCase() === 'host') return `invalid header ${shown(name)}: cannot set Host header`;
  if (isInternalHeader(name)) return `invalid header ${shown(name)}: header cannot have ":" prefix`;
  return envoyNameProblem(name);
}

/**
 * validation.go ValidateHTTPHeaderValue: no control character but tab, and a well-formed `%VAR%` / `%VAR(...)%`
 * formatter syntax with `%%` as a literal percent (header_value_validator.go validateHeaderValue, itself a port of
 * Envoy's router/header_parser.cc).
 */
export function headerValueProblem(value: string): string | undefined {
  if (BAD_VALUE_CHAR.test(value)) return `header value configuration ${shown(value)} is invalid (control characters other than tab are not allowed)`;
  const syntax = formatterSyntaxProblem(value);
  return syntax === undefined ? undefined : `header value configuration: ${syntax}`;
}

type State = 'literal' | 'name' | 'expectArray' | 'expectString' | 'string' | 'expectDelimiterOrEnd' | 'expectArgsEnd' | 'expectVariableEnd';

/** The state machine of header_value_validator.go validateHeaderValue. */
function formatterSyntaxProblem(value: string): string | undefined {
  let state: State = 'literal';
  for (let pos = 0; pos < value.length; pos++) {
    const ch = value[pos];
    const hasNext = pos + 1 < value.length;
    switch (state) {
      case 'literal':
        if (ch !== '%') break;
        if (!hasNext) return 'invalid header configuration. Un-escaped %';
        if (value[pos + 1] === '%') pos++;
        else state = 'name';
        break;
      case 'name':
        if (ch === '%') state = 'literal';
        else if (ch === '(') state = 'expectArray';
        break;
      case 'expectArray':
        if (ch === '[') state = 'expectString';
        else if (ch !== ' ') state = 'string';
        break;
      case 'expectDelimiterOrEnd':
        if (ch === ',') state = 'expectString';
        else if (ch === ']') state = 'expectArgsEnd';
        else if (ch !== ' ') return "invalid header configuration. Expecting ',', ']', or whitespace";
        break;
      case 'expectString':
        if (ch === '"') state = 'string';
        else if (ch !== ' ') return `invalid header configuration. Expecting '"'`;
        break;
      case 'string':
        if (ch === '\\') {
          if (!hasNext) return 'invalid header configuration. Un-terminated backslash in JSON string';
          pos++;
        } else if (ch === ')') state = 'expectVariableEnd';
        else if (ch === '"') state = 'expectDelimiterOrEnd';
        break;
      case 'expectArgsEnd':
        if (ch === ')') state = 'expectVariableEnd';
        else if (ch !== ' ') return "invalid header configuration. Expecting ')' or whitespace";
        break;
      case 'expectVariableEnd':
        if (ch === '%') state = 'literal';
        else if (ch !== ' ') return "invalid header configuration. Expecting '%' or whitespace after";
        break;
    }
  }
  return state === 'literal' ? undefined : `invalid header configuration. Un-terminated variable expression ${shown(value)}`;
}

/**
 * validation.go ValidateHTTPHeaderNameOrJwtClaimRoute, for `match[].headers` and `withoutHeaders` names: a JWT claim
 * (`@request.auth.claims.x` or `@request.auth.claims[x]`, pkg/jwt ToRoutingClaim), a pseudo-header, or a token.
 */
export function matchHeaderNameProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  const claimPrefix = '@request.auth.claims';
  if (name.toLowerCase().startsWith(claimPrefix)) {
    const rest = name.slice(claimPrefix.length);
    if ((rest.startsWith('.') && rest.length > 1) || (rest.startsWith('[') && rest.endsWith(']') && rest.length > 2)) return undefined;
  }
  if (PSEUDO_HEADERS.has(name)) return undefined;
  if (!TOKEN.test(name)) return `header name ${shown(name)} is not a valid header name`;
  return undefined;
}

const BY_ISTIO = " (refused by Istio's validation)";

/**
 * What Istio (or Envoy) refuses in one entry of a header operation: `name` (and `value` for set/add) of
 * `headers.<direction>.<op>`, as validateHTTPRoute and validateHTTPRouteDestinations check route- and destination-level
 * blocks alike. Undefined when it is valid.
 */
export function headerOperationProblem(direction: 'request' | 'response', op: 'set' | 'add' | 'remove', name: string, value?: string): string | undefined {
  const nameProblem = direction === 'request' && op !== 'remove' ? requestSetNameProblem(name) : operationNameProblem(name);
  if (nameProblem) return nameProblem.includes('Envoy') ? nameProblem : nameProblem + BY_ISTIO;
  const valueProblem = value === undefined ? undefined : headerValueProblem(value);
  return valueProblem && valueProblem + BY_ISTIO;
}

/** Problems of one `headers` block (route or destination level). */
function headersBlockProblems(headers: unknown, at: PathSegment[]): HeaderProblem[] {
  if (!isObject(headers)) return [];
  const out: HeaderProblem[] = [];
  for (const direction of ['request', 'response'] as const) {
    const ops = headers[direction];
    if (!isObject(ops)) continue;
    for (const op of ['set', 'add'] as const) {
      const entries = ops[op];
      if (!isObject(entries)) continue;
      for (const [name, value] of Object.entries(entries)) {
        const problem = headerOperationProblem(direction, op, name, typeof value === 'string' ? value : undefined);
        if (problem) out.push({ path: [...at, direction, op, name], message: problem });
      }
    }
    list(ops.remove).forEach((name, i) => {
      const problem = typeof name === 'string' ? headerOperationProblem(direction, 'remove', name) : undefined;
      if (problem) out.push({ path: [...at, direction, 'remove', i], message: problem });
    });
  }
  return out;
}

/** Every header problem Istio's validation (or Envoy's) finds in a VirtualService spec, with the path of each. */
export function virtualServiceHeaderProblems(spec: unknown): HeaderProblem[] {
  if (!isObject(spec)) return [];
  const out: HeaderProblem[] = [];
  list(spec.http).forEach((rule, i) => {
    if (!isObject(rule)) return;
    const at: PathSegment[] = ['spec', 'http', i];
    out.push(...headersBlockProblems(rule.headers, [...at, 'headers']));
    list(rule.route).forEach((destination, j) => {
      if (isObject(destination)) out.push(...headersBlockProblems(destination.headers, [...at, 'route', j, 'headers']));
    });
    list(rule.match).forEach((match, k) => {
      if (!isObject(match)) return;
      for (const field of ['headers', 'withoutHeaders'] as const) {
        if (!isObject(match[field])) continue;
        for (const name of Object.keys(match[field])) {
          const problem = matchHeaderNameProblem(name);
          if (problem) out.push({ path: [...at, 'match', k, field, name], message: problem + BY_ISTIO });
        }
      }
    });
  });
  return out;
}
