// Expectation names are unique and say their population (issue: the user's journey, item 5): JUnit test cases, HTML
// titles and terminal lines of expectations that differ only by `where` were the same in four shipped experiments.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadExperimentText, loadExperiments } from '../../src/spec/load.ts';
import { renderJunit } from '../../src/report/junit.ts';
import { withUniqueTitles } from '../../src/spec/titles.ts';
import type { RunResult } from '../../src/runner/result.ts';

const file = fileURLToPath(new URL('../fixtures/good/titles.yaml', import.meta.url));
const text = `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: titles }
spec:
  load:
    requests:
      - { name: jason, path: /productpage, user: jason }
      - { name: anonymous, path: /productpage }
    rate: 10
    duration: 2s
  expect:
    - status: { code: 200, ratio: { min: 0.99 }, where: { request: jason } }
    - status: { code: 200, ratio: { min: 0.99 }, where: { request: anonymous } }
    - latency: { p99: { below: 1s } }
    - latency: { p99: { below: 1s }, title: same }
    - latency: { p50: { below: 1s }, title: same }
`;

describe('expectation titles', () => {
  it('a default title names the where population; repeated titles are numbered', () => {
    const [experiment] = loadExperimentText(text, file);
    expect(experiment!.expect.map((e) => e.title)).toEqual([
      'share of 200 ≥ 99% for request=jason',
      'share of 200 ≥ 99% for request=anonymous',
      'latency p99',
      'same',
      'same (2)',
    ]);
  });

  it('numbering skips a title already written (a, a, "a (2)" → a, a (3), a (2))', () => {
    expect(withUniqueTitles([{ title: 'a' }, { title: 'a' }, { title: 'a (2)' }]).map((e) => e.title)).toEqual(['a', 'a (3)', 'a (2)']);
  });

  it('every catalogue experiment has unique expectation titles', () => {
    const dir = fileURLToPath(new URL('../../experiments/bookinfo/', import.meta.url));
    const { experiments } = loadExperiments(
      readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => `${dir}${f}`),
    );
    expect(experiments.length).toBeGreaterThan(20);
    for (const e of experiments) {
      const titles = e.expect.map((x) => x.title);
      expect({ experiment: e.name, titles: [...new Set(titles)] }).toEqual({ experiment: e.name, titles });
    }
  });

  it('JUnit: a sweep point keeps its parameters out of the classname (no dots CI tools split), in the case name', () => {
    const dir = fileURLToPath(new URL('../../experiments/bookinfo/', import.meta.url));
    const points = loadExperiments([`${dir}40-sweep-abort-percent.yaml`]).experiments;
    const result = {
      schemaVersion: 2,
      runId: 'mp-t',
      meshproofVersion: 't',
      command: ['meshproof'],
      seed: 1,
      target: { kind: 'local', istioVersion: '1.28.0', context: 'local', description: '' },
      startedAt: new Date(0).toISOString(),
      finishedAt: new Date(0).toISOString(),
      durationMs: 0,
      outcome: 'skipped',
      exitCode: 0,
      interrupted: false,
      // Fractional parameter values, as a sweep of shares or durations has them.
      experiments: points.map((p, i) => ({
        name: `${p.sweep!.baseName}[abortPercent=${i}.5]`,
        file: p.file,
        description: '',
        tags: [],
        sweep: { ...p.sweep!, params: { abortPercent: i + 0.5 } },
        outcome: 'skipped',
        skipReason: 'not run',
        resources: [],
        load: p.load,
        counters: [],
        expectations: p.expect,
        verdicts: [],
        phases: [],
        events: [],
        warnings: [],
        startedAt: new Date(0).toISOString(),
        durationMs: 0,
      })),
    } as unknown as RunResult;
    const xml = renderJunit(result);
    const classnames = [...xml.matchAll(/classname="([^"]*)"/g)].map((m) => m[1]!);
    expect(classnames.length).toBeGreaterThan(0);
    for (const c of classnames) expect(c).toMatch(/^meshproof\.[^.]+$/);
    const names = [...xml.matchAll(/<testcase name="([^"]*)" classname="([^"]*)"/g)].map((m) => `${m[2]} ${m[1]}`);
    expect(new Set(names).size).toBe(names.length);
  });
});
