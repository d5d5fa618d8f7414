// The per-service coverage view (issue 19 item 4) in headless Chromium: an applied retry policy without a retries
// expectation reads as unverified; with one, verified — in the report a user opens, not only in result.json.
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCoverage } from '../../src/runner/coverage.ts';
import type { Expectation, K8sObject } from '../../src/spec/types.ts';
import { launchChromium, reportUrl } from '../support/report-browser.ts';
import { buildRunResult } from './fixtures.ts';

const source = { file: 'e.yaml', line: 1, col: 1 };
const retriesOn = (service: string): K8sObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: service },
  spec: { hosts: [service], http: [{ route: [{ destination: { host: service } }], retries: { attempts: 3 } }] },
});
const retriesExpectation: Expectation = { kind: 'retries', title: 'retries to ratings', source, confidence: 0.99, service: 'ratings', count: { min: 1 } };
const statusOk: Expectation = { kind: 'status', title: 'status 200', source, confidence: 0.99, code: '200', ratio: { min: 0.9 } };

describe('the coverage view in Chromium', () => {
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    const run = buildRunResult();
    run.coverage = runCoverage([
      { name: 'details-retries-unchecked', resources: [retriesOn('details')], expectations: [statusOk], counters: [] },
      { name: 'ratings-retries-checked', resources: [retriesOn('ratings')], expectations: [retriesExpectation], counters: [] },
    ]);
    url = await reportUrl(run, resolve('test-output/report-coverage'));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows the retry policy of details unverified and that of ratings verified, with what verified it', async () => {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const row = (service: string) => page.locator(`#coverage details[data-service="${service}"] tr`, { hasText: 'retries' });
    await expect(row('details').textContent()).resolves.toMatch(
      /retries.*VirtualService\/default\/details.*spec\.http\[0\]\.retries.*unverified.*no expectation exercised it/s,
    );
    await expect(row('ratings').textContent()).resolves.toMatch(/retries.*verified.*ratings-retries-checked: retries to ratings/s);
    // A service with something unverified is open; one fully verified is folded to its summary.
    expect(await page.locator('#coverage details[data-service="details"]').getAttribute('open')).not.toBeNull();
    expect(await page.locator('#coverage details[data-service="ratings"]').getAttribute('open')).toBeNull();
    await expect(page.locator('#coverage details[data-service="ratings"] summary').textContent()).resolves.toMatch(/ratings · 1 of 1 behaviour verified/);
    await page.close();
  }, 60_000);
});
