// Re-serialises an SVG through an allowlist. Chart labels come from untrusted data (status codes, label values,
// experiment names), so the renderer's output is parsed and rebuilt: only drawing elements and presentation
// attributes survive, references may only point inside the same chart, and every text is escaped again.
// Element ids are renamed `<prefix>-<n>` in order of appearance, which keeps several charts in one page apart and
// makes the output independent of the renderer's process-wide id counters (so re-rendering is byte-identical).
import sax from 'sax';
import { escapeMarkup } from '../escape.ts';

const allowedElements = new Set([
  'svg',
  'g',
  'path',
  'rect',
  'line',
  'circle',
  'ellipse',
  'polygon',
  'polyline',
  'text',
  'tspan',
  'title',
  'desc',
  'defs',
  'clipPath',
  'linearGradient',
  'radialGradient',
  'stop',
]);

const allowedAttributes = new Set([
  'xmlns',
  'version',
  'class',
  'role',
  'id',
  'width',
  'height',
  'viewBox',
  'transform',
  'd',
  'x',
  'y',
  'x1',
  'x2',
  'y1',
  'y2',
  'cx',
  'cy',
  'r',
  'rx',
  'ry',
  'dx',
  'dy',
  'points',
  'fill',
  'fill-opacity',
  'fill-rule',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'stroke-dashoffset',
  'stroke-linecap',
  'stroke-linejoin',
  'stroke-miterlimit',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
  'font-variant',
  'text-anchor',
  'text-decoration',
  'dominant-baseline',
  'alignment-baseline',
  'letter-spacing',
  'pointer-events',
  'display',
  'visibility',
  'clip-path',
  'clipPathUnits',
  'gradientUnits',
  'offset',
  'stop-color',
  'stop-opacity',
  'shape-rendering',
  'vector-effect',
  'preserveAspectRatio',
  'aria-hidden',
  'aria-label',
  'aria-roledescription',
  'focusable',
]);

/** Attributes whose value may be a paint or clip reference: only `url(#id)` to this chart is kept. */
const referenceAttributes = new Set(['fill', 'stroke', 'clip-path']);

export interface SanitizeReport {
  svg: string;
  /** What was removed (element names and `element@attribute`), for tests and debugging. */
  dropped: string[];
}

export function sanitizeSvg(svg: string, idPrefix: string): SanitizeReport {
  const parser = sax.parser(true, { xmlns: false, trim: false, normalize: false });
  const out: string[] = [];
  const dropped: string[] = [];
  const ids = new Map<string, string>();
  const rename = (id: string) => {
    let renamed = ids.get(id);
    if (!renamed) {
      renamed = `${idPrefix}-${ids.size + 1}`;
      ids.set(id, renamed);
    }
    return renamed;
  };
  /** Depth inside a dropped element: its whole subtree goes. */
  let skipDepth = 0;
  let rootSeen = false;

  parser.onopentag = (node) => {
    if (skipDepth > 0 || !allowedElements.has(node.name) || (!rootSeen && node.name !== 'svg')) {
      skipDepth++;
      dropped.push(node.name);
      return;
    }
    rootSeen = true;
    let tag = `<${node.name}`;
    for (const [name, rawValue] of Object.entries(node.attributes as Record<string, string>)) {
      const value = cleanAttribute(node.name, name, rawValue, rename);
      if (value === undefined) {
        dropped.push(`${node.name}@${name}`);
        continue;
      }
      tag += ` ${name}="${escapeMarkup(value)}"`;
    }
    out.push(tag + '>');
  };
  parser.onclosetag = (name) => {
    if (skipDepth > 0) {
      skipDepth--;
      return;
    }
    out.push(`</${name}>`);
  };
  parser.ontext = (text) => {
    if (skipDepth === 0 && rootSeen) out.push(escapeMarkup(text));
  };
  parser.oncdata = (text) => {
    if (skipDepth === 0 && rootSeen) out.push(escapeMarkup(text));
  };
  parser.onprocessinginstruction = () => dropped.push('processing-instruction');
  parser.ondoctype = () => dropped.push('doctype');
  try {
    parser.write(svg).close();
  } catch {
    // Not well-formed: show nothing rather than guess.
    return { svg: '', dropped: ['unparseable'] };
  }
  return { svg: out.join(''), dropped };
}

function cleanAttribute(element: string, name: string, value: string, rename: (id: string) => string): string | undefined {
  if (name === 'xmlns') return value === 'http://www.w3.org/2000/svg' ? value : undefined;
  if (!allowedAttributes.has(name)) return undefined;
  if (name === 'id') return rename(value);
  if (/url\s*\(/i.test(value)) {
    if (!referenceAttributes.has(name)) return undefined;
    const local = /^\s*url\(\s*#([A-Za-z0-9_.:-]+)\s*\)\s*$/.exec(value)?.[1];
    return local !== undefined ? `url(#${rename(local)})` : undefined;
  }
  if (element === 'svg' && (name === 'width' || name === 'height') && !/^[0-9.]+(px)?$/.test(value)) return undefined;
  return value;
}
