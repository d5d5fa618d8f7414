// YAML with source positions: every error can point at file:line:col.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { SpecError } from '../errors.ts';
import type { SourcePos } from './types.ts';

export type PathSegment = string | number;

export interface YamlDoc {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** Plain JS value of the document. */
  value: unknown;
}

export function readSourceFile(file: string, displayName = file): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a YAML file' : String(code ?? error);
    throw new SpecError(`cannot read ${displayName}: ${why}`, { file: displayName, line: 1, col: 1 });
  }
}

/** Parse every document of a YAML text; syntax errors become SpecErrors at their line. */
export function parseYamlDocuments(text: string, file: string): YamlDoc[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(docs)) {
    // parseAllDocuments returns an EmptyStream for empty input.
    return [];
  }
  const out: YamlDoc[] = [];
  for (const doc of docs) {
    const problem = doc.errors[0];
    if (problem) {
      const pos = lines.linePos(problem.pos[0]);
      const message = problem.message.split('\n')[0].replace(/ at line \d+, column \d+.*$/, '');
      throw new SpecError(`YAML syntax error: ${message}`, { file, line: pos.line, col: pos.col });
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // an empty document between separators
    out.push({ file, doc, lines, value });
  }
  return out;
}

function posAt(source: YamlDoc, offset: number | undefined): SourcePos {
  if (offset === undefined) return { file: source.file, line: 1, col: 1 };
  const p = source.lines.linePos(offset);
  return { file: source.file, line: p.line, col: p.col };
}

/**
 * Position of a path in the document. With `key: true` the position of the mapping key itself
 * (for "unknown field" errors); otherwise the value. Falls back to the deepest existing ancestor.
 */
export function positionOf(source: YamlDoc, path: PathSegment[], options: { key?: boolean } = {}): SourcePos {
  let node: unknown = source.doc.contents;
  let best: Node | undefined = node as Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      if (last && options.key && isScalar(pair.key)) return posAt(source, pair.key.range?.[0]);
      node = pair.value;
      // A mapping or list is located by its key ("load:"), a scalar by its value.
      if (last && (isMap(node) || isSeq(node)) && isScalar(pair.key)) return posAt(source, pair.key.range?.[0]);
      if (node) best = node as Node;
      else if (isScalar(pair.key)) return posAt(source, pair.key.range?.[0]);
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      if (!node) break;
      best = node as Node;
    } else {
      break;
    }
  }
  return posAt(source, best?.range?.[0]);
}

/** The node at a path, for callers that need its sub-tree (e.g. a resource inside an experiment). */
export function nodeAt(source: YamlDoc, path: PathSegment[]): Node | undefined {
  return source.doc.getIn(path, true) as Node | undefined;
}

/** `spec.http[0].route[1].weight` */
export function formatPath(path: PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][-A-Za-z0-9_]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Inverse of formatPath for the simple forms targets produce: `spec.http[0].route[1].weight`. */
export function parsePath(text: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(`"${m[3]}"`) as string);
  }
  return out;
}
