// Shared by `run` and `tutorial`: build the target, run experiments with signal handling, write reports.
import { constants } from 'node:fs';
import { existsSync } from 'node:fs';
import { access, mkdir, mkdtemp, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InterruptedError, SpecError } from '../errors.ts';
import { Runner, type RunOptions, type RunnerDeps } from '../runner/run.ts';
import { defaultDeps } from '../runner/default-deps.ts';
import { newRunId, newSeed } from '../runner/ids.ts';
import type { RunResult } from '../runner/result.ts';
import type { RunListener } from '../runner/events.ts';
import type { Experiment } from '../spec/types.ts';
import type { Target } from '../targets/target.ts';
import { TerminalReporter, appendStepSummary, multiplex, writeReports, type ReportPaths } from '../report/index.ts';
import { printable } from '../report/printable.ts';
import { handleSignals } from './signals.ts';
import { meshproofVersion } from './version.ts';

export interface ExecuteOptions {
  target: 'local' | 'kube';
  context?: string;
  allowContext?: boolean;
  kubeconfig?: string;
  namespace?: string;
  url?: string;
  istioVersion?: string;
  controlPlane?: 'builtin' | 'istiod';
  reportDir?: string;
  json?: boolean;
  junit?: string;
  seed?: number;
  driver?: 'autocannon' | 'k6';
  inconclusive?: 'fail' | 'pass';
  convergeTimeout?: number;
  /** kube target: deploy the scenario folder's workloads as echo workloads into a test namespace (run-command checks the combination). */
  deployEcho?: boolean;
  echoNamespace?: string;
  echoImage?: string;
  echoTimeout?: number;
  quiet?: boolean;
  beforeExperiment?: RunOptions['beforeExperiment'];
  afterExperiment?: RunOptions['afterExperiment'];
  /** Extra listener (tutorial mode prints what was observed after each step). */
  listener?: RunListener;
  /** Tests only: a target and runner modules to use instead of the real ones (signals, reports and exit codes stay real). */
  inject?: { target?: Target; deps?: RunnerDeps };
}

interface TargetContext {
  scenario: string;
  seed: number;
  runId: string;
  /** Aborted by Ctrl-C / SIGTERM, for waits inside prepare() (the runner is told too). */
  interrupt: AbortSignal;
  /** Carries the target's progress messages to the run's listeners. */
  log: (message: string) => void;
}

/** The target with all its options. */
async function createTarget(kind: 'local' | 'kube', options: ExecuteOptions, { scenario, seed, runId, interrupt, log }: TargetContext): Promise<Target> {
  if (kind === 'kube') {
    const { KubeTarget } = await import('../targets/kube/index.ts');
    return new KubeTarget({
      scenario,
      ...(options.context ? { context: options.context } : {}),
      ...(options.allowContext ? { allowContext: true } : {}),
      ...(options.url ? { url: options.url } : {}),
      ...(options.controlPlane ? { controlPlane: options.controlPlane } : {}),
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.deployEcho
        ? {
            deployEcho: {
              ...(options.echoNamespace ? { namespace: options.echoNamespace } : {}),
              ...(options.echoImage ? { image: options.echoImage } : {}),
              ...(options.echoTimeout !== undefined ? { readyTimeoutMs: options.echoTimeout } : {}),
            },
          }
        : {}),
      runId,
      interrupt,
      log,
    });
  }
  const { LocalTarget } = await import('../targets/local/index.ts');
  return new LocalTarget({
    scenario,
    seed,
    ...(options.istioVersion ? { istioVersion: options.istioVersion } : {}),
    ...(options.controlPlane ? { controlPlane: options.controlPlane } : {}),
    log,
  });
}

export function defaultReportDir(runId: string, now = new Date()): string {
  const stamp = now.toISOString().slice(0, 19).replace(/:/g, '-');
  return join('reports', `${stamp}-${runId.slice(-4)}`);
}

export interface Execution {
  result: RunResult;
  reports: ReportPaths;
}

export async function execute(experiments: Experiment[], options: ExecuteOptions): Promise<Execution> {
  const seed = options.seed ?? newSeed();
  const runId = newRunId();
  const reportDir = options.reportDir ?? defaultReportDir(runId);
  // Before anything is applied: a report place that cannot be written is bad input, not a lost run.
  const reportDirExisted = existsSync(reportDir);
  await ensureWritableDir(reportDir, '--report-dir', 'the reports');
  if (options.junit) {
    await ensureWritableDir(dirname(options.junit), '--junit', 'the JUnit file');
    if ((await stat(options.junit).catch(() => undefined))?.isDirectory()) {
      throw new SpecError(`${options.junit} is a folder; give the JUnit file's name, e.g. ${join(options.junit, 'junit.xml')}`, undefined, '--junit');
    }
  }
  const terminal = new TerminalReporter({ quiet: options.quiet, json: options.json });
  // One multiplexer for every output: a reporter that throws is told on stderr and never stops the run or its restore.
  const listener = multiplex([terminal, ...(options.listener ? [options.listener] : [])], (error, hook) => {
    process.stderr.write(
      `warning: ${printable(`a reporter failed in ${hook} (the run goes on): ${error instanceof Error ? error.message : String(error)}`)}\n`,
    );
  });
  const log = (message: string) => listener.onMessage(message);
  const preparing = new AbortController();
  const target =
    options.inject?.target ??
    (await createTarget(options.target, options, { scenario: experiments[0]?.scenario ?? 'bookinfo', seed, runId, interrupt: preparing.signal, log }));
  const runner = new Runner(
    {
      runId,
      seed,
      command: ['meshproof', ...process.argv.slice(2)],
      meshproofVersion: meshproofVersion(),
      target,
      ...(options.driver ? { driver: options.driver } : {}),
      convergeTimeoutMs: options.convergeTimeout ?? 60_000,
      inconclusiveAs: options.inconclusive ?? 'fail',
      listener,
      ...(options.beforeExperiment ? { beforeExperiment: options.beforeExperiment } : {}),
      ...(options.afterExperiment ? { afterExperiment: options.afterExperiment } : {}),
    },
    options.inject?.deps ?? defaultDeps,
  );
  const release = handleSignals({
    interrupt: (signal) => {
      runner.interrupt(signal);
      if (!preparing.signal.aborted) preparing.abort(new InterruptedError(`interrupted by ${signal}`, signal));
    },
  });
  let result: RunResult;
  try {
    result = await runner.run(experiments);
  } catch (error) {
    // The target could not be prepared: nothing ran, nothing to report; leave no empty folder of ours behind.
    if (!reportDirExisted) await rmdir(reportDir).catch(() => {});
    throw error;
  } finally {
    release();
  }
  const reportOptions = { ...(options.junit ? { junitFile: options.junit } : {}), inconclusiveAs: options.inconclusive ?? 'fail' } as const;
  let reports: ReportPaths;
  try {
    reports = await writeReports(result, { dir: reportDir, ...reportOptions });
  } catch (error) {
    // The place was writable at the start (disk full since, removed...): keep the run's results somewhere.
    const fallback = await mkdtemp(join(tmpdir(), 'meshproof-report-'));
    // A warning about the user's data, so straight to stderr: shown under --quiet too, and never on --json's stdout.
    process.stderr.write(
      `warning: ${printable(`could not write the reports to ${reportDir} (${(error as Error).message}); writing them to ${fallback} instead`)}\n`,
    );
    reports = await writeReports(result, { dir: fallback, inconclusiveAs: reportOptions.inconclusiveAs });
  }
  terminal.onReportsWritten(reports);
  await appendStepSummary(result, process.env, { reportPath: reports.html });
  return { result, reports };
}

async function ensureWritableDir(dir: string, flag: string, what: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOTDIR' || code === 'EEXIST'
        ? 'it or a folder above it is a file, not a folder'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EROFS'
            ? 'read-only file system'
            : String(code ?? error);
    throw new SpecError(`cannot write ${what} in ${dir}: ${why}`, undefined, flag);
  }
}
