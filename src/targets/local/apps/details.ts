// details (Ruby/WEBrick in the sample, istio/istio samples/bookinfo/src/details/details.rb).
import { json, type AppContext, type AppHandler } from './types.ts';

const notFound = (path: string) => ({
  status: 404,
  headers: { 'content-type': 'text/html; charset=ISO-8859-1' },
  body: `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<HTML>\n  <HEAD><TITLE>Not Found</TITLE></HEAD>\n  <BODY>\n    <H1>Not Found</H1>\n    \`${path}' not found.\n    <HR>\n  </BODY>\n</HTML>\n`,
});

/** WEBrick's error page for a method its ProcHandler has no do_<METHOD> for (AbstractServlet#service). */
const methodNotAllowed = (method: string) => ({
  status: 405,
  headers: { 'content-type': 'text/html; charset=ISO-8859-1' },
  body: `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<HTML>\n  <HEAD><TITLE>Method Not Allowed</TITLE></HEAD>\n  <BODY>\n    <H1>Method Not Allowed</H1>\n    unsupported method \`${method}'.\n    <HR>\n  </BODY>\n</HTML>\n`,
});

/** WEBrick's mount_proc handler serves GET, HEAD, POST and PUT (ProcHandler do_GET and its aliases). */
const servedMethods = new Set(['GET', 'HEAD', 'POST', 'PUT']);

/**
 * Ruby's Integer(string), which details.rb applies to the last path segment: optional sign, 0x/0b/0o/0d prefixes,
 * a leading 0 for octal, single underscores between digits, surrounding whitespace. undefined where Ruby raises.
 */
export function rubyInteger(text: string): number | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*|0[bB][01]+(?:_[01]+)*|0[oO]?[0-7]+(?:_[0-7]+)*|0[dD]\d+(?:_\d+)*|[1-9]\d*(?:_\d+)*|0)\s*$/.exec(
    text,
  );
  const [, sign, number] = m ?? [];
  if (number === undefined) return undefined;
  const digits = number.replace(/_/g, '');
  let value: number;
  if (/^0[xX]/.test(digits)) value = parseInt(digits.slice(2), 16);
  else if (/^0[bB]/.test(digits)) value = parseInt(digits.slice(2), 2);
  else if (/^0[dD]/.test(digits)) value = parseInt(digits.slice(2), 10);
  else if (/^0[oO]/.test(digits)) value = parseInt(digits.slice(2), 8);
  else if (digits.length > 1 && digits.startsWith('0')) value = parseInt(digits.slice(1), 8);
  else value = parseInt(digits, 10);
  return sign === '-' ? -value : value;
}

export function createDetails(_ctx: AppContext): AppHandler {
  return async (req) => {
    const [path = ''] = req.path.split('?');
    const mounted = path === '/health' || path.startsWith('/health/') || path === '/details' || path.startsWith('/details/');
    if (mounted && !servedMethods.has(req.method)) return methodNotAllowed(req.method);
    if (path === '/health' || path.startsWith('/health/')) return json(200, { status: 'Details is healthy' });
    if (path === '/details' || path.startsWith('/details/')) {
      const last =
        path
          .split('/')
          .filter((p) => p !== '')
          .pop() ?? '';
      const id = rubyInteger(last);
      if (id === undefined) return json(400, { error: 'please provide numeric product id' });
      return json(200, {
        id,
        author: 'William Shakespeare',
        year: 1595,
        type: 'paperback',
        pages: 200,
        publisher: 'PublisherA',
        language: 'English',
        'ISBN-10': '1234567890',
        'ISBN-13': '123-1234567890',
      });
    }
    return notFound(path);
  };
}
