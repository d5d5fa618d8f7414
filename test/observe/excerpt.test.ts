// Sample responses keep the part of a page that tells responses apart (issue: the user's journey, item 8): for
// Bookinfo's productpage the reviews block with its stars, not 2,000 characters of head and script boilerplate.
import { describe, expect, it } from 'vitest';
import { bodyExcerpt } from '../../src/observe/excerpt.ts';
import { Observation } from '../../src/observe/observation.ts';
import { resolveClassifiers } from '../../src/observe/classifiers.ts';
import { renderProductPage } from '../../src/targets/local/apps/productpage-html.ts';

const page = renderProductPage({
  user: 'jason',
  detailsStatus: 200,
  details: {
    id: 0,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  },
  reviewsStatus: 200,
  reviews: {
    podname: 'reviews-v3-7d4f',
    clustername: 'null',
    reviews: [{ reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare.', rating: { stars: 5, color: 'red' } }],
  },
});

describe('sample bodies', () => {
  it('an HTML page is cut to its reviews section, without head, scripts or styles', () => {
    expect(page.length).toBeGreaterThan(2000);
    expect(page.indexOf('Book Reviews')).toBeGreaterThan(2000); // beyond what a plain 2,000-character cut kept
    const excerpt = bodyExcerpt(page)!;
    expect(excerpt.text.startsWith('<!-- Book reviews section -->')).toBe(true);
    expect(excerpt.text).toContain('Book Reviews');
    expect(excerpt.text).toContain('Reviewer1');
    expect(excerpt.text).toContain('reviews-v3-7d4f');
    expect(excerpt.text).not.toMatch(/<script|<style|<head/i);
    expect(excerpt.what).toBe(`the page from its reviews section on (${page.length} characters in all)`);
  });

  it('a short body or one that is not HTML is kept as it is', () => {
    expect(bodyExcerpt('{"id":0}')).toBeUndefined();
    expect(bodyExcerpt('x'.repeat(5000))).toBeUndefined();
  });

  it('the observation samples the excerpt and says what was left out', () => {
    const observation = new Observation({ classifiers: resolveClassifiers(['status']) });
    observation.record({ requestIndex: 0, sentAtMs: 0, latencyMs: 3, status: 200, headers: {}, body: page });
    const [sample] = observation.snapshot().samples;
    expect(sample!.body).toContain('Reviewer1');
    expect(sample!.bodyNote).toMatch(/^the page from its reviews section on/);
  });
});
