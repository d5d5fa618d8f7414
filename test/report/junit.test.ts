import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { parse as parseJunit, type TestSuites } from 'junit2json';
import { renderJunit } from '../../src/report/junit.ts';
import { buildRunResult, hostileImg, hostileScript } from './fixtures.ts';
import { must } from '../../src/must.ts';

const xsd = readFileSync(new URL('./junit.xsd', import.meta.url), 'utf8');

/** junit2json's reading of a <testsuites> document. */
async function parse(xml: string): Promise<TestSuites> {
  const parsed = await parseJunit(xml);
  if (!parsed || !('testsuite' in parsed) || parsed.testsuite === undefined) throw new Error('not a <testsuites> document');
  return parsed as TestSuites;
}

async function validate(xml: string) {
  return validateXML({ xml: [{ fileName: 'junit.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: xsd }] });
}

describe('JUnit XML', () => {
  const run = buildRunResult();
  const xml = renderJunit(run);

  it('validates against the common JUnit XSD shape (libxml2 via xmllint-wasm)', async () => {
    const result = await validate(xml);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('the XSD check is real: a testcase without a name is rejected', async () => {
    const broken = xml.replace(/<testcase name="[^"]*"/, '<testcase');
    expect((await validate(broken)).valid).toBe(false);
  });

  it('is read by junit2json: a suite per experiment, a case per expectation, failure messages = explanations', async () => {
    const suites = (await parse(xml)).testsuite!;
    expect(suites.map((s) => s.name)).toEqual(run.experiments.map((e) => e.name));
    for (const [i, experiment] of run.experiments.entries()) {
      const suite = must(suites[i], 'suite');
      const cases = suite.testcase ?? [];
      if (experiment.outcome !== 'error') {
        // A sweep point's parameters are part of each case's name (not of its classname, which CI tools split at dots).
        const point = experiment.sweep
          ? ` [${Object.entries(experiment.sweep.params)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}]`
          : '';
        expect(cases.map((c) => c.name)).toEqual(experiment.verdicts.map((v) => `${v.title}${point}`));
        experiment.verdicts.forEach((verdict, j) => {
          const failure = must(cases[j], 'cases[j]').failure?.[0];
          if (verdict.outcome === 'pass') expect(failure).toBeUndefined();
          else expect(failure?.message).toBe(verdict.explanation);
        });
        expect(suite.failures).toBe(experiment.verdicts.filter((v) => v.outcome !== 'pass').length);
        expect(suite.errors).toBe(0);
      }
      expect(suite.tests).toBe(cases.length);
    }
  });

  it('inconclusive is a failure by default and a pass with inconclusiveAs: pass', async () => {
    const index = run.experiments.findIndex((e) => e.outcome === 'inconclusive');
    const asFail = must((await parse(xml)).testsuite![index], 'asFail');
    expect(asFail.failures).toBe(1);
    expect(asFail.testcase?.[0]?.failure?.[0]?.type).toBe('inconclusive');
    const asPass = must((await parse(renderJunit(run, { inconclusiveAs: 'pass' }))).testsuite![index], 'asPass');
    expect(asPass.failures).toBe(0);
    expect(must(asPass.testcase![0], 'asPass.testcase![0]').failure).toBeUndefined();
    expect(asPass.testcase?.[0]?.['system-out']?.[0]).toContain('outcome: inconclusive');
  });

  it('an errored experiment reports <error> for each expectation it never judged', async () => {
    const index = run.experiments.findIndex((e) => e.outcome === 'error');
    const experiment = must(run.experiments[index], 'experiment');
    const suite = must((await parse(xml)).testsuite![index], 'suite');
    expect(suite.errors).toBe(experiment.expectations.length);
    const error = must(suite.testcase?.[0]?.error?.[0], 'the first error case');
    expect(error.message).toBe(`converge: ${experiment.error!.message}`);
    expect(error.type).toBe('converge');
  });

  it('an error after judging (restore) keeps the verdicts and adds an error case', async () => {
    const restoreFailed = buildRunResult();
    const experiment = must(restoreFailed.experiments[0], 'experiment');
    experiment.outcome = 'error';
    experiment.error = { phase: 'restore', message: 'could not delete VirtualService/reviews', exitCode: 3 };
    restoreFailed.experiments = [experiment];
    const suite = must((await parse(renderJunit(restoreFailed))).testsuite![0], 'suite');
    expect(suite.testcase!.map((c) => c.name)).toEqual([...experiment.verdicts.map((v) => v.title), 'restore phase']);
    expect(suite.errors).toBe(1);
  });

  it('a run that stopped outside any experiment is an <error>, so CI does not see an empty green run', async () => {
    const stopped = buildRunResult();
    stopped.experiments = [];
    stopped.error = 'target local failed to prepare: port 8080 in use';
    const junit = renderJunit(stopped);
    expect((await validate(junit)).valid).toBe(true);
    const parsed = await parse(junit);
    expect(parsed.errors).toBe(1);
    expect(parsed.testsuite?.[0]?.testcase?.[0]?.error?.[0]?.message).toBe(stopped.error);
  });

  it('times: the suite carries the experiment duration, a verdict case the time from load start until judged', async () => {
    const suites = (await parse(xml)).testsuite!;
    const shift = must(run.experiments[0], 'shift');
    // fixtures: load starts 902 ms into the experiment and lasts 10 s; counters 25 ms, judge 6 ms → judged 10.031 s in.
    expect(suites[0]?.time).toBe(shift.durationMs / 1000);
    expect(suites[0]?.testcase?.map((c) => c.time)).toEqual(shift.verdicts.map(() => 10.031));
    for (const [i, experiment] of run.experiments.entries()) {
      if (experiment.outcome === 'error') {
        // never judged: no decision time
        expect(suites[i]?.testcase?.every((c) => c.time === 0)).toBe(true);
        continue;
      }
      const load = experiment.phases.find((p) => p.phase === 'load')!;
      for (const c of must(suites[i], 'suites[i]').testcase!) {
        expect(c.time).toBeGreaterThan(load.durationMs / 1000);
        expect(c.time).toBeLessThan(experiment.durationMs / 1000);
      }
    }
  });

  it('totals on <testsuites> add up', async () => {
    const parsed = await parse(xml);
    const suites = parsed.testsuite!;
    expect(parsed.tests).toBe(suites.reduce((n, s) => n + (s.tests ?? 0), 0));
    expect(parsed.failures).toBe(suites.reduce((n, s) => n + (s.failures ?? 0), 0));
    expect(parsed.errors).toBe(suites.reduce((n, s) => n + (s.errors ?? 0), 0));
  });

  it('hostile strings survive as text: names, explanations, control characters', async () => {
    const index = run.experiments.findIndex((e) => e.name.includes('quotes'));
    const suite = must((await parse(xml)).testsuite![index], 'suite');
    const experiment = must(run.experiments[index], 'the experiment with quotes');
    expect(suite.name).toBe(experiment.name);
    expect(suite.testcase?.[0]?.failure?.[0]?.message).toBe(must(experiment.verdicts[0], 'its first verdict').explanation);
    expect(suite.testcase?.[0]?.failure?.[0]?.message).toContain(hostileScript);
    expect(xml).not.toContain(hostileImg);
    expect(xml).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
  });
});
