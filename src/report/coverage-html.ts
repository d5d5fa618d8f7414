// The HTML report's "What is proven, per service" section and the run's service graph (src/runner/coverage.ts).
import type { RunCoverage, ServiceCoverage } from '../runner/coverage.ts';
import { html, trusted, type SafeHtml } from './escape.ts';

function serviceBlock(s: ServiceCoverage): SafeHtml {
  const rows = s.behaviours.map(
    (b) =>
      html`<tr class="is-${b.status}"><td>${b.behaviour}</td><td><code>${b.resource}</code> <code>${b.field}</code></td><td><span class="badge is-${b.status === 'verified' ? 'pass' : 'inconclusive'}">${b.status}</span></td><td>${b.verifiedBy.length > 0 ? b.verifiedBy.join('; ') : html`applied in ${b.experiments.join(', ')}; no expectation exercised it`}</td></tr>`,
  );
  const open = s.verified < s.total;
  return html`<details class="coverage-service" data-service="${s.service}"${open ? trusted(' open') : ''}><summary><b>${s.service}</b> · ${s.verified} of ${s.total} behaviour${s.total === 1 ? '' : 's'} verified</summary>
<table class="grid"><thead><tr><th>Behaviour</th><th>Resource and field</th><th>Status</th><th>Exercised by</th></tr></thead><tbody>${rows}</tbody></table></details>`;
}

export function coverageSection(coverage: RunCoverage | undefined): SafeHtml {
  if (!coverage || (coverage.services.length === 0 && coverage.graph.length === 0)) return html``;
  const edges = coverage.graph.map((e) => {
    const flags = Object.entries(e.flags)
      .sort((a, b) => b[1] - a[1])
      .map(([f, n]) => `${f} ${n}`)
      .join(', ');
    return html`<tr><td>${e.source}</td><td>→ ${e.destination}</td><td class="num">${e.requests.toLocaleString('en')}</td><td class="num">${(e.errorShare * 100).toFixed(1)} %</td><td>${flags || '—'}</td></tr>`;
  });
  return html`<section class="card" id="coverage"><h2>What is proven, per service</h2>
<p>For each service, the behaviours the applied resources decide, and whether an expectation of the same experiment exercised them. An unverified behaviour was applied but nothing checked it.</p>
${coverage.services.map(serviceBlock)}
${coverage.graph.length > 0 ? html`<h3>Service graph</h3><table class="grid service-graph"><thead><tr><th>From</th><th>To</th><th class="num">Requests</th><th class="num">Errors</th><th>Response flags</th></tr></thead><tbody>${edges}</tbody></table>` : ''}
</section>`;
}
