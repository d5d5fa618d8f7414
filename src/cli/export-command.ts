import { writeFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { ExitCode, SpecError } from '../errors.ts';
import type { LoadPlan } from '../load/driver.ts';
import { k6Script } from '../load/k6-script.ts';
import { k6Checks } from '../load/k6-checks.ts';
import { loadExperimentFile } from '../spec/load.ts';
import type { Experiment } from '../spec/types.ts';
import { say } from './output.ts';
import { must } from '../must.ts';

export interface ExportK6Options {
  out?: string;
  baseUrl: string;
  seed: number;
  /** `service=url` pairs: where requests with `service:` go (the gateway cannot reach a service from outside). */
  serviceUrl?: string[];
}

/** The load plan meshproof's k6 driver would run for the experiment (one plan: requests to services get their URL). */
export function exportPlan(experiment: Experiment, options: ExportK6Options): { plan: LoadPlan; requestBaseUrls: (string | undefined)[]; notes: string[] } {
  const { load } = experiment;
  const services = serviceUrls(options.serviceUrl ?? []);
  const requestBaseUrls = load.requests.map((r) => {
    if (r.service === undefined) return undefined;
    const url = services.get(r.service);
    if (url === undefined) {
      throw new SpecError(
        `request "${r.name}" goes straight to service ${r.service} from outside the mesh; the script needs its URL: --service-url ${r.service}=http://HOST:PORT`,
        undefined,
        'spec.load.requests',
      );
    }
    return url;
  });
  const notes: string[] = [];
  let totalRequests = load.totalRequests;
  if (load.sequential) {
    // k6 cannot stop on a verdict: the script sends the whole budget (meshproof's own runs usually stop well before).
    totalRequests = Math.min(load.sequential.budget, totalRequests ?? Infinity);
    notes.push(
      `meshproof runs this experiment until its verdicts are conclusive (until: verdict) and stops early; k6 cannot ` +
        `judge while it runs, so this script sends the whole budget of ${totalRequests} requests.`,
    );
  }
  const plan: LoadPlan = {
    baseUrl: options.baseUrl.replace(/\/$/, ''),
    requests: load.requests,
    model: load.model,
    ...(load.durationMs !== undefined ? { durationMs: load.durationMs } : {}),
    ...(totalRequests !== undefined ? { totalRequests } : {}),
    timeoutMs: load.timeoutMs,
    seed: options.seed,
    ...(load.classifiers.length > 0 ? { classifiers: load.classifiers } : {}),
  };
  return { plan, requestBaseUrls, notes };
}

function serviceUrls(pairs: string[]): Map<string, string> {
  const urls = new Map<string, string>();
  for (const pair of pairs) {
    const [, service, url] = /^([a-z0-9][a-z0-9.-]*)=(https?:\/\/\S+)$/.exec(pair) ?? [];
    if (service === undefined || url === undefined)
      throw new SpecError(`expected SERVICE=URL such as ratings=http://127.0.0.1:9080 (got "${pair}")`, undefined, '--service-url');
    urls.set(service, url.replace(/\/$/, ''));
  }
  return urls;
}

/** The k6 script meshproof itself would run; `user` logins happen in the script's setup(). */
export async function exportK6Command(file: string, options: ExportK6Options): Promise<number> {
  const experiments = loadExperimentFile(file, { driver: 'k6' });
  // A sweep changes what is applied to the mesh from point to point; the load is usually the same for every point.
  const firstExperiment = must(experiments[0], 'the first experiment of the file');
  const exports = experiments.map((e) => exportPlan(e, options));
  const first = must(exports[0], 'the plan of the first experiment');
  if (exports.some((x) => !isDeepStrictEqual(x.plan, first.plan))) {
    throw new SpecError(`${file} is a sweep of ${experiments.length} runs whose load differs from point to point; export one point by removing spec.matrix`);
  }
  const notes = [...first.notes];
  if (experiments.length > 1) {
    notes.push(
      `${firstExperiment.sweep?.baseName ?? firstExperiment.name} is a sweep of ${experiments.length} points that differ only in what is applied to the mesh; the load, and so this script, is the same for each.`,
    );
  }
  // Thresholds from the expectations k6 can judge; a sweep whose expectations differ by point carries none.
  const perPoint = experiments.map((e) => k6Checks(e.expect, e.load.requests));
  const [firstChecks] = perPoint;
  const same = perPoint.every((c) => isDeepStrictEqual(c, firstChecks));
  const { checks, notCarried } = same && firstChecks ? firstChecks : { checks: [], notCarried: [] };
  if (!same)
    notes.push(
      'The expectations differ from point to point of the sweep, so this script carries no thresholds: export one point (remove spec.matrix) to have them.',
    );
  if (checks.length > 0) {
    notes.push(
      `Thresholds: ${new Set(checks.map((c) => c.title)).size} expectation(s) as k6 metrics meshproof_check_*, so k6 run exits 99 when one fails. ` +
        `k6 compares the observed value with the band's edges; meshproof compares a confidence interval and may call a run k6 passes inconclusive.`,
    );
  }
  for (const { title, why } of notCarried) notes.push(`Not judged here: "${title}": ${why}.`);
  const warmupMs = firstExperiment.load.warmupMs;
  if (warmupMs > 0) notes.push(`Warm-up: responses sent in the first ${warmupMs} ms are sent but not counted, as meshproof records none of them.`);
  const script = k6Script(first.plan, { requestBaseUrls: first.requestBaseUrls, notes, checks, warmupMs });
  if (options.out) {
    await writeFile(options.out, script, 'utf8');
    say(`k6 script: ${options.out} (run it with: k6 run ${options.out})`);
  } else {
    process.stdout.write(script);
  }
  return ExitCode.ok;
}
