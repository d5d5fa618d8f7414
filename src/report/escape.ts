// Escaping for HTML and XML. Every string that came from a run (bodies, headers, names, labels) is untrusted.

/** Characters XML 1.0 forbids (C0 controls except tab/newline/CR, lone surrogates, U+FFFE/FFFF). */
const invalidXmlChars = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replace characters that cannot appear in an XML or HTML document with U+FFFD. */
export function stripInvalidChars(text: string): string {
  return text.replace(invalidXmlChars, '\uFFFD');
}

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe in element text and in quoted attribute values, for both HTML and XML. */
export function escapeMarkup(text: string): string {
  return stripInvalidChars(text).replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

/** Markup that is already safe: built by `html` below or produced by the SVG sanitizer. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Trust a string as markup. Only for our own constant markup and sanitized SVG. */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

function interpolate(value: Interpolation): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeMarkup(String(value));
}

/** Tagged template: interpolated values are escaped unless they are SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  const out = values.reduce<string>((text, value, i) => text + interpolate(value) + (strings[i + 1] ?? ''), strings[0] ?? '');
  return new SafeHtml(out);
}
