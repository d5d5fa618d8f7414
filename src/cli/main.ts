// meshproof's command line: parses arguments, runs a command, maps errors to exit codes.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode } from '../errors.ts';
import { reportError } from './report-error.ts';
import { meshproofVersion } from './version.ts';
import type { CleanupOptions } from './cleanup-command.ts';
import type { ExportK6Options } from './export-command.ts';
import type { InitOptions } from './init-command.ts';
import type { ListOptions } from './list-command.ts';
import type { RunCommandOptions } from './run-command.ts';
import type { TutorialOptions } from './tutorial-command.ts';
import type { ValidateOptions } from './validate-command.ts';

function parseSeed(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 2 ** 32 - 1) throw new InvalidArgumentError('expected a whole number from 0 to 4294967295');
  return Number(value);
}

function parseMs(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected a duration such as 500ms, 30s or 2m');
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const targetOption = () =>
  new Option('--target <target>', 'where to run: the embedded mesh (local) or a cluster (kube)').choices(['local', 'kube']).default('local');
const contextOption = () => new Option('--context <name>', 'kubeconfig context (kube target); kind-* contexts are allowed by default');
const allowContextOption = () => new Option('--allow-context', 'allow a kube context that is not kind-* (e.g. a shared cluster)');
const kubeconfigOption = () => new Option('--kubeconfig <file>', 'kubeconfig file (kube target; default $KUBECONFIG or ~/.kube/config)');
const namespaceOption = () => new Option('--namespace <ns>', "namespace of the scenario's workloads (kube target)").default('default');
const istioVersionOption = () =>
  new Option('--istio-version <version>', 'Istio release whose behaviour the local target follows (kube reads it from the cluster)');

/** Where and how `run` and `tutorial` reach the mesh: the same options for both. */
function addTargetOptions(command: Command): Command {
  return command
    .addOption(targetOption())
    .addOption(contextOption())
    .addOption(allowContextOption())
    .addOption(kubeconfigOption())
    .addOption(namespaceOption())
    .option('--url <url>', 'entry point for load instead of the discovered ingress (kube)')
    .addOption(istioVersionOption())
    .addOption(
      new Option(
        '--control-plane <plane>',
        "local target: who turns the Istio resources into the proxies' routes and clusters: builtin (default, Node only) or istiod (the pinned istiod's own config generation; built by npm run tools)",
      ).choices(['builtin', 'istiod']),
    )
    .addOption(new Option('--converge-timeout <duration>', 'how long to wait for every proxy to take new config').argParser(parseMs).default(60_000, '60s'));
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('meshproof')
    .description(
      'Prove what an Istio service mesh really does under faults and load.\nExperiments (YAML) apply Istio resources, drive load, and judge expectations with sound statistics.',
    )
    .version(meshproofVersion(), '-V, --version', 'print the meshproof version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .exitOverride();

  const run = program
    .command('run')
    .description('run experiments (files or folders, default experiments/) and write reports')
    .argument('[paths...]', 'experiment files or folders', ['experiments']);
  addTargetOptions(run)
    .option('--report-dir <dir>', 'where to write index.html, result.json and junit.xml (default reports/<UTC time>-<last 4 characters of the run id>)')
    .option('--json', 'print the run result as JSON on stdout (all human output goes to stderr)')
    .option('--junit <file>', 'also write JUnit XML to this file')
    .option('--seed <n>', 'seed for every random decision (printed and recorded; default random)', parseSeed)
    .option('--tag <tag>', 'only experiments with this tag (repeatable: any of them)', collect)
    .addOption(new Option('--driver <driver>', "override every experiment's load driver").choices(['autocannon', 'k6']))
    .addOption(new Option('--inconclusive <as>', 'how inconclusive verdicts count for the exit code and JUnit').choices(['fail', 'pass']).default('fail'))
    .option('-q, --quiet', 'no progress output; only the summary and errors')
    .option(
      '--deploy-echo',
      "kube target: deploy the scenario folder's Deployments as meshproof echo workloads (and its Services and Istio resources) into a test namespace, run there, delete it at the end",
    )
    .option('--echo-namespace <ns>', '--deploy-echo: the test namespace to create (default meshproof-echo-<last 4 characters of the run id>; must not exist)')
    .option('--echo-image <ref>', '--deploy-echo: the echo image, built from deploy/echo/Dockerfile and loaded into the nodes (default meshproof/echo:dev)')
    .addOption(
      new Option('--echo-timeout <duration>', '--deploy-echo: how long to wait for the echo workloads to be ready with sidecars')
        .argParser(parseMs)
        .default(300_000, '5m'),
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 all expectations met, 1 an expectation failed (or was inconclusive), 2 bad input, 3 target or infrastructure failure, 130 interrupted (after restoring the mesh).',
    )
    .action(async (paths: string[], options: RunCommandOptions) => {
      // The local mesh's process loads its modules (about 1.5 s) while this one loads its own and the experiments.
      if (options.target === 'local') (await import('../targets/local/handle.ts')).prewarmMeshProcess();
      const { runCommand } = await import('./run-command.ts');
      process.exitCode = await runCommand(paths, options);
    });

  program
    .command('validate')
    .description('check experiments without running them: schema, units, subsets, observability; warnings for relative weights')
    .argument('[paths...]', 'experiment files or folders', ['experiments'])
    .option('--json', 'print findings as JSON on stdout')
    .option('--istio', "also run Istio's analyzers (pinned istioctl, offline) over the scenario plus each experiment's resources; an Error finding exits 2")
    .addOption(
      new Option('--target <target>', 'the target the experiments are for; local (default) also checks every resource field the embedded mesh would refuse')
        .choices(['local', 'kube'])
        .default('local'),
    )
    .action(async (paths: string[], options: ValidateOptions) => {
      const { validateCommand } = await import('./validate-command.ts');
      process.exitCode = await validateCommand(paths, options);
    });

  program
    .command('list')
    .description('list experiments: name, tags, resources they apply, expectations')
    .argument('[paths...]', 'experiment files or folders', ['experiments'])
    .option('--tag <tag>', 'only experiments with this tag (repeatable)', collect)
    .option('--json', 'print the list as JSON on stdout')
    .action(async (paths: string[], options: ListOptions) => {
      const { listCommand } = await import('./list-command.ts');
      process.exitCode = await listCommand(paths, options);
    });

  program
    .command('init')
    .description('write a starting experiment for one service of a scenario (validates and runs as written)')
    .argument('<service>', 'the service, e.g. reviews')
    .option('--scenario <name>', 'the scenario it belongs to', 'bookinfo')
    .option('--out <file>', 'where to write it (default <service>-baseline.yaml)')
    .option('--force', 'overwrite the file if it exists')
    .action(async (service: string, options: InitOptions) => {
      const { initCommand } = await import('./init-command.ts');
      process.exitCode = await initCommand(service, options);
    });

  const tutorial = program
    .command('tutorial')
    .description('walk through the tutorial scenarios in order: explain each resource, run it, show what was observed')
    .argument('[name]', 'tutorial to run', 'bookinfo')
    .option('-y, --yes', 'do not wait for Enter between steps')
    .option('--step <n>', 'start at step n (1-based); the steps before it are listed as skipped', (v: string) => Number(v));
  addTargetOptions(tutorial)
    .option('--seed <n>', 'seed for every random decision', parseSeed)
    .option('--report-dir <dir>', 'where to write the report')
    .action(async (name: string, options: TutorialOptions) => {
      if (options.target === 'local') (await import('../targets/local/handle.ts')).prewarmMeshProcess();
      const { tutorialCommand } = await import('./tutorial-command.ts');
      process.exitCode = await tutorialCommand(name, options);
    });

  program
    .command('cleanup')
    .description('undo interrupted runs on a cluster: delete objects labelled meshproof.dev/run, restore saved objects')
    .addOption(contextOption())
    .addOption(allowContextOption())
    .addOption(kubeconfigOption())
    .action(async (options: CleanupOptions) => {
      const { cleanupCommand } = await import('./cleanup-command.ts');
      process.exitCode = await cleanupCommand(options);
    });

  program
    .command('report')
    .description('re-render the HTML report from a result.json')
    .argument('<result>', 'path of a result.json written by `meshproof run`')
    .option('-o, --out <file>', 'where to write the HTML (default: index.html beside the result)')
    .action(async (resultPath: string, options: { out?: string }) => {
      const { reportCommand } = await import('./report-command.ts');
      process.exitCode = await reportCommand(resultPath, options);
    });

  const exportCommand = program.command('export').description('export an experiment for other tools');
  exportCommand
    .command('k6')
    .description('write the k6 script meshproof would run for an experiment, to run on your own k6 infrastructure')
    .argument('<experiment>', 'experiment file')
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .option('--base-url <url>', 'entry point the script targets', 'http://127.0.0.1:8080')
    .option('--seed <n>', 'seed for the request rotation', parseSeed, 1)
    .option('--service-url <service=url...>', 'where requests with `service:` go, e.g. ratings=http://10.0.0.5:9080 (repeatable)')
    .action(async (file: string, options: ExportK6Options) => {
      const { exportK6Command } = await import('./export-command.ts');
      process.exitCode = await exportK6Command(file, options);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `meshproof list | head`: a reader that stops early is not an error. (A run still restores: its signal handler and
  // finally blocks do not depend on stdout.)
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors are bad input.
      process.exitCode = error.exitCode === 0 ? 0 : ExitCode.badInput;
      return;
    }
    process.exitCode = reportError(error);
  }
}
