// reviews (Java/Liberty in the sample, istio/istio samples/bookinfo/src/reviews/.../LibertyRestEndpoint.java).
// v1: no ratings; v2: ratings with black stars, 10 s client timeout; v3: red stars, 2.5 s timeout. A ratings failure
// (non-200 or timeout) still answers 200, with "Ratings service is currently unavailable" per review.
import { header, type AppContext, type AppHandler, type AppResponse, CallScope } from './types.ts';
import { LibertyExecutor } from './liberty-executor.ts';

/** server.xml of the reviews image: <executor coreThreads="5"/>. */
const LIBERTY_CORE_THREADS = 5;

const propagated = [
  'x-request-id',
  'x-ot-span-context',
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'traceparent',
  'tracestate',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'sw8',
  'end-user',
  'user-agent',
  'cookie',
  'authorization',
  'jwt',
];

/** What Liberty answers for an exception escaping the resource method (the body is not modelled byte for byte). */
const libertyInternalError: AppResponse = { status: 500, headers: { 'content-type': 'text/plain' }, body: '' };

/** bookReviewsById's reading of ratings' 200: [Reviewer1, Reviewer2] stars (-1 when absent), undefined when it throws. */
function readRatings(body: string): [number, number] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined; // Json.createReader(...).readObject(): JsonParsingException
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined; // readObject on a non-object
  const ratings = (value as Record<string, unknown>).ratings;
  if (ratings === undefined) return [-1, -1];
  if (typeof ratings !== 'object' || ratings === null || Array.isArray(ratings)) return undefined; // getJsonObject: ClassCastException
  const star = (name: string): number | undefined => {
    const v = (ratings as Record<string, unknown>)[name];
    if (v === undefined) return -1;
    return typeof v === 'number' ? Math.trunc(v) : undefined; // getInt on a non-number: ClassCastException
  };
  const one = star('Reviewer1');
  const two = star('Reviewer2');
  return one === undefined || two === undefined ? undefined : [one, two];
}

const text1 = 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!';
const text2 = 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.';

export function createReviews(ctx: AppContext): AppHandler {
  const ratingsEnabled = (ctx.env.ENABLE_RATINGS ?? 'false').toLowerCase() === 'true';
  const starColor = ctx.env.STAR_COLOR ?? 'black';
  // LibertyRestEndpoint.java: "http://" + RATINGS_HOSTNAME + "." + SERVICES_DOMAIN (when set) + ":" + port
  const ratingsHost = `${ctx.env.RATINGS_HOSTNAME ?? 'ratings'}${ctx.env.SERVICES_DOMAIN === undefined ? '' : `.${ctx.env.SERVICES_DOMAIN}`}`;
  const ratingsPort = ctx.env.RATINGS_SERVICE_PORT ?? '9080';
  const timeoutMs = starColor === 'black' ? 10_000 : 2_500;
  const clusterName = ctx.env.CLUSTER_NAME ?? 'null';

  const ok = (body: string): AppResponse => ({ status: 200, headers: { 'content-type': 'application/json' }, body });
  const executor = new LibertyExecutor({ coreThreads: LIBERTY_CORE_THREADS });

  const handle: AppHandler = async (req) => {
    const [path = ''] = req.path.split('?');
    if (path === '/health') return ok('{"status": "Reviews is healthy"}');
    // JAX-RS matches a trailing slash too (@Path("/reviews/{productId}") answers /reviews/0/).
    const id = /^\/reviews\/(-?\d+)\/?$/.exec(path)?.[1];
    if (id === undefined || req.method !== 'GET') return { status: 404, headers: { 'content-type': 'text/plain' }, body: '' };
    const productId = String(parseInt(id, 10));
    let stars1 = -1;
    let stars2 = -1;
    if (ratingsEnabled) {
      const headers: Record<string, string> = {};
      for (const name of propagated) {
        const v = header(req.headers, name);
        if (v !== undefined) headers[name] = v;
      }
      headers.accept = 'application/json';
      const res = await ctx.call(new CallScope(req.decisionKey), {
        authority: `${ratingsHost}:${ratingsPort}`,
        path: `/ratings/${productId}`,
        headers,
        timeoutMs,
      });
      if (res.status === 200) {
        // getRatings catches only ProcessingException (no connection, timeout); a 200 whose body is not a JSON object,
        // or whose ratings are not an object of integers, throws out of bookReviewsById (JsonParsingException,
        // ClassCastException) and Liberty answers 500.
        const stars = readRatings(res.body);
        if (stars === undefined) return libertyInternalError;
        [stars1, stars2] = stars;
      }
    }
    const rating = (stars: number) => {
      if (!ratingsEnabled) return '';
      return stars !== -1 ? `, "rating": {"stars": ${stars}, "color": "${starColor}"}` : ', "rating": {"error": "Ratings service is currently unavailable"}';
    };
    let body = '{';
    body += `"id": "${productId}",`;
    body += `"podname": "${ctx.podName}",`;
    body += `"clustername": "${clusterName}",`;
    body += '"reviews": [';
    body += `{  "reviewer": "Reviewer1",  "text": "${text1}"${rating(stars1)}},`;
    body += `{  "reviewer": "Reviewer2",  "text": "${text2}"${rating(stars2)}}`;
    body += ']}';
    return ok(body);
  };
  // Every request runs on a thread of Liberty's default executor.
  return (req) => executor.run(() => handle(req));
}
