// The Bookinfo emulation against the real services' source where they differed (issue 15 item 10):
// samples/bookinfo/src/reviews/.../LibertyRestEndpoint.java, productpage/productpage.py, details/details.rb,
// ratings/ratings.js, docker-bake.hcl. Each app is called directly with a scripted outbound side.
import { describe, expect, it } from 'vitest';
import { createDetails, rubyInteger } from '../../src/targets/local/apps/details.ts';
import { createProductpage } from '../../src/targets/local/apps/productpage.ts';
import { createRatings } from '../../src/targets/local/apps/ratings.ts';
import { createReviews } from '../../src/targets/local/apps/reviews.ts';
import type { AppContext, AppRequest, OutboundCall, OutboundResult } from '../../src/targets/local/apps/types.ts';
import { must } from '../../src/must.ts';

type Answer = (call: OutboundCall) => OutboundResult;

function context(env: Record<string, string>, answer: Answer = () => ({ status: 200, headers: {}, body: '{}' })) {
  const calls: OutboundCall[] = [];
  const ctx: AppContext = {
    podName: 'pod-1',
    env,
    seed: 1,
    call: async (_scope, call) => {
      calls.push(call);
      return answer(call);
    },
  };
  return { ctx, calls };
}

const request = (path: string, method = 'GET'): AppRequest => ({ method, path, headers: {}, body: '', decisionKey: 'k' });
const ok = (body: string): OutboundResult => ({ status: 200, headers: { 'content-type': 'application/json' }, body });
const detailsBody = '{"id":0,"author":"William Shakespeare"}';
const reviewsBody =
  '{"id":"0","podname":"reviews-v1-x","clustername":"null","reviews":[{"reviewer":"Reviewer1","text":"t"},{"reviewer":"Reviewer2","text":"t"}]}';

describe('reviews (LibertyRestEndpoint.java)', () => {
  const v2 = { ENABLE_RATINGS: 'true', STAR_COLOR: 'black' };

  it('a 200 from ratings that is not a JSON object, or whose ratings are not integers, makes reviews answer 500: only ProcessingException is caught', async () => {
    for (const body of ['not json', '[1, 2]', '{"ratings": "five"}', '{"ratings": {"Reviewer1": "5"}}', '{"ratings": null}']) {
      const { ctx } = context(v2, () => ok(body));
      const res = await createReviews(ctx)(request('/reviews/0'));
      expect(res.status, body).toBe(500);
    }
  });

  it('a readable 200 without ratings still answers 200, with the ratings error per review', async () => {
    const { ctx } = context(v2, () => ok('{"id": 0}'));
    const res = await createReviews(ctx)(request('/reviews/0'));
    expect(res.status).toBe(200);
    expect(res.body).toContain('"rating": {"error": "Ratings service is currently unavailable"}');
  });

  it('answers /reviews/0/ (JAX-RS matches a trailing slash)', async () => {
    const { ctx } = context({ ENABLE_RATINGS: 'false' });
    expect((await createReviews(ctx)(request('/reviews/0/'))).status).toBe(200);
  });
});

describe('productpage (productpage.py)', () => {
  it("details answering 200 with a body that is not JSON: Flask's 500 page (res.json() raises out of the view), reviews never called", async () => {
    const { ctx, calls } = context({}, (call) => (call.path.startsWith('/details') ? ok('<html>oops</html>') : ok(reviewsBody)));
    const res = await createProductpage(ctx)(request('/productpage'));
    expect(res.status).toBe(500);
    expect(res.body).toContain('<title>500 Internal Server Error</title>');
    expect(calls.map((c) => c.path)).toEqual(['/details/0']);
  });

  it("reviews answering 200 with a body that is not JSON: Flask's 500 page after one try, not the second", async () => {
    const { ctx, calls } = context({}, (call) => (call.path.startsWith('/details') ? ok(detailsBody) : ok('garbage')));
    const res = await createProductpage(ctx)(request('/productpage'));
    expect(res.status).toBe(500);
    expect(calls.filter((c) => c.path.startsWith('/reviews'))).toHaveLength(1);
    expect((await createProductpage(ctx)(request('/api/v1/products/0/reviews'))).status).toBe(500);
  });

  it('answers 405 to POST, PUT and DELETE on its GET routes and to GET on /login; OPTIONS is answered by Flask; unknown paths stay 404', async () => {
    const { ctx } = context({}, (call) => (call.path.startsWith('/details') ? ok(detailsBody) : ok(reviewsBody)));
    const app = createProductpage(ctx);
    for (const path of ['/productpage', '/', '/index.html', '/health', '/logout', '/api/v1/products', '/api/v1/products/0', '/api/v1/products/0/reviews']) {
      for (const method of ['POST', 'PUT', 'DELETE']) expect((await app(request(path, method))).status, `${method} ${path}`).toBe(405);
      expect((await app(request(path, 'OPTIONS'))).status).toBe(200);
    }
    expect((await app(request('/login', 'GET'))).status).toBe(405);
    expect((await app(request('/nothing-here', 'POST'))).status).toBe(404);
    expect((await app(request('/productpage', 'GET'))).status).toBe(200);
  });
});

describe('details (details.rb)', () => {
  it("reads the id with Ruby's Integer(): hex, binary, octal and underscores are ids; what Integer() refuses is 400", async () => {
    expect([
      rubyInteger('0x1A'),
      rubyInteger('0b101'),
      rubyInteger('017'),
      rubyInteger('0o17'),
      rubyInteger('1_000'),
      rubyInteger('-3'),
      rubyInteger('0'),
    ]).toEqual([26, 5, 15, 15, 1000, -3, 0]);
    for (const bad of ['08', '1.5', '1__0', '_1', 'abc', '']) expect(rubyInteger(bad), bad).toBeUndefined();
    const app = createDetails(context({}).ctx);
    const res = await app(request('/details/0x1A'));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).id).toBe(26);
    expect((await app(request('/details/08'))).status).toBe(400);
  });

  it('answers 405 to DELETE and PATCH (WEBrick ProcHandler serves GET, HEAD, POST, PUT); unknown paths stay 404', async () => {
    const app = createDetails(context({}).ctx);
    for (const method of ['DELETE', 'PATCH']) {
      const res = await app(request('/details/0', method));
      expect(res.status).toBe(405);
      expect(res.body).toContain(`unsupported method \`${method}'.`);
    }
    expect((await app(request('/details/0', 'PUT'))).status).toBe(200);
    expect((await app(request('/elsewhere', 'DELETE'))).status).toBe(404);
  });
});

describe('ratings (ratings.js)', () => {
  it('never answers PUT, DELETE or HEAD: httpdispatcher 1.0.0 has listeners for get and post only, and the TypeError is caught and logged', async () => {
    const app = createRatings(context({ SERVICE_VERSION: 'v1' }).ctx);
    for (const method of ['PUT', 'DELETE', 'HEAD']) {
      const pending = Symbol('pending');
      const answer = app(request('/ratings/0', method));
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(await Promise.race([answer, Promise.resolve(pending)]), method).toBe(pending);
    }
    expect((await app(request('/ratings/0', 'GET'))).status).toBe(200);
  });

  it("an unknown path is httpdispatcher's errorListener: 404 with no body", async () => {
    const res = await createRatings(context({ SERVICE_VERSION: 'v1' }).ctx)(request('/nothing'));
    expect(res).toMatchObject({ status: 404, body: '' });
  });

  it('v2 without a database answers 500 "could not connect to ratings database" (MongoClient.connect fails)', async () => {
    const res = await createRatings(context({ SERVICE_VERSION: 'v2' }).ctx)(request('/ratings/0'));
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'could not connect to ratings database' });
  });
});

describe('productpage B3 propagation (getForwardHeaders: OpenTelemetry B3MultiFormat extract + inject)', () => {
  const sent = async (incoming: Record<string, string>) => {
    const { ctx, calls } = context({}, (call) => (call.path.startsWith('/details') ? ok(detailsBody) : ok(reviewsBody)));
    await createProductpage(ctx)({ ...request('/productpage'), headers: incoming });
    const h = must(calls[0], 'calls[0]').headers;
    return Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('x-b3') || k === 'b3'));
  };

  it('re-encodes: parent span id and flags dropped, trace id padded to 32 hex digits, sampled 0 when missing', async () => {
    expect(
      await sent({ 'x-b3-traceid': '463AC35C9F6413AD', 'x-b3-spanid': 'A2FB4A1D1A96D312', 'x-b3-parentspanid': '0020000000000001', 'x-b3-flags': '0' }),
    ).toEqual({
      'x-b3-traceid': '0000000000000000463ac35c9f6413ad',
      'x-b3-spanid': 'a2fb4a1d1a96d312',
      'x-b3-sampled': '0',
    });
    expect((await sent({ 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-flags': '1' }))['x-b3-sampled']).toBe('1');
  });

  it('a single b3 header wins over x-b3-*; ids that are not 16/32 hex digits send no B3 at all', async () => {
    expect(
      await sent({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1', 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312' }),
    ).toEqual({
      'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
      'x-b3-spanid': 'e457b5a2e4d86bd1',
      'x-b3-sampled': '1',
    });
    expect(await sent({ 'x-b3-traceid': 'abc', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '1' })).toEqual({});
    expect(await sent({})).toEqual({});
  });
});
