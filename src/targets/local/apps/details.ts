// details (Ruby/WEBrick in the sample, istio/istio samples/bookinfo/src/details/details.rb).
import { json, type AppContext, type AppHandler } from './types.ts';

const notFound = (path: string) => ({
  status: 404,
  headers: { 'content-type': 'text/html; charset=ISO-8859-1' },
  body: `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<HTML>\n  <HEAD><TITLE>Not Found</TITLE></HEAD>\n  <BODY>\n    <H1>Not Found</H1>\n    \`${path}' not found.\n    <HR>\n  </BODY>\n</HTML>\n`,
});

export function createDetails(_ctx: AppContext): AppHandler {
  return async (req) => {
    const path = req.path.split('?')[0];
    if (path === '/health' || path.startsWith('/health/')) return json(200, { status: 'Details is healthy' });
    if (path === '/details' || path.startsWith('/details/')) {
      const last = path.split('/').filter((p) => p !== '').pop() ?? '';
      if (!/^[+-]?\d+$/.test(last)) return json(400, { error: 'please provide numeric product id' });
      const id = Number(last);
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
