// The HTML report in a real browser: Debian's chromium (scripts/ci.d/20-chromium.sh) driven by playwright-core.
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, reportUrl } from '../support/report-browser.ts';
import { buildRunResult, hostileImg, hostileScript } from './fixtures.ts';

// Callbacks passed to evaluate() run in the page; this program is compiled without the DOM library.
/** The DOM as the page callbacks below use it. */
interface PageElement {
  textContent: string;
  scrollHeight: number;
  open?: boolean;
  parentElement: PageElement;
  classList: { contains(name: string): boolean };
  querySelector(selector: string): PageElement;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  getAttribute(name: string): string;
  getBoundingClientRect(): { left: number; width: number };
}
declare const document: PageElement & { documentElement: PageElement };

const outDir = resolve('test-output/report');

describe('HTML report in headless Chromium', () => {
  let browser: Browser;
  let url: string;
  const run = buildRunResult();

  beforeAll(async () => {
    url = await reportUrl(run, outDir);
    browser = await launchChromium(['--disable-background-networking', '--disable-component-update', '--disable-sync']);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('loads with JavaScript enabled: no console error, no request but the file, no dialog, nothing injected', async () => {
    const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    const failed: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    await context.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
    await page.goto(url, { waitUntil: 'load' });

    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(failed).toEqual([]);
    expect(dialogs).toEqual([]);

    // Hostile bodies are on the page as text, and nothing they contain became an element.
    const counts = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script').length,
      images: document.querySelectorAll('img, image, iframe, object, embed, foreignObject').length,
      bold: document.querySelectorAll('b[onmouseover]').length,
      handlers: ([...document.querySelectorAll('*')] as unknown[]).filter((el) =>
        [...(el as { attributes: Iterable<{ name: string }> }).attributes].some((a) => a.name.startsWith('on')),
      ).length,
    }));
    expect(counts).toEqual({ scripts: 0, images: 0, bold: 0, handlers: 0 });
    const bodies = await page.locator('pre.body').allTextContents();
    expect(bodies.some((b) => b.includes(hostileScript) && b.includes(hostileImg))).toBe(true);
    await expect(page.getByText(`Bodies such as ${hostileScript} and ${hostileImg} must show as text.`).count()).resolves.toBe(1);
    expect(await page.title()).toBe(`meshproof · ${run.outcome} · run ${run.runId}`);

    // Every chart is there and drawn (an <svg> with marks and a real size).
    const charts = await page.locator('figure[data-chart]').evaluateAll((figures) =>
      figures.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          kind: f.getAttribute('data-chart'),
          marks: svg?.querySelectorAll('path, line, rect, text').length ?? 0,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
        };
      }),
    );
    const withLoad = run.experiments.filter((e) => (e.observation?.timeSeries.length ?? 0) > 0).length;
    const kinds = charts.map((c) => c.kind);
    expect(kinds.filter((k) => k === 'throughput')).toHaveLength(withLoad);
    expect(kinds.filter((k) => k === 'latency')).toHaveLength(withLoad);
    expect(kinds.filter((k) => k === 'distribution')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'rate-limit')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'sweep')).toHaveLength(1);
    for (const chart of charts) {
      expect(chart.marks).toBeGreaterThan(10);
      expect(chart.width).toBeGreaterThan(200);
      expect(chart.height).toBeGreaterThan(150);
    }
    // The hostile category label is drawn as SVG text.
    const svgTexts = await page.locator('figure[data-chart="distribution"] text').allTextContents();
    expect(svgTexts.some((t) => t.startsWith('v3<img'))).toBe(true);

    await page.screenshot({ path: join(outDir, 'report.png'), fullPage: true });
    await page.screenshot({ path: join(outDir, 'report-top.png') });
    await context.close();
  });

  it('throughput charts: the tick labelled k is where the bar of second k starts (whole-second axis, even when config was applied at −0.902 s)', async () => {
    const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
    const page = await context.newPage();
    await page.goto(url);
    const charts = await page.locator('figure[data-chart="throughput"] svg').evaluateAll((svgs) =>
      svgs.map((svg) => {
        const xAxis = svg.querySelector('g[aria-label^="X-axis"]');
        const ticks = ([...xAxis.querySelectorAll('.role-axis-label text')] as PageElement[]).map((t) => {
          const box = t.getBoundingClientRect();
          return { second: Number(t.textContent.replace('−', '-')), x: box.left + box.width / 2, anchor: t.getAttribute('text-anchor') };
        });
        const bars = ([...svg.querySelectorAll('path[aria-roledescription="bar"]')] as PageElement[]).map((b) => {
          const from = /seconds since load start: (-?[\d.]+) –/.exec(b.getAttribute('aria-label'));
          return { second: Number(from?.[1]), left: b.getBoundingClientRect().left };
        });
        return { ticks, bars };
      }),
    );
    expect(charts.length).toBeGreaterThan(5);
    let compared = 0;
    for (const { ticks, bars } of charts) {
      for (const tick of ticks.filter((t) => t.anchor === 'middle')) {
        expect(Number.isInteger(tick.second)).toBe(true);
        for (const bar of bars.filter((b) => b.second === tick.second)) {
          expect(Math.abs(bar.left - tick.x)).toBeLessThan(0.5);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(30);
    await context.close();
  });

  it('the detectors work: the same hostile markup unescaped does run and inject', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    await context.route('**/*', (route) => route.abort());
    await page.setContent(`<pre>${hostileScript}${hostileImg}</pre>`);
    await expect.poll(() => dialogs.length).toBeGreaterThanOrEqual(1);
    expect(await page.evaluate(() => document.querySelectorAll('script, img').length)).toBe(2);
    await context.close();
  });

  it('reads the same with JavaScript disabled (nothing needs a script)', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1300, height: 900 } });
    const page = await context.newPage();
    await page.goto(url);
    await expect(page.locator('figure[data-chart] svg').count()).resolves.toBe(await page.locator('figure[data-chart]').count());
    await expect(page.locator('section.experiment').count()).resolves.toBe(run.experiments.length);
    // <details> opens without a script.
    const details = page.locator('details:has(> summary:text-is("Phases (7)"))').first();
    await details.locator('summary').click();
    await expect(details.evaluate((d) => (d as unknown as { open: boolean }).open)).resolves.toBe(true);
    await context.close();
  });
});

describe("the report of a failing catalogue, on a projector (issue: the user's journey, item 8)", () => {
  let browser: Browser;
  let url: string;
  // Catalogue-sized: the fixture's shapes repeated to 30 experiments, most passing, a few failing or errored.
  const run = buildRunResult(11);
  const passing = run.experiments.filter((e) => e.outcome === 'pass');
  while (run.experiments.length < 30) {
    const copy = structuredClone(passing[run.experiments.length % passing.length]!);
    copy.name = `${copy.name}-copy-${run.experiments.length}`;
    run.experiments.push(copy);
  }
  const problems = run.experiments.filter((e) => e.outcome !== 'pass').map((e) => e.name);

  beforeAll(async () => {
    url = await reportUrl(run, join(outDir, 'catalogue'));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('leads with what did not pass, keeps passing experiments and counters folded, and is short', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1300, height: 900 } })).newPage();
    await page.goto(url, { waitUntil: 'load' });
    const rows = await page.evaluate(() => [...document.querySelectorAll('#overview tbody tr')].map((tr) => tr.querySelector('a').textContent));
    expect(rows.slice(0, problems.length).sort()).toEqual([...problems].sort());
    const sections = await page.evaluate(() =>
      [...document.querySelectorAll('section.experiment')].map((s) => ({
        name: s.querySelector('h2').textContent,
        open: s.querySelector('details.experiment-body')?.open ?? false,
        pass: s.classList.contains('is-pass'),
      })),
    );
    expect(
      sections
        .slice(0, problems.length)
        .map((s) => s.name)
        .sort(),
    ).toEqual([...problems].sort());
    for (const s of sections) expect(s.open, s.name).toBe(!s.pass);
    const countersOpen = await page.evaluate(
      () => [...document.querySelectorAll('details > summary')].filter((s) => s.textContent.startsWith('Mesh counters') && s.parentElement.open).length,
    );
    expect(countersOpen).toBe(0);
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    console.log(`report page height: ${height} px for ${run.experiments.length} experiments (${problems.length} not passing, open)`);
    // A tenth of the 154,000 px the catalogue page had with every section open.
    expect(height).toBeLessThan(15_400);
  });

  it('the outcome filter shows only what was chosen (CSS only: the page runs no script)', async () => {
    const context = await browser.newContext({ viewport: { width: 1300, height: 900 }, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const visible = async () => (await page.locator('section.experiment:visible h2').allTextContents()).sort();
    expect(await visible()).toHaveLength(30);
    await page.click('label[for="show-problems"]');
    expect(await visible()).toEqual([...problems].sort());
    await page.click('label[for="show-fail"]');
    expect(await visible()).toEqual(
      run.experiments
        .filter((e) => e.outcome === 'fail')
        .map((e) => e.name)
        .sort(),
    );
    await page.click('label[for="show-all"]');
    expect(await visible()).toHaveLength(30);
  });
});
