// The code the generated k6 script runs per response (src/load/k6-runtime.ts), run here in Node: it must label every
// response exactly as classify() does, whether it classifies afresh or reuses the labels of an identical response.
import { describe, expect, it } from 'vitest';
import { K6Record, labelsOf, type K6Response } from '../../src/load/k6-runtime.ts';
import { DEFAULT_CLASSIFIERS, classify, resolveClassifiers } from '../../src/observe/classifiers.ts';
import type { ResponseRecord } from '../../src/observe/types.ts';

interface Case {
  status: number;
  body: string;
  /** As k6 reports them: canonical (mixed-case) names. */
  headers?: Record<string, string>;
  error?: string;
}

const page = (marker: string) => `<html><title>Simple Bookstore App</title>${marker}</html>`;

const cases: Case[] = [
  { status: 200, body: 'ok\n' },
  { status: 200, body: '' },
  { status: 503, body: 'no healthy upstream' },
  { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow' },
  { status: 503, body: 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure' },
  { status: 500, body: 'fault filter abort' },
  { status: 403, body: 'RBAC: access denied' },
  // Envoy's rate-limit header decides the label: same status and body, different labels
  { status: 429, body: 'slow down', headers: { 'X-Envoy-Ratelimited': 'true' } },
  { status: 429, body: 'slow down' },
  { status: 429, body: 'slow down', headers: { 'X-Envoy-Ratelimited': 'true' } },
  { status: 0, body: '', error: 'ECONNRESET' },
  { status: 0, body: '', error: 'timeout' },
  { status: 200, body: page('Reviews served by: <b>reviews-v2-5b667bcbf8-x</b>') },
  { status: 200, body: page('<font color="red">') },
  { status: 200, body: page('Error fetching product reviews') },
  { status: 200, body: '{"podname":"reviews-v3-abc","reviews":[{"rating":{"stars":5,"color":"red"}}]}' },
  { status: 200, body: '{"error":"Sorry, product reviews are currently unavailable"}' },
  // longer than any body whose labels are reused
  { status: 200, body: page(`${'x'.repeat(2000)} Reviews served by: reviews-v1-1`) },
];

function k6Response(c: Case): K6Response {
  return { headers: c.headers ?? {}, body: c.status === 0 ? null : c.body };
}

function plainRecord(c: Case, index: number): ResponseRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.headers ?? {})) headers[k.toLowerCase()] = v;
  const record: ResponseRecord = { requestIndex: index, sentAtMs: index * 10, latencyMs: 1.5, status: c.status, headers, body: c.body };
  if (c.error !== undefined) record.error = c.error;
  return record;
}

describe('k6 runtime: labels inside k6', () => {
  for (const names of [DEFAULT_CLASSIFIERS, ['status'], ['envoy'], ['bookinfo', 'status']]) {
    it(`labels every response as classify() does, first time and repeated (${names.join(', ')})`, () => {
      const chosen = resolveClassifiers(names);
      // three passes: the first classifies, later ones may reuse labels remembered from the first
      for (let pass = 0; pass < 3; pass++) {
        cases.forEach((c, i) => {
          const expected = classify(plainRecord(c, i), chosen);
          const got = labelsOf(names, new K6Record(k6Response(c), i, i * 10, 1.5, c.status, c.error));
          expect(got, `${names.join(',')} pass ${pass} case ${i} (${c.status} ${c.body.slice(0, 40)})`).toEqual(expected);
        });
      }
    });
  }

  it('a record exposes the response as classifiers expect: lower-case header names, body as text, the numbers given', () => {
    const record = new K6Record({ headers: { 'Content-Type': 'text/plain', 'X-Envoy-Ratelimited': 'true' }, body: 'hi' }, 2, 30, 4.5, 429);
    expect(record.readBeyondKey).toBe(false);
    expect(record.body).toBe('hi');
    expect(record.status).toBe(429);
    expect(record.error).toBeUndefined();
    expect(record.readBeyondKey).toBe(false);
    expect(record.headers).toEqual({ 'content-type': 'text/plain', 'x-envoy-ratelimited': 'true' });
    expect(record.readBeyondKey).toBe(true);
    expect([record.requestIndex, record.sentAtMs, record.latencyMs]).toEqual([2, 30, 4.5]);
    // a discarded body (responseType 'none') reads as empty
    expect(new K6Record({ headers: {}, body: null }, 0, 0, 1, 200).body).toBe('');
  });

  it('reading the request index or a time marks the record: its labels are not reused for another response', () => {
    for (const read of ['requestIndex', 'sentAtMs', 'latencyMs', 'headers'] as const) {
      const record = new K6Record({ headers: {}, body: 'ok' }, 0, 0, 1, 200);
      void record[read];
      expect(record.readBeyondKey, read).toBe(true);
    }
  });
});
