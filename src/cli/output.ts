// Small output helpers shared by commands: human text goes to stderr when --json owns stdout.
import { formatWithOptions } from 'node:util';

export function useColor(stream: NodeJS.WriteStream = process.stderr): boolean {
  return !process.env.NO_COLOR && isTerminal(stream);
}

const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

export function paint(color: keyof typeof codes, text: string, stream: NodeJS.WriteStream = process.stderr): string {
  return useColor(stream) ? `\u001b[${codes[color]}m${text}\u001b[0m` : text;
}

/** Columns padded to their widest cell. */
export function table(rows: string[][], header: string[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function say(...args: unknown[]): void {
  process.stderr.write(`${formatWithOptions({ colors: false }, ...args)}\n`);
}

/** A stream's isTTY is undefined when it is not a terminal (Node's types say boolean). */
export function isTerminal(stream: { isTTY?: boolean }): boolean {
  return stream.isTTY === true;
}
