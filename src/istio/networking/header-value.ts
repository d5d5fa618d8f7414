// Header values of VirtualService header operations are Envoy custom-header formats: `%%` is a literal `%` and
// `%NAME%` / `%NAME(args)%` a command operator (envoy docs http_conn_man/headers custom request/response headers).
// Checked as Istio checks them (pkg/config/validation/header_value_validator.go validateHeaderValue: an un-escaped
// `%` that opens no operator is refused); operators are refused by the local target, which does not evaluate them,
// rather than sent as literal text.
import type { FieldPath } from './fields.ts';

/** The literal value Envoy would send for `value`, or a refusal naming `at`. */
export function readHeaderValue(value: string, at: FieldPath): string {
  // validation.go ValidateHTTPHeaderValue: no control characters other than tab.
  if (/[\u0000-\u0008\u000A-\u001F\u007F]/.test(value)) throw at.error(`header value configuration ${JSON.stringify(value)} is invalid (control characters)`);
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value.charAt(i);
    if (ch !== '%') {
      out += ch;
      continue;
    }
    if (i + 1 >= value.length) throw at.error('header value configuration: invalid header configuration. Un-escaped % (write %% for a literal %)');
    if (value[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    const end = value.indexOf('%', i + 1);
    if (end < 0) throw at.error('header value configuration: invalid header configuration. Un-escaped % (write %% for a literal %)');
    throw at.error(`the Envoy formatter ${value.slice(i, end + 1)} is not evaluated by the local target (write %% for a literal %)`);
  }
  return out;
}
