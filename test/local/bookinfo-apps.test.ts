// Bookinfo as the real sample serves it (istio/istio samples/bookinfo/src/*): paths, payloads, page markers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy, login, mesh, page, pages, type MeshHandle } from './helpers.ts';

let m: MeshHandle;
beforeAll(async () => {
  m = await mesh({ seed: 11 });
});
afterAll(async () => m?.close());

describe('Bookinfo apps behind the ingress gateway', () => {
  it('serves the product page with the Tailwind template markers (productpage.html)', async () => {
    const p = await page(m);
    expect(p.status).toBe(200);
    expect(p.body).toContain('<title>Simple Bookstore App</title>');
    expect(p.body).toContain('The Comedy of Errors');
    expect(p.body).toContain('Book Details');
    expect(p.body).toContain('PublisherA');
    expect(['v1', 'v2', 'v3']).toContain(p.reviews);
    expect(p.body.match(/Reviews served by:/g)).toHaveLength(2);
  });

  it('shows no stars for v1, black for v2 and red for v3 (reviews LibertyRestEndpoint.java STAR_COLOR)', async () => {
    const seen = await pages(m, 60);
    const byVersion = countBy(seen, (p) => `${p.reviews}:${p.stars}`);
    expect(Object.keys(byVersion).sort()).toEqual(['v1:none', 'v2:black', 'v3:red']);
  });

  it('answers the API routes with the sample payloads (productpage.py, details.rb, ratings.js)', async () => {
    const products = (await (await fetch(`${m.gatewayUrl}/api/v1/products`)).json()) as { title: string }[];
    expect(products[0]?.title).toBe('The Comedy of Errors');
    const details = await (await fetch(`${m.gatewayUrl}/api/v1/products/0`)).json();
    expect(details).toEqual({
      id: 0,
      author: 'William Shakespeare',
      year: 1595,
      type: 'paperback',
      pages: 200,
      publisher: 'PublisherA',
      language: 'English',
      'ISBN-10': '1234567890',
      'ISBN-13': '123-1234567890',
    });
    const ratings = await (await fetch(`${m.gatewayUrl}/api/v1/products/0/ratings`)).json();
    expect(ratings).toEqual({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
    const reviews = (await (await fetch(`${m.gatewayUrl}/api/v1/products/0/reviews`)).json()) as {
      podname: string;
      clustername: string;
      reviews: { reviewer: string }[];
    };
    expect(reviews.podname).toMatch(/^reviews-v[123]-/);
    expect(reviews.clustername).toBe('null');
    expect(reviews.reviews.map((r: { reviewer: string }) => r.reviewer)).toEqual(['Reviewer1', 'Reviewer2']);
  });

  it('routes only the gateway VirtualService paths (bookinfo-gateway.yaml); others get 404 NR', async () => {
    expect((await fetch(`${m.gatewayUrl}/static/tailwind/tailwind.css`)).status).toBe(200);
    const res = await fetch(`${m.gatewayUrl}/health`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('');
  });

  it('escapes the Referer in the redirect page as werkzeug.utils.redirect does (markupsafe.escape), not in Location', async () => {
    const hostile = `http://x/"><script>alert('hi')</script>&`;
    for (const [method, path] of [
      ['GET', '/logout'],
      ['POST', '/login'],
    ] as const) {
      const res = await fetch(`${m.gatewayUrl}${path}`, {
        method,
        headers: { referer: hostile, 'content-type': 'application/x-www-form-urlencoded' },
        body: method === 'POST' ? 'username=jason' : undefined,
        redirect: 'manual',
      });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(hostile);
      const body = await res.text();
      expect(body).not.toContain('<script>');
      const escaped = 'http://x/&#34;&gt;&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;&amp;';
      expect(body).toContain(`<a href="${escaped}">${escaped}</a>`);
    }
  });

  it('logs a user in with a session cookie and forwards end-user (productpage.py login / getForwardHeaders)', async () => {
    const cookie = await login(m, 'jason');
    const p = await page(m, cookie);
    expect(p.body).toContain('<p class="text-base font-medium text-gray-50">jason</p>');
    expect(p.body).toContain('Sign out');
    const anonymous = await page(m);
    expect(anonymous.body).toContain('Sign in');
  });
});
