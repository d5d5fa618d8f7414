// JUnit XML: a testsuite per experiment, a testcase per expectation, the verdict's explanation as failure message.
// Shape of the common JUnit schema as CI servers read it (Jenkins, GitLab, GitHub test reporters): testsuites >
// testsuite > properties, testcase > failure | error | skipped, system-out.
import type { ExperimentResult, JudgedVerdict, RunResult } from '../runner/result.ts';
import { describeSweepPoint, expectationOf, formatConfidence, formatInterval, formatObserved, formatPValue, formatSource, shellQuote } from './base.ts';
import { escapeMarkup } from './escape.ts';

export interface JunitOptions {
  /** How an inconclusive verdict counts (default: as a failure, `--inconclusive=pass` makes it pass). */
  inconclusiveAs?: 'fail' | 'pass';
}

interface Case {
  name: string;
  classname: string;
  timeSeconds: number;
  result?: { element: 'failure' | 'error' | 'skipped'; message: string; type: string; text: string };
  systemOut?: string;
}

export function renderJunit(result: RunResult, options: JunitOptions = {}): string {
  const inconclusiveAs = options.inconclusiveAs ?? 'fail';
  const suites = result.experiments.map((experiment) => ({ experiment, cases: casesOf(experiment, inconclusiveAs) }));
  // A run that stopped outside any experiment (target never prepared, restore failed) must not look green in CI.
  // An interrupted run is an error too, even when every experiment that ran had passed.
  const runFailure = result.error
    ? {
        element: 'error' as const,
        message: result.error,
        type: result.interrupted ? 'interrupted' : 'run',
        text: `${result.error}\nexit code ${result.exitCode}`,
      }
    : undefined;
  const runError: Case | undefined = runFailure && { name: 'run', classname: 'meshproof', timeSeconds: result.durationMs / 1000, result: runFailure };
  const count = (cases: Case[], element: 'failure' | 'error' | 'skipped') => cases.filter((c) => c.result?.element === element).length;
  const allCases = [...suites.flatMap((s) => s.cases), ...(runError ? [runError] : [])];
  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  lines.push(
    `<testsuites name="meshproof run ${attr(result.runId)}" tests="${allCases.length}" failures="${count(allCases, 'failure')}" errors="${count(allCases, 'error')}" skipped="${count(allCases, 'skipped')}" time="${seconds(result.durationMs)}" timestamp="${attr(timestamp(result.startedAt))}">`,
  );
  suites.forEach(({ experiment, cases }, index) => {
    lines.push(
      `  <testsuite name="${attr(experiment.name)}" id="${index}" package="meshproof" tests="${cases.length}" failures="${count(cases, 'failure')}" errors="${count(cases, 'error')}" skipped="${count(cases, 'skipped')}" time="${seconds(experiment.durationMs)}" timestamp="${attr(timestamp(experiment.startedAt))}" hostname="${attr(result.target.context)}">`,
    );
    lines.push('    <properties>');
    const properties: [string, string][] = [
      ['file', experiment.file],
      ['outcome', experiment.outcome],
      ['target', result.target.kind],
      ['context', result.target.context],
      ['istioVersion', result.target.istioVersion],
      ['controlPlane', result.target.controlPlane ?? ''],
      ['meshproofVersion', result.meshproofVersion],
      ['seed', String(result.seed)],
      ['runId', result.runId],
      ['command', shellQuote(result.command)],
      ...(experiment.tags.length ? [['tags', experiment.tags.join(', ')] as [string, string]] : []),
      ...Object.entries(experiment.sweep?.params ?? {}).map(([k, v]) => [`sweep.${k}`, String(v)] as [string, string]),
    ];
    for (const [name, value] of properties) lines.push(`      <property name="${attr(name)}" value="${attr(value)}"/>`);
    lines.push('    </properties>');
    for (const c of cases) {
      const open = `    <testcase name="${attr(c.name)}" classname="${attr(c.classname)}" time="${c.timeSeconds.toFixed(3)}"`;
      if (!c.result && !c.systemOut) {
        lines.push(`${open}/>`);
        continue;
      }
      lines.push(`${open}>`);
      if (c.result?.element === 'skipped') lines.push(`      <skipped message="${attr(c.result.message)}"/>`);
      else if (c.result) {
        lines.push(`      <${c.result.element} message="${attr(c.result.message)}" type="${attr(c.result.type)}">${text(c.result.text)}</${c.result.element}>`);
      }
      if (c.systemOut) lines.push(`      <system-out>${text(c.systemOut)}</system-out>`);
      lines.push('    </testcase>');
    }
    if (experiment.description) lines.push(`    <system-out>${text(experiment.description)}</system-out>`);
    lines.push('  </testsuite>');
  });
  if (runFailure) {
    lines.push(
      `  <testsuite name="meshproof run" id="${suites.length}" package="meshproof" tests="1" failures="0" errors="1" skipped="0" time="${seconds(result.durationMs)}" timestamp="${attr(timestamp(result.startedAt))}" hostname="${attr(result.target.context)}">`,
    );
    lines.push(`    <testcase name="run" classname="meshproof" time="${seconds(result.durationMs)}">`);
    lines.push(`      <error message="${attr(runFailure.message)}" type="${attr(runFailure.type)}">${text(runFailure.text)}</error>`);
    lines.push('    </testcase>');
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}

function casesOf(experiment: ExperimentResult, inconclusiveAs: 'fail' | 'pass'): Case[] {
  // CI tools split a classname at its dots into packages: the classname is the experiment's base name without dots, and
  // a sweep point's parameters (0.5, 1.2s...) go into each test case's name instead.
  const classname = `meshproof.${(experiment.sweep?.baseName ?? experiment.name).replace(/\./g, '_')}`;
  const point = experiment.sweep ? ` [${describeSweepPoint(experiment.sweep.params)}]` : '';
  const cases: Case[] = experiment.verdicts.map((verdict) => ({
    ...verdictCase(experiment, verdict, classname, inconclusiveAs),
    name: `${verdict.title}${point}`,
  }));
  if (experiment.outcome === 'skipped' || experiment.outcome === 'interrupted') {
    // Never judged: listed and counted as skipped (the run's own error case fails the suite), never dropped.
    const why =
      experiment.outcome === 'skipped'
        ? (experiment.skipReason ?? 'not run')
        : `stopped in ${experiment.error?.phase ?? 'load'}: ${experiment.error?.message ?? 'interrupted'}`;
    const judged = new Set(experiment.verdicts.map((v) => v.expectationIndex));
    for (const [index, expectation] of experiment.expectations.entries()) {
      if (judged.has(index)) continue;
      cases.push({
        name: `${expectation.title}${point}`,
        classname,
        timeSeconds: 0,
        result: { element: 'skipped', message: why, type: experiment.outcome, text: '' },
      });
    }
    return cases;
  }
  if (experiment.outcome !== 'error') return cases;
  const error = experiment.error ?? { phase: 'prepare', message: 'the experiment errored', exitCode: 3 };
  const message = `${error.phase}: ${error.message}`;
  const judged = new Set(experiment.verdicts.map((v) => v.expectationIndex));
  // Expectations never judged because the experiment stopped: each is an error.
  for (const [index, expectation] of experiment.expectations.entries()) {
    if (judged.has(index)) continue;
    cases.push({
      name: `${expectation.title}${point}`,
      classname,
      timeSeconds: 0,
      result: {
        element: 'error',
        message,
        type: error.phase,
        text: `${message}\nnot judged: ${expectation.kind} at ${formatSource(expectation.source) ?? 'unknown position'}\nexit code ${error.exitCode}`,
      },
    });
  }
  // An error after judging (e.g. restore) still fails the suite: report it as its own case.
  if (cases.every((c) => c.result?.element !== 'error')) {
    cases.push({
      name: `${error.phase} phase${point}`,
      classname,
      timeSeconds: 0,
      result: { element: 'error', message, type: error.phase, text: `${message}\nexit code ${error.exitCode}` },
    });
  }
  return cases;
}

/**
 * A verdict testcase's time: from load start until the judge phase ended, i.e. until its verdict was decided and
 * final — the evidence it took, in seconds. Verdicts carry no decision time of their own: in sequential mode a
 * client-side verdict that stopped the load was decided at that look, at most this long after load start. The
 * suite's time is the whole experiment (apply, converge, load, judge, restore). Expectations never judged count 0.
 */
function decidedAfterSeconds(experiment: ExperimentResult): number {
  const load = experiment.phases.find((p) => p.phase === 'load');
  const judge = experiment.phases.findLast((p) => p.phase === 'judge');
  if (!load || !judge) return 0;
  return Math.max(0, judge.startMs + judge.durationMs - load.startMs) / 1000;
}

function verdictCase(experiment: ExperimentResult, verdict: JudgedVerdict, classname: string, inconclusiveAs: 'fail' | 'pass'): Case {
  const expectation = expectationOf(experiment, verdict);
  const facts = [
    `outcome: ${verdict.outcome}`,
    `observed: ${formatObserved(verdict)}`,
    `expected: ${verdict.expected}`,
    `interval: ${formatInterval(verdict)} at ${formatConfidence(verdict.confidence)} confidence`,
    `sample size: ${verdict.sampleSize}`,
    ...(verdict.pValue !== undefined ? [`p-value: ${formatPValue(verdict.pValue)}`] : []),
    ...(formatSource(verdict.source ?? expectation?.source) ? [`source: ${formatSource(verdict.source ?? expectation?.source)}`] : []),
  ].join('\n');
  const failing = verdict.outcome === 'fail' || (verdict.outcome === 'inconclusive' && inconclusiveAs === 'fail');
  return {
    name: verdict.title,
    classname,
    timeSeconds: decidedAfterSeconds(experiment),
    result: failing ? { element: 'failure', message: verdict.explanation, type: verdict.outcome, text: `${verdict.explanation}\n${facts}` } : undefined,
    systemOut: failing ? undefined : `${verdict.explanation}\n${facts}`,
  };
}

function attr(value: string): string {
  // Newlines in attributes are normalised to spaces by XML parsers; keep them as character references.
  return escapeMarkup(value).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function text(value: string): string {
  return escapeMarkup(value);
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

/** ISO 8601 without milliseconds and zone, as the JUnit schema's xs:dateTime pattern in Jenkins' XSD wants. */
function timestamp(iso: string): string {
  return iso.replace(/\.\d+/, '').replace(/Z$/, '');
}
