// The plot of row 3: expected requests to a conclusive verdict against the true v3 share of an expected 80/20 split,
// sequential (one point per simulated truth) against the fixed design (one n for every truth). A self-contained SVG,
// log scale on the requests axis, the accepted band shaded.
import type { CurvePoint } from './verdict-speed.ts';

export interface CurvePlot {
  points: CurvePoint[];
  fixedN: number;
  band: { lower: number; upper: number };
  budget: number;
  checkEvery: number;
  sims: number;
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 64, right: 16, top: 28, bottom: 48 };

export function verdictCurveSvg(plot: CurvePlot): string {
  const xMax = Math.max(0.45, ...plot.points.map((p) => p.truth));
  const yMin = 10;
  const yMax = Math.max(plot.budget, plot.fixedN) * 1.2;
  const x = (share: number) => MARGIN.left + (share / xMax) * (WIDTH - MARGIN.left - MARGIN.right);
  const y = (requests: number) =>
    MARGIN.top +
    (1 - (Math.log10(Math.max(requests, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  const bottom = HEIGHT - MARGIN.bottom;
  const yTicks = [10, 100, 1000, 10000].filter((t) => t <= yMax);
  const xTicks = [0, 0.1, 0.2, 0.3, 0.4].filter((t) => t <= xMax);
  const sequential = plot.points.map((p) => `${x(p.truth).toFixed(1)},${y(p.sequential.meanRequests).toFixed(1)}`).join(' ');
  const label = (n: number) => n.toLocaleString('en-US');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">
<title>Expected requests to a verdict against the truth: sequential vs fixed (80/20 split ± ${((plot.band.upper - plot.band.lower) * 50).toFixed(0)} points)</title>
<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>
<rect x="${x(plot.band.lower).toFixed(1)}" y="${MARGIN.top}" width="${(x(plot.band.upper) - x(plot.band.lower)).toFixed(1)}" height="${bottom - MARGIN.top}" fill="#e8f4e8"/>
<text x="${((x(plot.band.lower) + x(plot.band.upper)) / 2).toFixed(1)}" y="${MARGIN.top + 12}" text-anchor="middle" fill="#2a7a2a">accepted band</text>
${yTicks.map((t) => `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/><text x="${MARGIN.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${label(t)}</text>`).join('\n')}
${xTicks.map((t) => `<text x="${x(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${Math.round(t * 100)} %</text>`).join('\n')}
<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>
<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${bottom}" stroke="#333"/>
<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(plot.fixedN).toFixed(1)}" y2="${y(plot.fixedN).toFixed(1)}" stroke="#c0392b" stroke-dasharray="6 4" stroke-width="2"/>
<text x="${WIDTH - MARGIN.right - 4}" y="${(y(plot.fixedN) - 6).toFixed(1)}" text-anchor="end" fill="#c0392b">fixed design: ${label(plot.fixedN)} at every truth</text>
<polyline points="${sequential}" fill="none" stroke="#1f5fa8" stroke-width="2"/>
${plot.points.map((p) => `<circle cx="${x(p.truth).toFixed(1)}" cy="${y(p.sequential.meanRequests).toFixed(1)}" r="3.5" fill="#1f5fa8"><title>true v3 share ${(p.truth * 100).toFixed(1)} %: mean ${label(Math.round(p.sequential.meanRequests))} requests (pass ${(p.sequential.pass * 100).toFixed(1)} %, fail ${(p.sequential.fail * 100).toFixed(1)} %, budget spent ${(p.sequential.inconclusive * 100).toFixed(1)} %)</title></circle>`).join('\n')}
<text x="${MARGIN.left + 8}" y="${MARGIN.top - 10}" fill="#1f5fa8">sequential (mean of ${plot.sims} seeded runs per truth, looks every ${plot.checkEvery}, budget ${label(plot.budget)})</text>
<text x="${((MARGIN.left + WIDTH - MARGIN.right) / 2).toFixed(1)}" y="${HEIGHT - 10}" text-anchor="middle">true v3 share (expected 20 %)</text>
<text transform="translate(14 ${((MARGIN.top + bottom) / 2).toFixed(1)}) rotate(-90)" text-anchor="middle">requests to a conclusive verdict (log scale)</text>
</svg>
`;
}
