// Words wrapped to a width, with an indent for the first line and a hanging indent for the rest; a word longer than a
// line is cut (a terminal would otherwise break it anywhere).

export function wrap(text: string, width: number, indent = '', hanging = indent): string {
  // A unit stays with its number ("40 %", "2 s"): the space before it does not break.
  const words = text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/ (%|ms\b)/g, '\u00a0$1')
    .split(' ')
    .filter(Boolean);
  const lines: string[] = [];
  let line = '';
  const room = () => Math.max(10, width - (lines.length === 0 ? indent.length : hanging.length));
  for (let word of words) {
    while (word.length > room()) {
      if (line) {
        lines.push(line);
        line = '';
      }
      lines.push(word.slice(0, room()));
      word = word.slice(room());
    }
    if (line && line.length + 1 + word.length > room()) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? indent : hanging) + l.replace(/\u00a0/g, ' ')).join('\n');
}
