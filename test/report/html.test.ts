import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFromJson, renderHtml, writeReports } from '../../src/report/index.ts';
import { sanitizeSvg } from '../../src/report/charts/sanitize-svg.ts';
import { chartConfig, renderChart, separateData } from '../../src/report/charts/render.ts';
import { distributionChart, throughputChart } from '../../src/report/charts/specs.ts';
import type { TopLevelSpec } from 'vega-lite';
import type { RunResult } from '../../src/runner/result.ts';
import { buildRunResult, hostileImg, hostileScript } from './fixtures.ts';
import { must } from '../../src/must.ts';

describe('HTML report (text level)', () => {
  let run: RunResult;
  let page: string;
  let dir: string;

  beforeAll(async () => {
    run = buildRunResult();
    page = await renderHtml(run);
    dir = await mkdtemp(join(tmpdir(), 'meshproof-report-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is one self-contained document: CSP meta, no script, no external reference', () => {
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:;`);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<(link|iframe|object|embed|img|image|foreignObject)\b/i);
    // Untrusted text is escaped, so every raw `<` starts one of our tags, and no attribute value holds a raw quote.
    const tags = page.match(/<[a-zA-Z][^>]*>/g) ?? [];
    const withoutValues = tags.map((t) => t.replace(/"[^"]*"/g, '""'));
    expect(tags.length).toBeGreaterThan(1000);
    expect(withoutValues.filter((t) => /\son[a-z]+=/i.test(t))).toEqual([]);
    expect(withoutValues.filter((t) => /\s(src|srcset|action|formaction|background|xlink:href)=/i.test(t))).toEqual([]);
    expect(tags.filter((t) => /\shref="(?!#)/i.test(t))).toEqual([]);
    expect(tags.filter((t) => /="\s*url\((?!#)/i.test(t))).toEqual([]);
  });

  it('escapes every hostile string (bodies, headers, names, labels, tags)', () => {
    expect(page).not.toContain(hostileScript);
    expect(page).not.toContain(hostileImg);
    expect(page).not.toContain('<b onmouseover');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('hostile &quot;quotes&quot; &amp; &lt;ampersands&gt;');
    expect(page).toContain('reviews &quot;main&quot; &amp; &lt;friends&gt;');
    // Control characters in a body are replaced, not passed through.
    expect(page).not.toMatch(/[\u0001\u0008]/);
  });

  it('shows every experiment with its outcome, and every verdict with its numbers', () => {
    for (const experiment of run.experiments) {
      expect(page).toContain(`class="card experiment filterable is-${experiment.outcome}"`);
      for (const verdict of experiment.verdicts) expect(page).toContain(escape(verdict.explanation));
    }
    expect(page).toContain('Error in phase converge');
    expect(page).toContain('[76.2 %, 84.5 %]');
    expect(page).toContain('p-value');
    expect(page).toContain('Sample size');
  });

  it('has every chart: throughput per experiment with load, distribution, rate limit, latency, sweep', () => {
    const count = (name: string) => page.split(`data-chart="${name}"`).length - 1;
    const withLoad = run.experiments.filter((e) => (e.observation?.timeSeries.length ?? 0) > 0).length;
    expect(count('throughput')).toBe(withLoad);
    expect(count('latency')).toBe(withLoad);
    expect(count('distribution')).toBe(run.experiments.flatMap((e) => e.verdicts).filter((v) => v.kind === 'distribution').length);
    expect(count('rate-limit')).toBe(1);
    expect(count('sweep')).toBe(1);
    expect(page.split('<svg').length - 1).toBe(2 * withLoad + count('distribution') + 2);
  });

  it('shows the environment: target, context, Istio, meshproof version, seed, exact command', () => {
    const env = page.slice(page.indexOf('id="environment"'));
    for (const fact of ['local — embedded Bookinfo mesh on 127.0.0.1', '1.27.1', '0.1.0', '<dd>42</dd>']) expect(env).toContain(fact);
    expect(env).toContain(escape(`meshproof run experiments/bookinfo --seed 42 --report 'reports/"odd" & <dir>'`));
  });

  it('is deterministic: the same result renders to the same bytes', async () => {
    expect(await renderHtml(buildRunResult())).toBe(page);
  });

  it('writeReports writes index.html, result.json, junit.xml (and junitFile); renderFromJson reproduces the HTML byte for byte', async () => {
    const junitFile = join(dir, 'ci', 'junit.xml');
    const paths = await writeReports(run, { dir: join(dir, 'run'), junitFile });
    expect(paths).toEqual({ html: join(dir, 'run', 'index.html'), json: join(dir, 'run', 'result.json'), junit: join(dir, 'run', 'junit.xml') });
    const written = await readFile(paths.html, 'utf8');
    expect(await renderFromJson(paths.json)).toBe(written);
    expect(written).toBe(page);
    expect(await readFile(junitFile, 'utf8')).toBe(await readFile(paths.junit, 'utf8'));
    expect(JSON.parse(await readFile(paths.json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(run)));
  });

  it('renderFromJson refuses a file that is not a result.json', async () => {
    const { writeFile } = await import('node:fs/promises');
    const other = join(dir, 'other.json');
    await writeFile(other, '{"hello": 1}');
    await expect(renderFromJson(other)).rejects.toThrow(/not a meshproof result.json/);
  });

  it('renders a run with nothing in it', async () => {
    const empty = { ...buildRunResult(), experiments: [], error: `target failed: ${hostileScript}` };
    const html = await renderHtml(empty);
    expect(html).toContain('The run stopped:');
    expect(html).not.toContain(hostileScript);
  });
});

describe('SVG sanitiser', () => {
  it('keeps drawing elements and drops scripts, handlers, foreign content and external references', () => {
    const hostile = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">
<script>alert(1)</script><foreignObject><div><img src="x" onerror="alert(1)"/></div></foreignObject>
<a href="javascript:alert(1)"><text x="1">inside link</text></a>
<image href="http://example.com/x.png"/><use href="http://example.com/s.svg#a"/>
<rect id="r" fill="url(http://example.com/p)" clip-path="url(#clip9)" style="background:url(x)"/>
<clipPath id="clip9"><rect width="5" height="5"/></clipPath>
<text x="2" y="2">&lt;script&gt;alert(1)&lt;/script&gt; &amp; "q"</text><animate attributeName="href" to="javascript:alert(1)"/><set attributeName="onclick"/>
</svg>`;
    const { svg, dropped } = sanitizeSvg(hostile, 'c7');
    expect(svg).not.toMatch(/script>|<foreignObject|<a\b|<image|<use|<animate|<set|onload|javascript:|example\.com|style=/i);
    expect(svg).not.toContain(hostileImg);
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;');
    expect(svg).toContain('<rect id="c7-1"');
    expect(svg).toContain('clip-path="url(#c7-2)"');
    expect(svg).toContain('<clipPath id="c7-2">');
    expect(dropped).toEqual(
      expect.arrayContaining(['svg@onload', 'script', 'foreignObject', 'a', 'image', 'use', 'rect@fill', 'rect@style', 'animate', 'set']),
    );
  });

  it('fails closed on input that is not well-formed XML', () => {
    expect(sanitizeSvg(`<svg xmlns="http://www.w3.org/2000/svg"><text>${hostileImg}</text></svg>`, 'c1')).toEqual({ svg: '', dropped: ['unparseable'] });
  });

  it('drops nothing a real chart needs', async () => {
    const spec = throughputChart(must(buildRunResult().experiments[1], 'buildRunResult().experiments[1]'))!;
    const { compile } = await import('vega-lite');
    const vega = await import('vega');
    const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
    const raw = await view.toSVG();
    view.finalize();
    // xmlns:xlink is only a namespace declaration; nothing in our charts links.
    expect(sanitizeSvg(raw, 'x').dropped).toEqual(['svg@xmlns:xlink']);
  });

  it('gives the same chart the same bytes however many charts were rendered before (stable ids)', async () => {
    const spec = throughputChart(must(buildRunResult().experiments[1], 'buildRunResult().experiments[1]'))!;
    const first = await renderChart(spec, 'c1');
    await renderChart(spec, 'c2');
    expect(await renderChart(spec, 'c1')).toBe(first);
  });

  it('separates inline datasets from the template (data.values only, in order, layers included)', () => {
    const spec = {
      data: { values: [{ a: 1 }] },
      layer: [
        { mark: 'bar', encoding: { x: { field: 'a', type: 'quantitative', axis: { values: [1, 2] } } } },
        { data: { values: [{ b: 2 }], format: { type: 'json' } }, mark: 'rule' },
      ],
    } as unknown as TopLevelSpec;
    const { template, datasets } = separateData(spec);
    expect(datasets).toEqual([[{ a: 1 }], [{ b: 2 }]]);
    expect(template).toEqual({
      data: { name: 'meshproof_data_0' },
      layer: [
        { mark: 'bar', encoding: { x: { field: 'a', type: 'quantitative', axis: { values: [1, 2] } } } },
        { data: { format: { type: 'json' }, name: 'meshproof_data_1' }, mark: 'rule' },
      ],
    });
    expect(spec.data).toEqual({ values: [{ a: 1 }] });
  });

  it('charts drawn from one compiled template are byte for byte what a fresh compile of each draws', async () => {
    const { compile } = await import('vega-lite');
    const vega = await import('vega');
    const fresh = async (spec: TopLevelSpec, id: string) => {
      const withConfig = { ...spec, config: { ...chartConfig, ...(spec.config ?? {}) } } as TopLevelSpec;
      const view = new vega.View(vega.parse(compile(withConfig).spec), { renderer: 'none', logLevel: vega.None });
      const svg = await view.toSVG();
      view.finalize();
      return sanitizeSvg(svg, id).svg;
    };
    const result = buildRunResult();
    const charts = [
      ...result.experiments.map((e) => throughputChart(e)),
      ...result.experiments.flatMap((e) => e.verdicts.map((v) => distributionChart(v))),
    ].filter((c): c is TopLevelSpec => c !== undefined);
    const templates = new Set(charts.map((c) => JSON.stringify(separateData(c).template)));
    expect(templates.size, 'some charts share a template').toBeLessThan(charts.length);
    for (const [i, chart] of charts.entries()) expect(await renderChart(chart, `t${i}`)).toBe(await fresh(chart, `t${i}`));
  });
});

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
