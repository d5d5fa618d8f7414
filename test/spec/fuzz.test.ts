// Seeded fuzzing of the loader: whatever the input, it either loads or throws SpecErrors — never anything else.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import prand from 'pure-rand';
import { loadExperimentText } from '../../src/spec/load.ts';
import { SpecErrors } from '../../src/errors.ts';
import { must } from '../../src/must.ts';

interface Seed {
  file: string;
  text: string;
  value: unknown;
}

function seedOf(relativePath: string): Seed {
  const file = fileURLToPath(new URL(relativePath, import.meta.url));
  const text = readFileSync(file, 'utf8');
  return { file, text, value: parse(text) };
}

class Random {
  private gen: prand.RandomGenerator;
  constructor(seed: number) {
    this.gen = prand.xoroshiro128plus(seed);
  }
  int(max: number): number {
    const [n, next] = prand.uniformIntDistribution(0, max - 1, this.gen);
    this.gen = next;
    return n;
  }
  pick<T>(list: T[]): T {
    return must(list[this.int(list.length)], 'the picked item');
  }
}

function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value && typeof value === 'object') return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  return [prefix];
}

/** A parsed YAML object or list, indexed by a path segment. */
type YamlNode = Record<string | number, unknown>;

function setAt(root: unknown, path: (string | number)[], fn: (parent: YamlNode, key: string | number) => void): void {
  let node = root as YamlNode;
  for (const key of path.slice(0, -1)) node = node[key] as YamlNode; // a vanished path throws, as the caller expects
  fn(node, must(path[path.length - 1], 'path[path.length - 1]'));
}

const weird: unknown[] = [
  null,
  true,
  -1,
  0,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER * 1000,
  '',
  'x'.repeat(5000),
  [],
  {},
  [[[]]],
  { a: { b: { c: 1 } } },
  '${matrix.nope}',
  '💥\u0000',
  3.14159,
  '12%',
  '-5s',
];

function mutate(r: Random, { text: seedText, value: seedValue }: Seed): string {
  const kind = r.int(6);
  if (kind === 4) {
    // truncation at a random byte
    return seedText.slice(0, r.int(seedText.length));
  }
  if (kind === 5) {
    // random bytes spliced in
    const at = r.int(seedText.length);
    const noise = Array.from({ length: 1 + r.int(12) }, () => String.fromCharCode(r.int(256))).join('');
    return seedText.slice(0, at) + noise + seedText.slice(at + r.int(5));
  }
  const value = structuredClone(seedValue);
  const all = paths(value).filter((p) => p.length > 0);
  for (let i = 0, n = 1 + r.int(3); i < n; i++) {
    const path = r.pick(all);
    try {
      setAt(value, path, (parent, key) => {
        if (kind === 0) {
          if (Array.isArray(parent)) parent.splice(Number(key), 1);
          else delete parent[key];
        } else if (kind === 1) parent[key] = r.pick(weird);
        else if (kind === 2) {
          const old = parent[key];
          parent[key] = typeof old === 'number' ? old * 1e12 : r.pick(weird);
        } else parent[`${String(key)}x`] = parent[key];
      });
    } catch {
      // the path vanished through an earlier mutation; fine
    }
  }
  return stringify(value);
}

describe('loader fuzzing (seeded)', () => {
  // Every refusal names file:line:col (no error without a position), for a plain experiment and for a sweep with
  // inline resources and matrix placeholders.
  it.each([
    { seed: '../fixtures/good/reviews-shift-80-20.yaml', mutations: 1500, minLoaded: 10, minRefused: 500 },
    { seed: '../../experiments/bookinfo/41-sweep-retry-attempts.yaml', mutations: 600, minLoaded: 5, minRefused: 200 },
  ])('$mutations mutations of $seed: loads or SpecErrors with file:line:col, never another exception', ({ seed, mutations, minLoaded, minRefused }) => {
    const source = seedOf(seed);
    const r = new Random(20261123);
    let loaded = 0;
    let refused = 0;
    for (let i = 0; i < mutations; i++) {
      const text = mutate(r, source);
      try {
        loadExperimentText(text, source.file);
        loaded++;
      } catch (error) {
        if (!(error instanceof SpecErrors)) {
          throw new Error(`mutation ${i} threw ${String(error)}\n--- input ---\n${text.slice(0, 2000)}`);
        }
        for (const e of error.errors) expect(e.format(), `mutation ${i}:\n${text.slice(0, 2000)}`).toMatch(/^\S+\.yaml:\d+:\d+: /);
        refused++;
      }
    }
    expect(loaded + refused).toBe(mutations);
    // both outcomes must occur, or the mutations are not exercising anything
    expect(loaded).toBeGreaterThan(minLoaded);
    expect(refused).toBeGreaterThan(minRefused);
  });
});
