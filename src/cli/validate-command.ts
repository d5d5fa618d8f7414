import { loadExperiments } from '../spec/load.ts';
import { displayPath } from '../spec/resources.ts';
import { ExitCode } from '../errors.ts';
import type { Experiment } from '../spec/types.ts';
import { printable } from '../report/printable.ts';
import { badInputJson, resourceCheckFor } from './preflight.ts';
import type { SourcedFinding } from '../targets/kube/analyze.ts';
import { reportError } from './report-error.ts';
import { paint, say } from './output.ts';
import { describeShortPlan, planSampleSizes, type SamplePlan } from '../assertions/plan.ts';

export interface ValidateOptions {
  json?: boolean;
  /** Also run Istio's analyzers (real istioctl, offline) over the scenario plus each experiment's resources. */
  istio?: boolean;
  /** The target the experiments are meant for; `local` (the default) also parses them as the embedded mesh would. */
  target?: 'local' | 'kube';
}

/**
 * `meshproof validate [--istio]`. Exit codes: 0 valid (warnings and istioctl warnings/infos are shown, not fatal);
 * 2 bad input — a schema/semantic error, a resource field the local target refuses (unless the target is kube), or with --istio an Error-level istioctl finding (the experiment would apply
 * resources Istio itself rejects or cannot honour); 3 istioctl missing or failing.
 */
export async function validateCommand(paths: string[], options: ValidateOptions): Promise<number> {
  let loaded;
  try {
    loaded = loadExperiments(paths, { checkResources: await resourceCheckFor(options.target) });
  } catch (error) {
    const json = options.json ? badInputJson(error) : undefined;
    if (json) {
      process.stdout.write(json);
      return ExitCode.badInput;
    }
    return reportError(error);
  }
  const { experiments, files } = loaded;
  let findings: SourcedFinding[] | undefined;
  if (options.istio) {
    try {
      findings = await istioFindings(experiments);
    } catch (error) {
      return reportError(error);
    }
  }
  const istioErrors = (findings ?? []).filter((f) => f.level === 'Error').length;
  const exitCode = istioErrors > 0 ? ExitCode.badInput : ExitCode.ok;
  const warnings = experiments.flatMap((e) => e.warnings.map((w) => ({ experiment: e.name, ...w })));
  const plans = experiments.map((e) => ({ experiment: e, plans: planSampleSizes(e) }));
  const short = plans.flatMap(({ experiment, plans: mine }) => mine.filter((p) => p.enough === false).map((plan) => ({ experiment, plan })));
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          ok: exitCode === ExitCode.ok,
          files: files.map(displayPath),
          experiments: plans.map(({ experiment: e, plans: mine }) => ({
            name: e.name,
            file: displayPath(e.file),
            expectations: e.expect.length,
            resources: e.apply.length,
            sampleSizes: mine.map(planJson),
          })),
          warnings,
          ...(findings ? { istio: findings } : {}),
        },
        null,
        2,
      )}\n`,
    );
    return exitCode;
  }
  const seen = new Set<string>();
  for (const w of warnings) {
    const line = `${w.source.file}:${w.source.line}:${w.source.col}: ${w.path}: ${w.message}`;
    if (seen.has(line)) continue; // a sweep repeats its resources' warnings
    seen.add(line);
    say(`${paint('yellow', 'warning:')} ${printable(line)}`);
  }
  for (const { experiment, plan } of short) {
    const at = plan.expectation.source;
    const line = `${at.file}:${at.line}:${at.col}: ${plan.expectation.title}: ${describeShortPlan(plan, experiment)}`;
    if (seen.has(line)) continue;
    seen.add(line);
    say(`${paint('yellow', 'warning:')} ${printable(line)}`);
  }
  if (findings) printFindings(findings);
  if (exitCode !== ExitCode.ok) {
    say(
      `${paint('red', 'error:')} istioctl analyze found ${istioErrors} error${istioErrors === 1 ? '' : 's'} in the resources of ${experiments.length} experiment${experiments.length === 1 ? '' : 's'}.`,
    );
    return exitCode;
  }
  const istioNote = findings
    ? `; istioctl analyze: no errors${findings.length ? `, ${findings.length} other finding${findings.length === 1 ? '' : 's'}` : ''}`
    : '';
  say(
    `${paint('green', 'ok:')} ${experiments.length} experiment${experiments.length === 1 ? ' is' : 's are'} valid (${files.length} file${files.length === 1 ? '' : 's'})${seen.size ? ` (${seen.size} warning${seen.size === 1 ? '' : 's'})` : ''}${istioNote}.`,
  );
  return exitCode;
}

function planJson(plan: SamplePlan): Record<string, unknown> {
  return {
    title: plan.expectation.title,
    kind: plan.expectation.kind,
    source: plan.expectation.source,
    assumed: plan.assumed,
    neededResponses: plan.needed,
    neededRequests: plan.neededRequests,
    ...(plan.planned !== undefined ? { plannedResponses: plan.planned, enough: plan.enough } : {}),
    ...(plan.note ? { note: plan.note } : {}),
  };
}

async function istioFindings(experiments: Experiment[]): Promise<SourcedFinding[]> {
  const { analyzeExperiments } = await import('../targets/kube/analyze.ts');
  return analyzeExperiments(experiments);
}

function printFindings(findings: SourcedFinding[]): void {
  const order = { Error: 0, Warning: 1, Info: 2 } as const;
  const sorted = [...findings].sort(
    (a, b) => order[a.level] - order[b.level] || (a.where?.file ?? '').localeCompare(b.where?.file ?? '') || (a.where?.line ?? 0) - (b.where?.line ?? 0),
  );
  for (const f of sorted) {
    const label = f.level === 'Error' ? paint('red', 'istio error:') : f.level === 'Warning' ? paint('yellow', 'istio warning:') : 'istio info:';
    const where = f.where ? `${f.where.file}:${f.where.line}:${f.where.col}: ` : '';
    const resource = f.origin ? ` (${f.origin})` : '';
    const who = f.experiments.length === 0 ? 'the scenario' : `experiment${f.experiments.length === 1 ? '' : 's'} ${f.experiments.join(', ')}`;
    say(`${label} ${printable(`${where}${f.code}${resource}: ${f.message} [${who}]`)}`);
  }
}
