// productpage (Python/Flask in the sample, istio/istio samples/bookinfo/src/productpage/productpage.py): the page and
// the API; details with a 3 s timeout and one try, reviews with a 3 s timeout and two tries (kept in the sample for
// the fault-injection task); forwards tracing headers, cookie, authorization, jwt and `end-user` from the session.
import { renderIndexPage, renderProductPage, type PageModel } from './productpage-html.ts';
import { sessionCookie, sessionUser } from './session.ts';
import { CallScope, header, json, type AppContext, type AppHandler, type AppRequest, type AppResponse, type HeaderMap } from './types.ts';
import { pythonUnquote, requoteUri } from './url-quoting.ts';

const forwarded = [
  'x-request-id',
  'x-ot-span-context',
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'traceparent',
  'tracestate',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'sw8',
  'user-agent',
  'cookie',
  'authorization',
  'jwt',
];

/**
 * The B3 headers productpage sends on: getForwardHeaders extracts the incoming context with OpenTelemetry's
 * B3MultiFormat and injects it again (opentelemetry-propagator-b3): a single `b3` header wins over the x-b3-* ones;
 * trace and span ids must be 16/32 and 16 hex digits or nothing is sent; the trace id goes out as 32 lower-case hex
 * digits; x-b3-sampled is 1 when sampled was 1/true/True/d (or x-b3-flags 1; 1 by default with a single header),
 * else 0; x-b3-parentspanid and x-b3-flags are not sent.
 */
export function reencodeB3(headers: HeaderMap): Record<string, string> {
  let traceId: string | undefined;
  let spanId: string | undefined;
  let sampled = '0';
  let flags: string | undefined;
  const single = header(headers, 'b3');
  if (single) {
    sampled = '1';
    // Python's split('-', 4): five or more fields match none of the cases, and no ids are read.
    const [first = '', second, third, , ...more] = single.split('-');
    if (second === undefined) sampled = first;
    else if (third === undefined) [traceId, spanId] = [first, second];
    else if (more.length === 0) [traceId, spanId, sampled] = [first, second, third];
  } else {
    traceId = header(headers, 'x-b3-traceid') || undefined;
    spanId = header(headers, 'x-b3-spanid') || undefined;
    sampled = header(headers, 'x-b3-sampled') || sampled;
    flags = header(headers, 'x-b3-flags') || undefined;
  }
  if (traceId === undefined || spanId === undefined || !/^(?:[\da-fA-F]{16}|[\da-fA-F]{32})$/.test(traceId) || !/^[\da-fA-F]{16}$/.test(spanId)) return {};
  const isSampled = ['1', 'True', 'true', 'd'].includes(sampled) || flags === '1';
  return { 'x-b3-traceid': traceId.toLowerCase().padStart(32, '0'), 'x-b3-spanid': spanId.toLowerCase(), 'x-b3-sampled': isSampled ? '1' : '0' };
}

const products = [
  {
    id: 0,
    title: 'The Comedy of Errors',
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
  },
];

const flaskNotFound: AppResponse = {
  status: 404,
  headers: { 'content-type': 'text/html; charset=utf-8' },
  body: '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n',
};

const detailsError = { error: 'Sorry, product details are currently unavailable for this book.' };
const reviewsError = { error: 'Sorry, product reviews are currently unavailable for this book.' };
const ratingsError = { error: 'Sorry, product ratings are currently unavailable for this book.' };

/** markupsafe.escape, which werkzeug's redirect() applies to the location it writes into the page. */
const markupEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };
export function markupEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => markupEscapes[c] ?? c);
}

/** werkzeug.utils.redirect: the Location header as given, the page with the location escaped. */
function redirect(location: string, setCookie?: string): AppResponse {
  const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8', location };
  if (setCookie) headers['set-cookie'] = setCookie;
  const html = markupEscape(location);
  return {
    status: 302,
    headers,
    body: `<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href="${html}">${html}</a>. If not, click the link.\n`,
  };
}

/** Python's int() of an environment value (surrounding whitespace, a sign and digit underscores allowed). */
function pythonInt(text: string): number | undefined {
  const digits = /^\s*([+-]?\d+(?:_\d+)*)\s*$/.exec(text)?.[1];
  return digits !== undefined ? Number(digits.replace(/_/g, '')) : undefined;
}

/** Most extra reviews calls per page the local productpage makes (the sample's v-flooding image uses 100). */
export const maxFloodFactor = 1000;

/**
 * FLOOD_FACTOR as productpage.py reads it: `int(os.environ.get("FLOOD_FACTOR"))`, 0 when unset. A value int() cannot
 * read makes the real container exit at start: undefined here, and the Deployment is refused.
 */
export function floodFactorOf(env: Record<string, string>): number | undefined {
  const raw = env.FLOOD_FACTOR;
  return raw === undefined ? 0 : pythonInt(raw);
}

export function createProductpage(ctx: AppContext): AppHandler {
  // productpage.py: http://<X_HOSTNAME><.SERVICES_DOMAIN>:9080
  const domain = ctx.env.SERVICES_DOMAIN === undefined ? '' : `.${ctx.env.SERVICES_DOMAIN}`;
  const detailsHost = `${ctx.env.DETAILS_HOSTNAME ?? 'details'}${domain}:9080`;
  const reviewsHost = `${ctx.env.REVIEWS_HOSTNAME ?? 'reviews'}${domain}:9080`;
  const ratingsHost = `${ctx.env.RATINGS_HOSTNAME ?? 'ratings'}${domain}:9080`;
  const floodFactor = floodFactorOf(ctx.env) ?? 0;

  const forwardHeaders = (req: AppRequest): Record<string, string> => {
    const headers: Record<string, string> = {};
    const user = sessionUser(header(req.headers, 'cookie'));
    if (user !== undefined) headers['end-user'] = user;
    Object.assign(headers, reencodeB3(req.headers));
    for (const name of forwarded) {
      const v = header(req.headers, name);
      if (v !== undefined) headers[name] = v;
    }
    return headers;
  };

  const fetchJson = async (scope: CallScope, authority: string, path: string, headers: Record<string, string>) => {
    const res = await ctx.call(scope, { authority, path, headers, timeoutMs: 3000 });
    let body: unknown;
    if (res.status === 200) {
      try {
        body = JSON.parse(res.body);
      } catch {
        // productpage.py returns res.json() for a 200 without a try: the ValueError escapes the view (no second try
        // for reviews) and Flask answers its 500 page.
        throw new UnhandledViewError();
      }
    }
    return { status: res.status, body };
  };

  const getDetails = async (scope: CallScope, id: string, headers: Record<string, string>) => {
    const r = await fetchJson(scope, detailsHost, `/details/${id}`, headers);
    if (r.status === 200) return { status: 200, body: r.body as Record<string, unknown> };
    return { status: r.status || 500, body: detailsError as Record<string, unknown> };
  };

  const getReviews = async (scope: CallScope, id: string, headers: Record<string, string>) => {
    let last = { status: 0, body: undefined as unknown };
    for (let i = 0; i < 2; i++) {
      last = await fetchJson(scope, reviewsHost, `/reviews/${id}`, headers);
      if (last.status === 200) return { status: 200, body: last.body as PageModel['reviews'] };
    }
    return { status: last.status || 500, body: reviewsError as PageModel['reviews'] };
  };

  const getRatings = async (scope: CallScope, id: string, headers: Record<string, string>) => {
    const r = await fetchJson(scope, ratingsHost, `/ratings/${id}`, headers);
    if (r.status === 200) return { status: 200, body: r.body };
    return { status: r.status || 500, body: ratingsError };
  };

  const view: AppHandler = async (req) => {
    // Routes match the decoded path, as werkzeug's router sees PATH_INFO; decoding never fails (`%ZZ` stays).
    const [rawPath = ''] = req.path.split('?');
    const path = pythonUnquote(rawPath);
    const scope = new CallScope(req.decisionKey);
    // werkzeug's router: a path that matches a rule but not its methods is 405; Flask adds HEAD to GET rules and
    // answers OPTIONS itself (provide_automatic_options).
    const methods = routeMethods(path);
    if (methods !== undefined && !methods.includes(req.method)) {
      if (req.method === 'OPTIONS') return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '' };
      return flaskMethodNotAllowed;
    }
    if (path === '/' || path === '/index.html') {
      return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: renderIndexPage() };
    }
    if (path === '/health') return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: 'Product page is healthy' };
    if (path === '/login') {
      const query = req.path.includes('?') ? req.path.slice(req.path.indexOf('?') + 1) : '';
      const user = new URLSearchParams(req.body).get('username') ?? new URLSearchParams(query).get('username') ?? '';
      // Flask redirects to request.referrer; send a Referer (a request without one fails on the real sample).
      return redirect(header(req.headers, 'referer') ?? '/productpage', `session=${sessionCookie(user)}; HttpOnly; Path=/`);
    }
    if (path === '/logout') {
      return redirect(header(req.headers, 'referer') ?? '/productpage', 'session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/');
    }
    if (path === '/productpage') {
      const headers = forwardHeaders(req);
      const user = sessionUser(header(req.headers, 'cookie')) ?? '';
      const details = await getDetails(scope, '0', headers);
      // productpage-v-flooding (FLOOD_FACTOR): that many extra reviews calls, answers ignored, between details and
      // reviews. The sample gathers them with asyncio, but each coroutine makes a blocking requests.get without
      // awaiting anything, so they run one after another, each with the usual two tries.
      for (let i = 0; i < floodFactor; i++) await getReviews(scope, '0', headers);
      const reviews = await getReviews(scope, '0', headers);
      const body = renderProductPage({ user, detailsStatus: details.status, details: details.body, reviewsStatus: reviews.status, reviews: reviews.body });
      return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body };
    }
    if (path === '/api/v1/products') return json(200, products);
    const [, rawId, part] = /^\/api\/v1\/products\/([^/]+)(\/reviews|\/ratings)?$/.exec(path) ?? [];
    if (rawId !== undefined) {
      const headers = forwardHeaders(req);
      // productpage puts the id into the URL as it is and requests re-quotes it: `%ZZ` reaches details as `%25ZZ`
      // and details answers 400 (not numeric), which productpage passes on.
      const id = requoteUri(rawId);
      const r =
        part === '/reviews'
          ? await getReviews(scope, id, headers)
          : part === '/ratings'
            ? await getRatings(scope, id, headers)
            : await getDetails(scope, id, headers);
      return json(r.status, r.body);
    }
    if (path.startsWith('/static/')) return staticFile(path);
    return flaskNotFound;
  };

  return async (req) => {
    try {
      return await view(req);
    } catch (error) {
      if (error instanceof UnhandledViewError) return flaskInternalError;
      throw error;
    }
  };
}

const flaskMethodNotAllowed: AppResponse = {
  ...flaskNotFound,
  status: 405,
  body: '<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n',
};

/** The methods of the productpage.py rule matching `path` (undefined: no rule matches, 404). */
function routeMethods(path: string): string[] | undefined {
  if (path === '/login') return ['POST'];
  const get = ['GET', 'HEAD'];
  if (['/', '/index.html', '/health', '/logout', '/productpage', '/api/v1/products'].includes(path)) return get;
  if (/^\/api\/v1\/products\/[^/]+(\/reviews|\/ratings)?$/.test(path) || path.startsWith('/static/')) return get;
  return undefined;
}

/** An exception escaping a Flask view. */
class UnhandledViewError extends Error {}

/** Flask's (werkzeug's InternalServerError) page for an unhandled exception. */
const flaskInternalError: AppResponse = {
  status: 500,
  headers: { 'content-type': 'text/html; charset=utf-8' },
  body:
    '<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n' +
    '<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n',
};

function staticFile(path: string): AppResponse {
  if (path === '/static/tailwind/tailwind.css') {
    return { status: 200, headers: { 'content-type': 'text/css; charset=utf-8' }, body: '/* tailwind.css (placeholder served by the local Bookinfo) */\n' };
  }
  if (path === '/static/img/izzy.png') {
    // The proxies carry text bodies; the avatar is served empty (nothing meshproof observes depends on its bytes).
    return { status: 200, headers: { 'content-type': 'image/png' }, body: '' };
  }
  return flaskNotFound;
}
