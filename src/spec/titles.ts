// Expectation names are unique within an experiment: JUnit test cases, HTML titles and terminal lines are told apart
// by them, and CI tools merge test cases that share a name.
import type { Expectation } from './types.ts';

/** Titles that still repeat (written so, or defaults that differ in nothing shown) get " (2)", " (3)"... in order. */
export function withUniqueTitles<E extends Pick<Expectation, 'title'>>(expectations: E[]): E[] {
  const total = new Map<string, number>();
  for (const e of expectations) total.set(e.title, (total.get(e.title) ?? 0) + 1);
  const taken = new Set(expectations.map((e) => e.title));
  const seen = new Map<string, number>();
  return expectations.map((e) => {
    if (total.get(e.title) === 1) return e;
    const n = (seen.get(e.title) ?? 0) + 1;
    seen.set(e.title, n);
    if (n === 1) return e;
    let title = `${e.title} (${n})`;
    for (let k = n; taken.has(title); k++) title = `${e.title} (${k + 1})`;
    taken.add(title);
    return { ...e, title };
  });
}
