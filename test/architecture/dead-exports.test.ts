// Issue 17 item 7: no dead exports. An export of src/ that no file of the repository names (not even its own, after
// the declaration) is dead code; unused locals are the compiler's job (tsconfig noUnusedLocals).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : files(path);
    return /\.(ts|mts)$/.test(name) ? [path] : [];
  });
}

describe('exports', () => {
  it('every export of src/ is used somewhere (another file, or its own file beyond the declaration)', () => {
    const all = ['src', 'test', 'scripts', 'bench', 'tools'].flatMap((d) => files(d));
    const text = new Map(all.map((f) => [f, readFileSync(f, 'utf8')]));
    const dead: string[] = [];
    for (const [file, source] of text) {
      if (!file.startsWith('src')) continue;
      for (const m of source.matchAll(/^export (?:async )?(?:function|const|class|type|interface|enum|let) (\w+)/gm)) {
        const name = m[1]!;
        const word = new RegExp(`\\b${name}\\b`, 'g');
        const usedElsewhere = [...text].some(([other, t]) => other !== file && new RegExp(`\\b${name}\\b`).test(t));
        const usedInOwnFile = (source.match(word)?.length ?? 0) > 1;
        if (!usedElsewhere && !usedInOwnFile) dead.push(`${file}: ${name}`);
      }
    }
    expect(dead).toEqual([]);
  });
});
