// YAML with source positions: every error can point at file:line:col.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Document, type Node, type Scalar } from 'yaml';
import { SpecError } from '../errors.ts';
import type { SourcePos } from './types.ts';

export type PathSegment = string | number;

export interface YamlDoc {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** Plain JS value of the document. */
  value: unknown;
  /** The whole text the document was parsed from (for positions inside a block scalar that holds YAML). */
  text?: string;
}

/**
 * Input limits, checked before parsing so that a huge or hostile file is refused at once (documented in the README,
 * "Limits"). An experiment is a page of YAML; a referenced resource file a few manifests (Bookinfo's is 15 KB).
 */
export const LIMITS = {
  /** Bytes of an experiment file. */
  experimentBytes: 1024 * 1024,
  /** Bytes of a resource file an experiment references (`spec.apply[].file`). */
  resourceFileBytes: 4 * 1024 * 1024,
  /**
   * The `yaml` package's maxAliasCount: an alias may be expanded at most this many times, weighted by the aliases
   * inside what it points at (its own guard against "billion laughs" documents).
   */
  aliasExpansions: 100,
} as const;

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${n} bytes`;
}

function tooBig(displayName: string, size: number | undefined, limit: number, what: string): SpecError {
  const found = size === undefined ? `more than ${formatBytes(limit)}` : `${formatBytes(size)} (${size} bytes)`;
  return new SpecError(`${displayName} is ${found}; the limit for ${what} is ${formatBytes(limit)}`, { file: displayName, line: 1, col: 1 });
}

/**
 * A YAML file's text, refused before it is read when it is larger than `limit` bytes. Files whose size the file system
 * does not know (pipes, devices) are read up to the limit and no further.
 */
export function readSourceFile(file: string, displayName = file, limit: number = LIMITS.experimentBytes, what = 'an experiment file'): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw cannotRead(error, displayName);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw cannotRead(Object.assign(new Error(), { code: 'EISDIR' }), displayName);
    if (stat.isFile() && stat.size > limit) throw tooBig(displayName, stat.size, limit, what);
    // One byte more than the limit allows: reading it proves the file too big without reading the rest.
    const buffer = Buffer.alloc(stat.isFile() ? Math.min(stat.size, limit) + 1 : limit + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > limit) throw tooBig(displayName, undefined, limit, what);
    return buffer.toString('utf8', 0, length);
  } catch (error) {
    if (error instanceof SpecError) throw error;
    throw cannotRead(error, displayName);
  } finally {
    closeSync(fd);
  }
}

function cannotRead(error: unknown, displayName: string): SpecError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a YAML file' : String(code ?? error);
  return new SpecError(`cannot read ${displayName}: ${why}`, { file: displayName, line: 1, col: 1 });
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
      const [firstLine = ''] = problem.message.split('\n');
      const message = firstLine.replace(/ at line \d+, column \d+.*$/, '');
      throw new SpecError(`YAML syntax error: ${message}`, { file, line: pos.line, col: pos.col });
    }
    const value = toPlainValue(doc, lines, file);
    if (value === null || value === undefined) continue; // an empty document between separators
    out.push({ file, doc, lines, value, text });
  }
  return out;
}

/**
 * The document as plain data, refusing one whose aliases expand beyond LIMITS.aliasExpansions (the `yaml` package
 * throws a ReferenceError without a position; the error points at the document's first alias instead).
 */
function toPlainValue(doc: Document.Parsed, lines: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: LIMITS.aliasExpansions });
  } catch (error) {
    if (!(error instanceof ReferenceError) || !/alias count/i.test(error.message)) throw error;
    let first: number | undefined;
    visit(doc, {
      Alias(_key, node) {
        first = node.range?.[0];
        return visit.BREAK;
      },
    });
    const pos = lines.linePos(first ?? 0);
    throw new SpecError(
      `YAML aliases expand too much: more than ${LIMITS.aliasExpansions} alias expansions (a "billion laughs" document?); write the values out or use fewer aliases`,
      { file, line: pos.line, col: pos.col },
    );
  }
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
      if (isScalar(node) && i > 0) return positionInBlockScalar(source, node, path.slice(i), options) ?? posAt(source, best?.range?.[0]);
      break;
    }
  }
  return posAt(source, best?.range?.[0]);
}

/**
 * A field inside YAML held by a literal block scalar (an annotation such as `meshproof.dev/echo: |` followed by YAML
 * lines): its own line and column in the file. Undefined when the scalar is not a block or its text is not YAML.
 */
function positionInBlockScalar(source: YamlDoc, scalar: Scalar, rest: PathSegment[], options: { key?: boolean }): SourcePos | undefined {
  if (scalar.type !== 'BLOCK_LITERAL' || typeof scalar.value !== 'string' || source.text === undefined || !scalar.range) return undefined;
  const [only, ...more] = parseYamlDocuments(scalar.value, source.file);
  if (only === undefined || more.length > 0) return undefined;
  const at = positionOf(only, rest, options);
  // The block's content starts on the line after its indicator (`|`), each line indented alike.
  const indicatorLine = source.lines.linePos(scalar.range[0]).line;
  const firstContent = source.text
    .split('\n')
    .slice(indicatorLine)
    .find((l) => l.trim() !== '');
  const indent = firstContent === undefined ? 0 : firstContent.length - firstContent.trimStart().length;
  return { file: source.file, line: indicatorLine + at.line, col: at.col + indent };
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
