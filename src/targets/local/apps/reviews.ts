// reviews (Java/Liberty in the sample, istio/istio samples/bookinfo/src/reviews/.../LibertyRestEndpoint.java).
// v1: no ratings; v2: ratings with black stars, 10 s client timeout; v3: red stars, 2.5 s timeout. A ratings failure
// (non-200 or timeout) still answers 200, with "Ratings service is currently unavailable" per review.
import { header, type AppContext, type AppHandler, type AppResponse, CallScope } from './types.ts';
import { LibertyExecutor } from './liberty-executor.ts';

/** server.xml of the reviews image: <executor coreThreads="5"/>. */
const LIBERTY_CORE_THREADS = 5;

const propagated = [
  'x-request-id', 'x-ot-span-context', 'x-datadog-trace-id', 'x-datadog-parent-id', 'x-datadog-sampling-priority',
  'traceparent', 'tracestate', 'x-cloud-trace-context', 'grpc-trace-bin', 'x-b3-traceid', 'x-b3-spanid',
  'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'sw8', 'end-user', 'user-agent', 'cookie', 'authorization', 'jwt',
];

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
    const path = req.path.split('?')[0];
    if (path === '/health') return ok('{"status": "Reviews is healthy"}');
    const m = /^\/reviews\/(-?\d+)$/.exec(path);
    if (!m || req.method !== 'GET') return { status: 404, headers: { 'content-type': 'text/plain' }, body: '' };
    const productId = String(parseInt(m[1], 10));
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
        try {
          const ratings = (JSON.parse(res.body) as { ratings?: Record<string, number> }).ratings;
          if (ratings?.Reviewer1 !== undefined) stars1 = ratings.Reviewer1;
          if (ratings?.Reviewer2 !== undefined) stars2 = ratings.Reviewer2;
        } catch {
          // unreadable body: no stars, as the Java client would fail to parse
        }
      }
    }
    const rating = (stars: number) => {
      if (!ratingsEnabled) return '';
      return stars !== -1
        ? `, "rating": {"stars": ${stars}, "color": "${starColor}"}`
        : ', "rating": {"error": "Ratings service is currently unavailable"}';
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
