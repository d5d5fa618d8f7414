import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import {
  bookinfoClassifier,
  classifiers,
  echoClassifier,
  envoyClassifier,
  resolveClassifiers,
  statusClassifier,
  parameterisedLabel,
} from '../../src/observe/classifiers.ts';
import type { ResponseRecord } from '../../src/observe/types.ts';
import { bootstrapPage, reviewsJson, tailwindPage } from './bookinfo-pages.ts';

function response(status: number, body = '', headers: Record<string, string> = {}, error?: string): ResponseRecord {
  const r: ResponseRecord = { requestIndex: 0, sentAtMs: 0, latencyMs: 1, status, headers, body };
  if (error) r.error = error;
  return r;
}

describe('status classifier', () => {
  it('labels the code and its class', () => {
    expect(statusClassifier(response(503))).toEqual({ status: '503', class: '5xx' });
    expect(statusClassifier(response(200))).toEqual({ status: '200', class: '2xx' });
    expect(statusClassifier(response(429))).toEqual({ status: '429', class: '4xx' });
  });
  it('labels transport failures as status "error" with the error code', () => {
    expect(statusClassifier(response(0, '', {}, 'ECONNREFUSED'))).toEqual({ status: 'error', class: 'error', error: 'ECONNREFUSED' });
    expect(statusClassifier(response(0, '', {}, 'timeout'))).toEqual({ status: 'error', class: 'error', error: 'timeout' });
  });
});

describe('envoy classifier (local-reply bodies, see shared/reference/bookinfo-and-mesh-facts.md)', () => {
  const cases: [number, string, Record<string, string>][] = [
    [500, 'fault filter abort', { flag: 'FI' }],
    [429, 'local_rate_limited', { flag: 'RL' }],
    [503, 'no healthy upstream', { flag: 'UH' }],
    [504, 'upstream request timeout', { flag: 'UT' }],
    [503, 'upstream connect error or disconnect/reset before headers. reset reason: overflow', { flag: 'UO', reset: 'overflow' }],
    [
      503,
      'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: 111',
      { flag: 'UF', reset: 'remote connection failure' },
    ],
    [503, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination', { flag: 'UC', reset: 'connection termination' }],
  ];
  for (const [status, body, labels] of cases) {
    it(`${status} "${body.slice(0, 60)}" -> ${JSON.stringify(labels)}`, () => {
      expect(envoyClassifier(response(status, body, { 'content-type': 'text/plain', server: 'istio-envoy' }))).toEqual(labels);
    });
  }
  it('an RBAC denial sets no Envoy response flag (only response_code_details), so it is denied: rbac with flag "-"', () => {
    expect(envoyClassifier(response(403, 'RBAC: access denied'))).toEqual({ flag: '-', denied: 'rbac' });
  });
  it('a 429 marked x-envoy-ratelimited is RL even with a custom body', () => {
    expect(envoyClassifier(response(429, 'slow down', { 'x-envoy-ratelimited': 'true' }))).toEqual({ flag: 'RL' });
  });
  it('answers from the application get "-", even a page quoting a local-reply text', () => {
    expect(envoyClassifier(response(200, tailwindPage({ version: 'v2' })))).toEqual({ flag: '-' });
    expect(envoyClassifier(response(503, '{"error":"Service unavailable"}'))).toEqual({ flag: '-' });
    expect(envoyClassifier(response(200, `<p>${'x'.repeat(600)} fault filter abort</p>`))).toEqual({ flag: '-' });
  });
  it('gives no flag to transport errors (no response at all)', () => {
    expect(envoyClassifier(response(0, '', {}, 'ECONNRESET'))).toEqual({});
  });
});

describe('bookinfo classifier', () => {
  for (const [template, page] of [
    ['Tailwind (1.20.x)', tailwindPage],
    ['Bootstrap (<= 1.19.1)', bootstrapPage],
  ] as const) {
    describe(template, () => {
      it('reads the reviews version from the pod name after "Reviews served by:"', () => {
        expect(bookinfoClassifier(response(200, page({ version: 'v1' })))).toEqual({ details: 'ok', reviews: 'ok', 'reviews.version': 'v1' });
        expect(bookinfoClassifier(response(200, page({ version: 'v2' })))).toEqual({
          details: 'ok',
          reviews: 'ok',
          'reviews.version': 'v2',
          ratings: 'ok',
        });
        expect(bookinfoClassifier(response(200, page({ version: 'v3' })))).toEqual({
          details: 'ok',
          reviews: 'ok',
          'reviews.version': 'v3',
          ratings: 'ok',
        });
      });
      it('without a pod name, falls back to the stars: none = v1, black = v2, red = v3', () => {
        expect(bookinfoClassifier(response(200, page({ version: 'v1', noPodName: true })))['reviews.version']).toBe('v1');
        expect(bookinfoClassifier(response(200, page({ version: 'v2', noPodName: true })))['reviews.version']).toBe('v2');
        expect(bookinfoClassifier(response(200, page({ version: 'v3', noPodName: true })))['reviews.version']).toBe('v3');
      });
      it('marks ratings unavailable; the red error text is not taken for red stars', () => {
        expect(bookinfoClassifier(response(200, page({ version: 'v2', ratingsError: true })))).toEqual({
          details: 'ok',
          reviews: 'ok',
          'reviews.version': 'v2',
          ratings: 'unavailable',
        });
        // Without the pod name v2 and v3 look alike when ratings failed: no version rather than a wrong one.
        const labels = bookinfoClassifier(response(200, page({ version: 'v2', ratingsError: true, noPodName: true })));
        expect(labels['reviews.version']).toBeUndefined();
        expect(labels.ratings).toBe('unavailable');
      });
      it('marks reviews unavailable (no version) and details unavailable', () => {
        expect(bookinfoClassifier(response(200, page({ version: 'v3', reviewsError: true })))).toEqual({
          details: 'ok',
          reviews: 'unavailable',
        });
        expect(bookinfoClassifier(response(200, page({ version: 'v1', detailsError: true })))).toEqual({
          details: 'unavailable',
          reviews: 'ok',
          'reviews.version': 'v1',
        });
      });
    });
  }

  it('the Tailwind reviews error paragraph carries text-red-500 but is not a star block', () => {
    const body = tailwindPage({ version: 'v1', reviewsError: true, noPodName: true });
    expect(body).toContain('text-red-500');
    expect(bookinfoClassifier(response(200, body))['reviews.version']).toBeUndefined();
  });

  it('reads the /api/v1/products/0/reviews JSON: pod name, else rating colour', () => {
    expect(bookinfoClassifier(response(200, reviewsJson({ version: 'v3' })))).toEqual({ reviews: 'ok', 'reviews.version': 'v3', ratings: 'ok' });
    expect(bookinfoClassifier(response(200, reviewsJson({ version: 'v2', noPodName: true })))).toEqual({
      reviews: 'ok',
      'reviews.version': 'v2',
      ratings: 'ok',
    });
    expect(bookinfoClassifier(response(200, reviewsJson({ version: 'v1', noPodName: true })))).toEqual({ reviews: 'ok', 'reviews.version': 'v1' });
    expect(bookinfoClassifier(response(200, reviewsJson({ version: 'v3', ratingsError: true })))).toEqual({
      reviews: 'ok',
      'reviews.version': 'v3',
      ratings: 'unavailable',
    });
    expect(bookinfoClassifier(response(503, '{"error": "Sorry, product reviews are currently unavailable for this book."}'))).toEqual({});
  });

  it('says nothing about other bodies', () => {
    expect(bookinfoClassifier(response(200, 'Product page is healthy'))).toEqual({});
    expect(bookinfoClassifier(response(503, 'no healthy upstream'))).toEqual({});
    expect(bookinfoClassifier(response(0, '', {}, 'timeout'))).toEqual({});
  });

  it('the index page / is no product page: no labels (templates/index.html); nor is a page with only the title', async () => {
    const { renderIndexPage } = await import('../../src/targets/local/apps/productpage-html.ts');
    const index = renderIndexPage();
    expect(index).toContain('Hello! This is a simple bookstore application');
    expect(index).not.toContain('<title>'); // index.html renders its own blocks, without the product page's head
    expect(bookinfoClassifier(response(200, index))).toEqual({});
    expect(bookinfoClassifier(response(200, `<title>Simple Bookstore App</title>${index}`))).toEqual({});
  });
});

describe('resolveClassifiers', () => {
  it('uses status + envoy + bookinfo when none are named', () => {
    expect(resolveClassifiers([])).toEqual([classifiers.status, classifiers.envoy, classifiers.bookinfo]);
  });
  it('returns the named ones in order', () => {
    expect(resolveClassifiers(['bookinfo', 'status'])).toEqual([classifiers.bookinfo, classifiers.status]);
  });
  it('rejects an unknown name with the list of known names', () => {
    expect(() => resolveClassifiers(['status', 'stars'])).toThrow(SpecError);
    expect(() => resolveClassifiers(['stars'])).toThrow(/unknown classifier "stars"; known classifiers: status, envoy, bookinfo/);
  });
});

describe('echo classifier (the lines of Istio\'s echo app, pkg/test/echo fields.go, and its forwarder\'s "[i body]" nesting)', () => {
  // frontend called backend (which called db) and cache; cache did not answer.
  const chain = [
    'ServiceVersion=v1',
    'ServicePort=8080',
    'Host=frontend:8080',
    'URL=/checkout',
    'Namespace=shop',
    'Method=GET',
    'Proto=HTTP/1.1',
    'RequestHeader=X-Request-Id:abc',
    'Hostname=frontend-v1-aaaa-bbbbb',
    'Service=frontend',
    'StatusCode=200',
    '[0] Url=http://backend:9000/items',
    '[0] StatusCode=200',
    '[0 body] ServiceVersion=v2',
    '[0 body] Hostname=backend-v2-cccc-ddddd',
    '[0 body] Service=backend',
    '[0 body] StatusCode=200',
    '[0 body] [0] Url=http://db.data.svc.cluster.local:5000/q',
    '[0 body] [0] StatusCode=200',
    '[0 body] [0 body] ServiceVersion=v7',
    '[0 body] [0 body] Service=db',
    '[0 body] [0 body] StatusCode=200',
    '[1] Url=http://cache:6000/',
    '[1 error] no response within 100ms or the connection failed',
  ].join('\n');

  it('labels the answering workload and every echo along the chain of calls', () => {
    expect(echoClassifier(response(200, chain))).toEqual({
      service: 'frontend',
      version: 'v1',
      pod: 'frontend-v1-aaaa-bbbbb',
      'frontend.status': '200',
      'frontend.version': 'v1',
      'backend.version': 'v2',
      'db.version': 'v7',
      'backend.status': '200',
      'db.status': '200',
      'cache.status': 'none',
    });
  });

  it("labels the status a call got from its caller's view (an RBAC denial has no echo body)", () => {
    const denied = [
      'ServiceVersion=v1',
      'Service=frontend',
      'StatusCode=403',
      '[0] Url=http://backend:9000/items',
      '[0] StatusCode=403',
      '[0 body] RBAC: access denied',
    ].join('\n');
    expect(echoClassifier(response(403, denied))).toEqual({
      service: 'frontend',
      version: 'v1',
      'frontend.status': '403',
      'frontend.version': 'v1',
      'backend.status': '403',
    });
  });

  it('gives nothing for other answers (a Bookinfo page, an Envoy local reply, no response)', () => {
    expect(echoClassifier(response(200, tailwindPage({ version: 'v2' })))).toEqual({});
    expect(echoClassifier(response(503, 'no healthy upstream'))).toEqual({});
    expect(echoClassifier(response(0, '', {}, 'ECONNRESET'))).toEqual({});
  });

  it('is available by name', () => {
    expect(classifiers.echo).toBe(echoClassifier);
  });
});

describe("classifiers reading what the user's own services send (header:, json:)", () => {
  const record = (headers: Record<string, string>, body: string) => ({ requestIndex: 0, sentAtMs: 0, latencyMs: 1, status: 200, headers, body });
  it('header:<name>[=<label>] labels with the response header, json:<path>[=<label>] with the body field', () => {
    const [byHeader, byJson, named] = resolveClassifiers(['header:X-App-Version', 'json:meta.version=backend.version', 'header:x-pod=pod']);
    expect(byHeader!(record({ 'x-app-version': 'v2' }, ''))).toEqual({ version: 'v2' });
    expect(byHeader!(record({}, ''))).toEqual({});
    expect(byJson!(record({}, '{"meta":{"version":"v3"}}'))).toEqual({ 'backend.version': 'v3' });
    expect(byJson!(record({}, '{"meta":{"version":3}}'))).toEqual({ 'backend.version': '3' });
    expect(byJson!(record({}, 'not json'))).toEqual({});
    expect(named!(record({ 'x-pod': 'backend-7d9' }, ''))).toEqual({ pod: 'backend-7d9' });
    expect(parameterisedLabel('json:a.b')).toBe('version');
    expect(parameterisedLabel('header:')).toBeUndefined();
    expect(() => resolveClassifiers(['header x'])).toThrow(/header:<name>\[=<label>\]/);
  });
});
