// Vega-Lite spec → static SVG, headless (no DOM, no canvas), then sanitised. Vega and Vega-Lite are loaded when the
// first chart is drawn: they are the largest modules meshproof loads (about a second), and most commands draw none.
import type { TopLevelSpec } from 'vega-lite';
import { sanitizeSvg } from './sanitize-svg.ts';

let renderers: Promise<[typeof import('vega'), typeof import('vega-lite')]> | undefined;

/** Look shared by every chart; fonts are generic families so the page needs no font files. */
export const chartConfig = {
  font: 'system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif',
  background: '#ffffff',
  view: { stroke: '#e3e6ea' },
  axis: {
    labelColor: '#4a5360',
    titleColor: '#2b313a',
    gridColor: '#eef0f3',
    domainColor: '#9aa3ad',
    tickColor: '#9aa3ad',
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 600,
  },
  legend: { labelColor: '#2b313a', titleColor: '#2b313a', labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
  title: { fontSize: 13, color: '#1d232b', anchor: 'start', fontWeight: 600 },
} as const;

interface Logger {
  level(): number | Logger;
  error(): Logger;
  warn(): Logger;
  info(): Logger;
  debug(): Logger;
}

const silentLogger: Logger = {
  level() {
    return 0;
  },
  error() {
    return silentLogger;
  },
  warn() {
    return silentLogger;
  },
  info() {
    return silentLogger;
  },
  debug() {
    return silentLogger;
  },
};

/** Render a Vega-Lite spec to a sanitised SVG string whose ids start with `idPrefix`. */
export async function renderChart(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  renderers ??= Promise.all([import('vega'), import('vega-lite')]);
  const [vega, { compile }] = await renderers;
  const withConfig = { ...spec, config: { ...chartConfig, ...(spec.config ?? {}) } } as TopLevelSpec;
  const vegaSpec = compile(withConfig, { logger: silentLogger as never }).spec;
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none', logLevel: vega.None });
  try {
    const svg = await view.toSVG();
    return sanitizeSvg(svg, idPrefix).svg;
  } finally {
    view.finalize();
  }
}
