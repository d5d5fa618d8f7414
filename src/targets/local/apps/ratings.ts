// ratings (Node in the sample, istio/istio samples/bookinfo/src/ratings/ratings.js), with its failure modes chosen by
// SERVICE_VERSION: v-faulty (503 half the time), v-delayed (7 s half the time), v-unavailable (down every other
// 60 s), v-unhealthy (unhealthy every other 15 min). The coin is seeded per request and attempt, not Math.random.
import { uniform } from '../decide.ts';
import { json, type AppContext, type AppHandler, type AppResponse } from './types.ts';

export function createRatings(ctx: AppContext): AppHandler {
  const version = ctx.env.SERVICE_VERSION ?? 'v1';
  const userAdded = new Map<number, unknown>();
  const started = Date.now();
  const flipped = (periodMs: number) => Math.floor((Date.now() - started) / periodMs) % 2 === 1;
  const unavailable = () => (version === 'v-unavailable' && flipped(60_000)) || (version === 'v-unhealthy' && flipped(900_000));
  const healthy = () => !(version === 'v-unhealthy' && flipped(900_000));
  const local = (id: number) => userAdded.get(id) ?? { id, ratings: { Reviewer1: 5, Reviewer2: 4 } };
  const serviceUnavailable = (): AppResponse => json(503, { error: 'Service unavailable' });

  return async (req) => {
    // httpdispatcher 1.0.0 (package.json) keeps listeners for get and post only: any other method makes its
    // getListener read this.listeners[method].length of undefined, ratings.js's handleRequest catches the TypeError
    // and logs it, and the request is never answered.
    if (req.method !== 'GET' && req.method !== 'POST') return new Promise<AppResponse>(() => {});
    const [path = ''] = req.path.split('?');
    if (path === '/health') {
      return healthy() ? json(200, { status: 'Ratings is healthy' }) : json(500, { status: 'Ratings is not healthy' });
    }
    if (/^\/ratings\/[0-9]*/.test(path)) {
      const id = parseInt(path.split('/').pop() ?? '', 10);
      if (Number.isNaN(id)) return json(400, { error: 'please provide numeric product ID' });
      if (req.method === 'POST') {
        let ratings: unknown;
        try {
          ratings = JSON.parse(req.body);
        } catch {
          return json(400, { error: 'please provide valid ratings JSON' });
        }
        if (version === 'v2') return json(501, { error: 'Post not implemented for database backed ratings' });
        userAdded.set(id, { id, ratings });
        return json(200, local(id));
      }
      // v2 reads the ratings database (MongoDB unless DB_TYPE=mysql). The local mesh runs no database, so the real
      // service's connect fails: ratings.js answers 500 {"error": "could not connect to ratings database"}.
      if (version === 'v2') return json(500, { error: 'could not connect to ratings database' });
      if (version === 'v-faulty') {
        return uniform(ctx.seed, `${req.decisionKey}|${ctx.podName}|v-faulty`) <= 0.5 ? serviceUnavailable() : json(200, local(id));
      }
      if (version === 'v-delayed') {
        if (uniform(ctx.seed, `${req.decisionKey}|${ctx.podName}|v-delayed`) <= 0.5) await new Promise((r) => setTimeout(r, 7000));
        return json(200, local(id));
      }
      if (unavailable()) return serviceUnavailable();
      return json(200, local(id));
    }
    return notFound();
  };
}

// httpdispatcher 1.0.0's errorListener when no route matches: res.writeHead(404); res.end().
function notFound(): AppResponse {
  return { status: 404, headers: {}, body: '' };
}
