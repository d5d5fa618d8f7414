// Vega-Lite spec → static SVG, headless (no DOM, no canvas), then sanitised. Vega and Vega-Lite are loaded when the
// first chart is drawn: they are the largest modules meshproof loads (about a second), and most commands draw none.
import type { Runtime } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { isRecord } from '../../spec/untyped.ts';
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

/**
 * A chart's spec with each inline dataset (`data: { values }`) replaced by a named one, and those datasets in order.
 * Charts of one kind differ mostly in their data: the catalogue's report draws 87 charts from 21 such templates, and
 * compiling (Vega-Lite) and parsing (Vega) a template is most of a chart's cost, so each is done once per process.
 */
export function separateData(spec: TopLevelSpec): { template: TopLevelSpec; datasets: unknown[][] } {
  const datasets: unknown[][] = [];
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isRecord(node)) return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => {
        if (key === 'data' && isRecord(value) && Array.isArray(value.values)) {
          const { values, ...rest } = value;
          datasets.push(values as unknown[]);
          return [key, { ...rest, name: datasetName(datasets.length - 1) }];
        }
        return [key, walk(value)];
      }),
    );
  };
  return { template: walk(spec) as TopLevelSpec, datasets };
}

const datasetName = (index: number) => `meshproof_data_${index}`;

/** Parsed Vega runtimes by template; a bound keeps a long-lived process (the tutorial) from growing without end. */
const runtimes = new Map<string, Runtime>();
const maxRuntimes = 200;

/** Render a Vega-Lite spec to a sanitised SVG string whose ids start with `idPrefix`. */
export async function renderChart(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  renderers ??= Promise.all([import('vega'), import('vega-lite')]);
  const [vega, { compile }] = await renderers;
  const withConfig = { ...spec, config: { ...chartConfig, ...(spec.config ?? {}) } } as TopLevelSpec;
  const { template, datasets } = separateData(withConfig);
  const key = JSON.stringify(template);
  let runtime = runtimes.get(key);
  if (!runtime) {
    runtime = vega.parse(compile(template, { logger: silentLogger as never }).spec);
    if (runtimes.size >= maxRuntimes) runtimes.clear();
    runtimes.set(key, runtime);
  }
  const view = new vega.View(runtime, { renderer: 'none', logLevel: vega.None });
  datasets.forEach((values, index) => view.data(datasetName(index), values));
  try {
    const svg = await view.toSVG();
    return sanitizeSvg(svg, idPrefix).svg;
  } finally {
    view.finalize();
  }
}
