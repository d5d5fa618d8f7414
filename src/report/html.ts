// The self-contained HTML report: one file, inline CSS and SVG charts, no script, no external request.
// Deterministic: the same RunResult always gives the same bytes (no render time, stable ordering, stable chart ids).
import { stringify as toYaml } from 'yaml';
import type { Expectation } from '../spec/types.ts';
import type { Verdict } from '../assertions/verdict.ts';
import type { ExperimentResult, RunResult } from '../runner/result.ts';
import {
  achievedRate,
  describeLoadModel,
  describeSweepPoint,
  describeTally,
  expectationOf,
  experimentAnchor,
  formatConfidence,
  formatInterval,
  formatMs,
  formatNumber,
  formatObserved,
  formatPValue,
  formatSource,
  formatValue,
  outcomes,
  shellQuote,
  statusTotals,
  sweepGroups,
  tallyOutcomes,
  type SweepGroup,
  type ValueUnit,
} from './base.ts';
import { html, trusted, type SafeHtml } from './escape.ts';
import { coverageSection } from './coverage-html.ts';
import { reportCss } from './html-style.ts';
import { renderChart } from './charts/render.ts';
import { distributionChart, latencyCharts, rateLimitChart, sweepCharts, throughputChart } from './charts/specs.ts';
import type { TopLevelSpec } from 'vega-lite';

export const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/** Longest response body shown per sample; drivers already truncate, this keeps a page readable. */
const maxBodyChars = 4000;

/** Charts are rendered in document order so ids (`c<n>-…`) are stable. */
class ChartRenderer {
  private count = 0;
  async figure(spec: TopLevelSpec | undefined, name: string, caption: SafeHtml): Promise<SafeHtml | undefined> {
    if (!spec) return undefined;
    const id = `c${++this.count}`;
    const svg = await renderChart(spec, id);
    // The caption wraps to the chart's width rather than widening the figure.
    const width = Number(/^<svg[^>]* width="([0-9.]+)"/.exec(svg)?.[1] ?? 600);
    return html`<figure data-chart="${name}" id="${id}" style="width: ${Math.ceil(width) + 26}px">${trusted(svg)}<figcaption>${caption}</figcaption></figure>`;
  }
}

export async function renderHtml(result: RunResult): Promise<string> {
  const charts = new ChartRenderer();
  const sweeps = sweepGroups(result);
  const sweepSections: SafeHtml[] = [];
  for (const group of sweeps) sweepSections.push(await sweepSection(group, result, charts));
  const experimentSections: SafeHtml[] = [];
  for (const [index, experiment] of problemsFirst(result)) experimentSections.push(await experimentSection(experiment, index, charts));

  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="meshproof ${result.meshproofVersion}">
<title>meshproof · ${result.outcome} · run ${result.runId}</title>
<style>${trusted(reportCss)}</style>
</head>
<body>
<main>
${header(result)}
${filter(result)}
${overview(result)}
${sweepSections.length ? html`<section class="card" id="sweeps"><h2>Sweeps</h2>${sweepSections}</section>` : ''}
${experimentSections}
${coverageSection(result.coverage)}
${environment(result)}
<footer>meshproof ${result.meshproofVersion} · run ${result.runId} · started ${result.startedAt}</footer>
</main>
</body>
</html>
`;
  return page.value;
}

function badge(outcome: string): SafeHtml {
  return html`<span class="badge is-${outcome}">${outcome}</span>`;
}

function header(result: RunResult): SafeHtml {
  const tally = tallyOutcomes(result.experiments);
  const labels: Record<string, string> = {
    pass: 'passed',
    fail: 'failed',
    inconclusive: 'inconclusive',
    error: 'errored',
    interrupted: 'interrupted',
    skipped: 'skipped',
  };
  return html`<header class="card">
<div class="run-head"><h1>meshproof run ${result.runId}</h1>${badge(result.outcome)}</div>
<div class="sub">${result.experiments.length} experiments on <b>${result.target.kind}</b> (${result.target.description}) · Istio ${result.target.istioVersion} · ${formatMs(result.durationMs)} · exit code ${result.exitCode}</div>
<div class="tally">${outcomes.map((o) => html`<div class="count is-${o}"><b>${tally[o]}</b>${labels[o]}</div>`)}</div>
${result.error ? html`<div class="alert is-error"><b>The run stopped:</b> ${result.error}</div>` : ''}
</header>`;
}

/** How much an outcome needs a reader's eyes: the order of the overview and of the experiment sections. */
const attention: Record<string, number> = { error: 0, fail: 1, interrupted: 2, inconclusive: 3, pass: 4, skipped: 5 };

/** The experiments with their indices, the ones that did not pass first (run order within each outcome). */
function problemsFirst(result: RunResult): [number, ExperimentResult][] {
  return [...result.experiments.entries()].sort(([a, x], [b, y]) => (attention[x.outcome] ?? 9) - (attention[y.outcome] ?? 9) || a - b);
}

/**
 * Show all / only what did not pass / one outcome. Radio buttons and CSS :has(), as the page runs no script; every
 * element marked `filterable` (overview rows, experiment sections) carries its outcome class.
 */
function filter(result: RunResult): SafeHtml {
  const tally = tallyOutcomes(result.experiments);
  const present = outcomes.filter((o) => tally[o] > 0);
  const notPassed = result.experiments.filter((e) => e.outcome !== 'pass' && e.outcome !== 'skipped').length;
  const option = (id: string, label: string, count: number, checked = false) =>
    html`<input type="radio" name="show" id="show-${id}"${checked ? trusted(' checked') : ''}><label for="show-${id}">${label} <b>${count}</b></label>`;
  return html`<nav class="filter" aria-label="Show experiments">Show ${option('all', 'all', result.experiments.length, true)}${notPassed > 0 && notPassed < result.experiments.length ? option('problems', 'not passed', notPassed) : ''}${present.length > 1 ? present.map((o) => option(o, o, tally[o])) : ''}</nav>`;
}

function overview(result: RunResult): SafeHtml {
  const rows = problemsFirst(result).map(([index, experiment]) => {
    const verdicts = tallyOutcomes(experiment.verdicts);
    const requests = experiment.observation?.total ?? experiment.loadSummary?.sent;
    const rate = achievedRate(experiment);
    return html`<tr class="filterable is-${experiment.outcome}">
<td class="num">${index + 1}</td>
<td><a href="#${experimentAnchor(experiment, index)}">${experiment.name}</a>${experiment.sweep ? html` <span class="sweep-point">${describeSweepPoint(experiment.sweep.params)}</span>` : ''}</td>
<td>${badge(experiment.outcome)}</td>
<td>${experiment.verdicts.length ? describeTally(verdicts) : experiment.error ? `${experiment.outcome === 'interrupted' ? 'stopped' : 'error'} in ${experiment.error.phase}` : experiment.outcome === 'skipped' ? 'not run' : 'no verdicts'}</td>
<td class="num">${requests === undefined ? '—' : formatNumber(requests)}</td>
<td class="num">${rate === undefined ? '—' : `${formatNumber(rate, 1)}/s`}</td>
<td class="num">${formatMs(experiment.durationMs)}</td>
<td>${result.target.kind} · ${result.target.context}</td>
</tr>`;
  });
  return html`<section class="card" id="overview"><h2>Overview</h2>
<table class="grid"><thead><tr><th class="num">#</th><th>Experiment</th><th>Outcome</th><th>Verdicts</th><th class="num">Requests</th><th class="num">Rate</th><th class="num">Duration</th><th>Target</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

async function sweepSection(group: SweepGroup, result: RunResult, charts: ChartRenderer): Promise<SafeHtml> {
  const figures: SafeHtml[] = [];
  for (const chart of sweepCharts(group)) {
    const ringText = chart.rings.length
      ? `, ${chart.rings.map((o) => (o === 'fail' ? 'red ring = that point failed' : 'amber ring = that point was inconclusive')).join(', ')}`
      : '';
    const caption = html`<b>${chart.title}</b> against ${group.params[0]}: solid line and points = observed, whiskers = confidence interval, dashed = expected, shaded = expected range${ringText}.`;
    const figure = await charts.figure(chart.spec, 'sweep', caption);
    if (figure) figures.push(figure);
  }
  const points = group.points.map((point) => {
    const index = result.experiments.indexOf(point);
    return html`<tr class="is-${point.outcome}"><td>${describeSweepPoint(point.sweep?.params ?? {})}</td><td>${badge(point.outcome)}</td><td><a href="#${experimentAnchor(point, index)}">${point.name}</a></td><td>${point.verdicts.map((v) => formatObserved(v)).join('; ')}</td></tr>`;
  });
  return html`<h3>${group.baseName}</h3>
<div class="charts">${figures}</div>
<table class="grid"><thead><tr><th>Parameters</th><th>Outcome</th><th>Experiment</th><th>Observed</th></tr></thead><tbody>${points}</tbody></table>`;
}

async function experimentSection(experiment: ExperimentResult, index: number, charts: ChartRenderer): Promise<SafeHtml> {
  if (experiment.outcome === 'skipped') return skippedSection(experiment, index);
  // A passing experiment is one line until opened: the page leads with what needs attention.
  const open = experiment.outcome !== 'pass';
  return html`<section class="card experiment filterable is-${experiment.outcome}" id="${experimentAnchor(experiment, index)}"><details class="experiment-body"${open ? trusted(' open') : ''}>
<summary class="exp-head"><h2>${experiment.name}</h2>${badge(experiment.outcome)}${experiment.sweep ? html`<span class="sweep-point">${describeSweepPoint(experiment.sweep.params)}</span>` : ''}
<span class="meta">${experiment.verdicts.length ? describeTally(tallyOutcomes(experiment.verdicts)) : experiment.error ? `${experiment.outcome === 'interrupted' ? 'stopped' : 'error'} in ${experiment.error.phase}` : 'no verdicts'} · ${formatMs(experiment.durationMs)} · started ${experiment.startedAt}</span><a class="top" href="#overview">↑ overview</a></summary>
${experiment.description ? html`<p class="description">${experiment.description}</p>` : ''}
${experiment.tags.length ? html`<ul class="tags">${experiment.tags.map((t) => html`<li>${t}</li>`)}</ul>` : ''}
<div class="muted mono">${experiment.file}</div>
${experiment.error ? html`<div class="alert is-error"><b>${experiment.outcome === 'interrupted' ? 'Stopped' : 'Error'} in phase ${experiment.error.phase}</b> (exit code ${experiment.error.exitCode}): ${experiment.error.message}</div>` : ''}
${experiment.skipReason ? html`<div class="alert is-warning"><b>Skipped</b>: ${experiment.skipReason}</div>` : ''}
${experiment.warnings.map((w) => html`<div class="alert is-warning"><b>Warning</b> ${formatSource(w.source)} <code>${w.path}</code>: ${w.message}</div>`)}
<h3>Verdicts</h3>
${verdictList(experiment)}
${await chartGrid(experiment, charts)}
<div class="cols">
<div><h3>Load plan</h3>${loadPlan(experiment)}</div>
<div><h3>What happened</h3>${loadOutcome(experiment)}</div>
</div>
${phaseTable(experiment)}
${resourcesBlock(experiment)}
${countersBlock(experiment)}
${samplesBlock(experiment)}
</details></section>`;
}

/** An experiment that never started: what it would have checked, and why it did not run. Nothing else to show. */
function skippedSection(experiment: ExperimentResult, index: number): SafeHtml {
  return html`<section class="card experiment filterable is-skipped" id="${experimentAnchor(experiment, index)}">
<div class="exp-head"><h2>${experiment.name}</h2>${badge(experiment.outcome)}${experiment.sweep ? html`<span class="sweep-point">${describeSweepPoint(experiment.sweep.params)}</span>` : ''}<a class="top" href="#overview">↑ overview</a></div>
${experiment.description ? html`<p class="description">${experiment.description}</p>` : ''}
<div class="muted mono">${experiment.file}</div>
<div class="alert is-warning"><b>Skipped</b>: ${experiment.skipReason ?? 'not run'}</div>
${verdictList(experiment)}
</section>`;
}

function verdictList(experiment: ExperimentResult): SafeHtml {
  if (experiment.verdicts.length === 0) {
    const why = experiment.error
      ? `The experiment stopped in phase ${experiment.error.phase} before judging.`
      : experiment.outcome === 'skipped'
        ? 'The experiment was not run.'
        : 'No expectations were judged.';
    const pending = experiment.expectations.map(
      (e) => html`<li>${e.title} <span class="muted">(${e.kind}${formatSource(e.source) ? `, ${formatSource(e.source)}` : ''})</span></li>`,
    );
    return html`<p class="muted">${why}</p>${pending.length ? html`<ul>${pending}</ul>` : ''}`;
  }
  return html`<div class="verdicts">${experiment.verdicts.map((verdict) => verdictCard(verdict, expectationOf(experiment, verdict)))}</div>`;
}

function verdictCard(verdict: Verdict, expectation: Expectation | undefined): SafeHtml {
  const unit = verdict.evidence.unit;
  const source = formatSource(verdict.source ?? expectation?.source);
  // A statistic that was NaN or infinite reads back from result.json as null, whatever the type says.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  const perCategory = typeof verdict.observed === 'object' && verdict.observed !== null;
  return html`<div class="verdict is-${verdict.outcome}">
<div class="title">${badge(verdict.outcome)}<span>${verdict.title}</span><span class="kind">${verdict.kind}${source ? ` · ${source}` : ''}</span></div>
<p class="why">${verdict.explanation}</p>
<dl class="stats">
${perCategory ? '' : html`<div><dt>Observed</dt><dd>${formatObserved(verdict)}</dd></div>`}
<div><dt>Expected</dt><dd>${verdict.expected}</dd></div>
${perCategory ? '' : html`<div><dt>Interval</dt><dd>${formatInterval(verdict)}</dd></div>`}
<div><dt>Confidence</dt><dd>${formatConfidence(verdict.confidence)}</dd></div>
<div><dt>Sample size</dt><dd>${formatNumber(verdict.sampleSize)}</dd></div>
${verdict.pValue !== undefined ? html`<div><dt>p-value</dt><dd>${formatPValue(verdict.pValue)}</dd></div>` : ''}
</dl>
${perCategory ? categoryTable(verdict, unit) : ''}
</div>`;
}

function categoryTable(verdict: Verdict, unit: ValueUnit): SafeHtml {
  const observed = verdict.observed as Record<string, number | null>;
  const intervals = (verdict.interval && !Array.isArray(verdict.interval) ? verdict.interval : {}) as Record<string, [number | null, number | null]>;
  const rows = Object.entries(observed).map(([category, value]) => {
    const i = intervals[category];
    return html`<tr><td class="mono">${category}</td><td>${formatValue(value, unit)}</td><td>${i ? `[${formatValue(i[0], unit)}, ${formatValue(i[1], unit)}]` : '—'}</td></tr>`;
  });
  return html`<table class="categories"><thead><tr><th>Category</th><th>Observed</th><th>Interval</th></tr></thead><tbody>${rows}</tbody></table>`;
}

async function chartGrid(experiment: ExperimentResult, charts: ChartRenderer): Promise<SafeHtml> {
  const figures: (SafeHtml | undefined)[] = [];
  figures.push(
    await charts.figure(
      throughputChart(experiment),
      'throughput',
      html`<b>Requests per second by status.</b> Dashed lines mark when the configuration was applied, when every proxy had it, and when it was removed.`,
    ),
  );
  for (const verdict of experiment.verdicts) {
    figures.push(
      await charts.figure(
        distributionChart(verdict),
        'distribution',
        html`<b>${verdict.title}</b>: blue bar = observed share, whisker = ${formatConfidence(verdict.confidence)} interval, black tick = expected weight, pale band = tolerance.`,
      ),
    );
    figures.push(
      await charts.figure(
        rateLimitChart(verdict),
        'rate-limit',
        html`<b>${verdict.title}</b>: requests limited per second as the client saw them, against the token bucket replayed over the same arrivals.`,
      ),
    );
  }
  for (const chart of latencyCharts(experiment)) {
    const caption = chart.population
      ? html`<b>Latency percentiles</b> of the requests with ${Object.entries(chart.population)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')} (the population of “${chart.title ?? ''}”); ticks mark its limits.`
      : html`<b>Latency percentiles</b> of every recorded request; ticks mark the limits of latency expectations about all requests.`;
    figures.push(await charts.figure(chart.spec, 'latency', caption));
  }
  const present = figures.filter((f): f is SafeHtml => f !== undefined);
  return present.length ? html`<h3>Charts</h3><div class="charts">${present}</div>` : html``;
}

function loadPlan(experiment: ExperimentResult): SafeHtml {
  const load = experiment.load;
  const requests = load.requests.map(
    (r) =>
      html`<tr><td class="mono">${r.name}</td><td class="mono">${r.method} ${r.path}</td><td>${r.user ?? '—'}</td><td class="num">${formatNumber(r.weight)}</td><td class="mono">${
        Object.entries(r.headers)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n') || '—'
      }</td></tr>`,
  );
  return html`<dl class="facts">
<dt>Driver</dt><dd>${load.driver}</dd>
<dt>Model</dt><dd>${describeLoadModel(experiment)}</dd>
<dt>Warm-up</dt><dd>${formatMs(load.warmupMs)} (not recorded)</dd>
<dt>Request timeout</dt><dd>${formatMs(load.timeoutMs)}</dd>
<dt>Classifiers</dt><dd>${load.classifiers.join(', ') || '—'}</dd>
${load.sequential ? html`<dt>Sequential</dt><dd>until conclusive, at most ${formatNumber(load.sequential.budget)} requests, looking every ${formatNumber(load.sequential.checkEvery)}</dd>` : ''}
</dl>
<table class="grid"><thead><tr><th>Request</th><th>Method and path</th><th>User</th><th class="num">Weight</th><th>Headers</th></tr></thead><tbody>${requests}</tbody></table>`;
}

function loadOutcome(experiment: ExperimentResult): SafeHtml {
  const summary = experiment.loadSummary;
  const observation = experiment.observation;
  if (!summary && !observation) return html`<p class="muted">No load was sent.</p>`;
  const rate = achievedRate(experiment);
  const totals = statusTotals(experiment);
  return html`<dl class="facts">
${
  summary
    ? html`<dt>Sent</dt><dd>${formatNumber(summary.sent)} in ${formatMs(summary.durationMs)}${rate !== undefined ? ` (${formatNumber(rate, 1)} req/s)` : ''}</dd>
<dt>Answered</dt><dd>${formatNumber(summary.answered)}, ${formatNumber(summary.errored)} without a response</dd>
${summary.droppedIterations !== undefined ? html`<dt>Dropped iterations</dt><dd>${formatNumber(summary.droppedIterations)}</dd>` : ''}`
    : ''
}
${
  observation
    ? html`<dt>Recorded</dt><dd>${formatNumber(observation.total)} after warm-up</dd>
<dt>Latency</dt><dd>p50 ${formatMs(observation.latency.p50)} · p90 ${formatMs(observation.latency.p90)} · p99 ${formatMs(observation.latency.p99)} · max ${formatMs(observation.latency.max)}</dd>`
    : ''
}
${totals.length ? html`<dt>Statuses</dt><dd class="chips">${totals.map(([status, n]) => html`<span class="chip">${status === '0' ? 'no response' : status} × ${formatNumber(n)}</span>`)}</dd>` : ''}
${experiment.convergence ? html`<dt>Converged</dt><dd>config ${experiment.convergence.version} on ${experiment.convergence.proxies.filter((p) => p.synced).length}/${experiment.convergence.proxies.length} proxies after ${formatMs(experiment.convergence.waitedMs)}${experiment.convergence.probeSkipped ? html`; no probe: ${experiment.convergence.probeSkipped}` : ''}</dd>` : ''}
${experiment.restore ? html`<dt>Restored</dt><dd>${experiment.restore.deleted.length} deleted, ${experiment.restore.restored.length} put back${experiment.restore.errors.length ? html`, <b>${experiment.restore.errors.length} problems: ${experiment.restore.errors.join('; ')}</b>` : ''}</dd>` : ''}
</dl>
${summary?.notes.length ? html`<ul>${summary.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}`;
}

function phaseTable(experiment: ExperimentResult): SafeHtml {
  if (experiment.phases.length === 0) return html``;
  const rows = experiment.phases.map(
    (p) =>
      html`<tr class="is-${p.ok ? 'pass' : 'error'}"><td>${p.phase}</td><td class="num">${formatMs(p.startMs)}</td><td class="num">${formatMs(p.durationMs)}</td><td>${p.ok ? 'ok' : (p.error ?? 'failed')}</td></tr>`,
  );
  return html`<details${experiment.phases.some((p) => !p.ok) ? trusted(' open') : ''}><summary>Phases (${experiment.phases.length})</summary><table class="grid"><thead><tr><th>Phase</th><th class="num">Started at</th><th class="num">Took</th><th>Result</th></tr></thead><tbody>${rows}</tbody></table></details>`;
}

function resourcesBlock(experiment: ExperimentResult): SafeHtml {
  if (experiment.resources.length === 0) return html``;
  const names = experiment.resources.map((r) => `${r.kind}/${r.metadata.name}`).join(', ');
  const yaml = experiment.resources.map((r) => toYaml(r, { lineWidth: 0 })).join('---\n');
  return html`<details><summary>Resources applied (${experiment.resources.length}): <span class="mono">${names}</span></summary><pre class="yaml">${yaml}</pre></details>`;
}

function countersBlock(experiment: ExperimentResult): SafeHtml {
  if (experiment.counters.length === 0)
    return html`<details><summary>Mesh counters (delta over the load)</summary><p class="muted">No counter changed.</p></details>`;
  const labelsText = (labels: Record<string, string>) =>
    Object.keys(labels)
      .sort()
      .map((k) => `${k}="${labels[k]}"`)
      .join(', ');
  // Per proxy and counter, the labels every row shares are said once; each row shows only the labels that differ.
  const groups = new Map<string, typeof experiment.counters>();
  for (const c of experiment.counters) {
    const key = `${c.proxy}\u0000${c.name}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const rows: SafeHtml[] = [];
  for (const [, members] of [...groups.entries()].sort(([a], [b]) => cmp(a, b))) {
    const [first] = members;
    if (!first) continue;
    const sharedLabels = Object.entries(first.labels).filter(([k, v]) => members.every((m) => m.labels[k] === v));
    const shared = sharedLabels.map(([k]) => k);
    const sharedText = members.length > 1 ? labelsText(Object.fromEntries(sharedLabels)) : '';
    const own = (labels: Record<string, string>) =>
      labelsText(Object.fromEntries(Object.entries(labels).filter(([k]) => members.length === 1 || !shared.includes(k))));
    if (members.length > 1)
      rows.push(
        html`<tr class="group"><td>${first.proxy}</td><td class="mono">${first.name}</td><td class="mono muted">${sharedText ? `all: ${sharedText}` : ''}</td><td class="num">${formatNumber(members.reduce((s, m) => s + m.value, 0))}</td></tr>`,
      );
    for (const c of [...members].sort((a, b) => cmp(own(a.labels), own(b.labels)))) {
      rows.push(
        html`<tr><td>${members.length > 1 ? '' : c.proxy}</td><td class="mono">${members.length > 1 ? '' : c.name}</td><td class="mono">${own(c.labels) || '—'}</td><td class="num">${formatNumber(c.value)}</td></tr>`,
      );
    }
  }
  return html`<details><summary>Mesh counters that changed over the load (${experiment.counters.length} series, ${groups.size} counters)</summary><table class="grid counters"><thead><tr><th>Proxy</th><th>Counter</th><th>Labels</th><th class="num">Δ</th></tr></thead><tbody>${rows}</tbody></table></details>`;
}

function samplesBlock(experiment: ExperimentResult): SafeHtml {
  const samples = experiment.observation?.samples ?? [];
  if (samples.length === 0) return html``;
  const items = samples.map((s) => {
    const body = s.body.length > maxBodyChars ? `${s.body.slice(0, maxBodyChars)}\n… (${s.body.length - maxBodyChars} more characters)` : s.body;
    const headers = Object.entries(s.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n');
    return html`<div class="sample"><div class="chips"><span class="chip">status ${s.status}</span>${Object.entries(s.labels).map(([k, v]) => html`<span class="chip">${k}=${v}</span>`)}</div>
${headers ? html`<pre class="headers">${headers}</pre>` : ''}${s.bodyNote ? html`<p class="muted">Body: ${s.bodyNote}.</p>` : ''}<pre class="body">${body || '(empty body)'}</pre></div>`;
  });
  return html`<details><summary>Sample responses (${samples.length})</summary>${items}</details>`;
}

function environment(result: RunResult): SafeHtml {
  return html`<section class="card" id="environment"><h2>Environment</h2>
<dl class="facts">
<dt>Target</dt><dd>${result.target.kind} — ${result.target.description}</dd>
<dt>Context</dt><dd>${result.target.context}</dd>
<dt>Istio version</dt><dd>${result.target.istioVersion || 'unknown'}</dd>
<dt>Control plane</dt><dd>${result.target.controlPlane ?? 'not recorded'}</dd>
<dt>meshproof version</dt><dd>${result.meshproofVersion}</dd>
<dt>Seed</dt><dd>${result.seed}</dd>
<dt>Command</dt><dd><code>${shellQuote(result.command)}</code></dd>
<dt>Run id</dt><dd>${result.runId}</dd>
<dt>Started</dt><dd>${result.startedAt}</dd>
<dt>Finished</dt><dd>${result.finishedAt} (${formatMs(result.durationMs)})</dd>
<dt>Exit code</dt><dd>${result.exitCode}${result.interrupted ? ' (interrupted)' : ''}</dd>
</dl></section>`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
