// How productpage sees and re-sends a path segment: the WSGI server decodes the request path the way Python's
// urllib.parse.unquote does (a malformed escape such as `%ZZ` stays as it is, invalid UTF-8 becomes U+FFFD; it never
// fails), and `requests` re-quotes the URL it is given (requests/utils.py requote_uri: unquote the unreserved escapes
// and quote the rest; on a malformed escape, quote every `%` too).

const hexPair = /^[0-9A-Fa-f]{2}$/;

/** Python's urllib.parse.unquote (encoding utf-8, errors 'replace'). */
export function pythonUnquote(text: string): string {
  if (!text.includes('%')) return text;
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) out += Buffer.from(bytes).toString('utf8');
    bytes = [];
  };
  for (let i = 0; i < text.length; i++) {
    const pair = text.slice(i + 1, i + 3);
    if (text[i] === '%' && hexPair.test(pair)) {
      bytes.push(parseInt(pair, 16));
      i += 2;
    } else {
      flush();
      out += text.charAt(i);
    }
  }
  flush();
  return out;
}

const unreserved = /^[A-Za-z0-9\-._~]$/;
const alphanumericPair = /^[\p{L}\p{N}]{2}$/u;
const alwaysSafe = /[A-Za-z0-9_.\-~]/;

/** requests.utils.unquote_unreserved; undefined where requests raises InvalidURL. */
function unquoteUnreserved(uri: string): string | undefined {
  const [head = '', ...escaped] = uri.split('%');
  const parts = [head];
  for (const part of escaped) {
    const h = Array.from(part).slice(0, 2).join(''); // two characters (code points), as Python indexes a str
    if (alphanumericPair.test(h)) {
      if (!hexPair.test(h)) return undefined;
      const c = String.fromCharCode(parseInt(h, 16));
      parts.push(unreserved.test(c) ? c + part.slice(2) : `%${part}`);
    } else {
      parts.push(`%${part}`);
    }
  }
  return parts.join('');
}

/** Python's urllib.parse.quote(text, safe). */
function pythonQuote(text: string, safe: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && (alwaysSafe.test(c) || safe.includes(c)) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** requests.utils.requote_uri. */
export function requoteUri(uri: string): string {
  const unquoted = unquoteUnreserved(uri);
  return unquoted === undefined ? pythonQuote(uri, "!#$&'()*+,/:;=?@[]~") : pythonQuote(unquoted, "!#$%&'()*+,/:;=?@[]~");
}
