// The value of a Telemetry tagOverride: a CEL expression Envoy's istio_stats filter evaluates per request
// (istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc, MetricOverrides::getOrCreateExpression parses
// it with google::api::expr::parser::Parse; StreamOverrides::evaluate prints the value, and an evaluation error — a
// missing header, a stream without a response code — gives "unknown"). istiod does not check these expressions
// (pkg/config/validation validateTelemetryMetrics only asks for a value on UPSERT).
//
// Three outcomes for an expression:
// - `attribute`: one of the attribute forms real configurations use, evaluated here;
// - `unparsable`: not CEL at all (a lone `|`, as in the Mixer-era `response.code | "unknown"`, a lone `&`, an
//   unterminated string…): Envoy's parser fails, and istio_stats then drops a standard tag and skips a new one;
// - `unsupported`: anything else (operators, functions, other attributes): refused by the caller, naming the field.

/** What a proxy knows of one request when it counts it. Header names are lower-case. */
export interface RequestAttributes {
  method: string;
  /** The :authority (Host). */
  host: string;
  /** The :path, query included. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The response status; 0 or absent when no response was sent. */
  status?: number;
  /** The downstream connection is mutual TLS (a sidecar's inbound side with a peer certificate). */
  mtls?: boolean;
}

export type CompiledExpression =
  { kind: 'attribute'; evaluate: (a: RequestAttributes) => string } | { kind: 'unparsable'; why: string } | { kind: 'unsupported'; why: string };

const UNKNOWN = 'unknown';

function header(a: RequestAttributes, name: string): string {
  const v = a.headers[name.toLowerCase()];
  if (v === undefined) return UNKNOWN; // CEL map lookup of a missing key is an error
  return Array.isArray(v) ? v.join(',') : v;
}

/** Envoy's request/response/connection attributes (source/extensions/filters/common/expr/context.h) this emulation knows. */
const ATTRIBUTES: Record<string, (a: RequestAttributes) => string> = {
  'request.method': (a) => a.method,
  'request.host': (a) => a.host,
  'request.path': (a) => a.path,
  'request.url_path': (a) => a.path.split('?')[0] ?? a.path,
  'request.query': (a) => a.path.split('?').slice(1).join('?'),
  'request.scheme': () => 'http',
  'request.protocol': () => 'HTTP/1.1',
  'request.id': (a) => header(a, 'x-request-id'),
  'request.useragent': (a) => header(a, 'user-agent'),
  'request.referer': (a) => header(a, 'referer'),
  'response.code': (a) => (a.status ? String(a.status) : UNKNOWN),
  'connection.mtls': (a) => String(a.mtls === true),
};

export const SUPPORTED_ATTRIBUTES = [...Object.keys(ATTRIBUTES), "request.headers['<name>']"];

type Token = { t: 'ident'; v: string } | { t: 'string'; v: string } | { t: 'number'; v: string } | { t: 'op'; v: string };

/** CEL's lexical grammar (cel-spec doc/langdef.md "Syntax"): an error means the parser refuses the expression. */
function tokenize(text: string): Token[] | string {
  const tokens: Token[] = [];
  const ops = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '+', '-', '*', '/', '%', '?', ':', '.', ',', '[', ']', '(', ')', '{', '}'];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      const v = m?.[0] ?? c;
      tokens.push({ t: 'ident', v });
      i += v.length;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?u?/.exec(text.slice(i));
      const v = m?.[0] ?? c;
      tokens.push({ t: 'number', v });
      i += v.length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      for (; j < text.length && text.charAt(j) !== c; j++) {
        if (text.charAt(j) === '\\') {
          const next = text.charAt(++j);
          if (!['\\', '"', "'", '?', '`'].includes(next)) return `escape \\${next} is not emulated`;
          v += next;
        } else if (text.charAt(j) === '\n') return 'a newline inside a string literal';
        else v += text.charAt(j);
      }
      if (j >= text.length) return 'an unterminated string literal';
      tokens.push({ t: 'string', v });
      i = j + 1;
      continue;
    }
    const op = ops.find((o) => text.startsWith(o, i));
    if (!op)
      return `${JSON.stringify(c)} at offset ${i} is not a CEL token${c === '|' ? ' (CEL has `||`, a boolean or; Mixer’s `a | b` default is gone)' : ''}`;
    tokens.push({ t: 'op', v: op });
    i += op.length;
  }
  return tokens;
}

/** Compiles a tagOverride value. */
export function compileExpression(text: string): CompiledExpression {
  const tokens = tokenize(text);
  if (typeof tokens === 'string') return { kind: 'unparsable', why: tokens };
  const unsupported = (): CompiledExpression => ({
    kind: 'unsupported',
    why: `the local target evaluates a string literal or one attribute (${SUPPORTED_ATTRIBUTES.join(', ')}), found ${JSON.stringify(text)}`,
  });
  const [first, ...rest] = tokens;
  if (first === undefined) return { kind: 'unparsable', why: 'an empty expression' };
  if (first.t === 'string' && rest.length === 0) return { kind: 'attribute', evaluate: () => first.v };
  // ident ('.' ident)* , optionally request.headers[STRING]
  const parts: string[] = [];
  let k = 0;
  for (;;) {
    const tok = tokens[k];
    if (tok?.t !== 'ident') return unsupported();
    parts.push(tok.v);
    k++;
    if (tokens[k]?.t === 'op' && tokens[k]?.v === '.') {
      k++;
      continue;
    }
    break;
  }
  const path = parts.join('.');
  if (k === tokens.length) {
    const attribute = ATTRIBUTES[path];
    return attribute ? { kind: 'attribute', evaluate: attribute } : unsupported();
  }
  const [open, key, close, ...after] = tokens.slice(k);
  if (path === 'request.headers' && open?.v === '[' && key?.t === 'string' && close?.v === ']' && after.length === 0) {
    const name = key.v;
    return { kind: 'attribute', evaluate: (a) => header(a, name) };
  }
  return unsupported();
}
