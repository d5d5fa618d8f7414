// .github/workflows/mesh-nightly.yml, read as GitHub Actions would: triggers, pinned versions agreeing with
// kind-up's, the steps in order, meshproof commands whose flags the real CLI defines, artifacts matching the paths the
// run writes, and a run step whose exit code fails the job.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/main.ts';
import { istioRelease, kindRelease } from '../../src/targets/kube/kind.ts';
import { must } from '../../src/must.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  'continue-on-error'?: boolean;
}

const workflow = parse(readFileSync(join(root, '.github', 'workflows', 'mesh-nightly.yml'), 'utf8')) as {
  name: string;
  on: { schedule?: { cron: string }[]; workflow_dispatch?: unknown };
  env: Record<string, string>;
  jobs: Record<string, { 'runs-on': string; steps: Step[]; 'timeout-minutes'?: number }>;
};
const job = must(Object.values(workflow.jobs)[0], 'job');
const steps = job.steps;
const index = (predicate: (s: Step) => boolean, what: string) => {
  const i = steps.findIndex(predicate);
  expect(i, what).toBeGreaterThanOrEqual(0);
  return i;
};
const runs = (text: string) => (s: Step) => (s.run ?? '').includes(text);
const step = (predicate: (s: Step) => boolean, what: string) => must(steps[index(predicate, what)], what);

/** Arguments of `node bin/meshproof.js <...>` in a step's script. */
function meshproofArgs(step: Step): string[] {
  const line = (step.run ?? '').split('\n').find((l) => l.includes('node bin/meshproof.js'))!;
  return line
    .replace(/\|\|.*$/, '')
    .trim()
    .split(/\s+/)
    .slice(2);
}

describe('mesh-nightly workflow', () => {
  it('runs on a schedule and on demand', () => {
    expect(workflow.on.schedule?.[0]?.cron).toMatch(/^(\S+\s+){4}\S+$/);
    expect(workflow.on).toHaveProperty('workflow_dispatch');
  });

  it('pins the Istio and kind releases kind-up installs (src/targets/kube/kind.ts)', () => {
    expect(workflow.env.ISTIO_VERSION).toBe(istioRelease);
    expect(workflow.env.KIND_VERSION).toBe(kindRelease);
    const kind = step(runs('kind-linux-amd64'), 'kind install').run!;
    expect(kind).toContain('https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-amd64');
    const istioctl = step(runs('istioctl-${ISTIO_VERSION}-linux-amd64.tar.gz'), 'istioctl install').run!;
    expect(istioctl).toContain('https://github.com/istio/istio/releases/download/${ISTIO_VERSION}/istioctl-${ISTIO_VERSION}-linux-amd64.tar.gz');
    // kind-up and validate --istio use this release istioctl
    expect(istioctl).toContain('MESHPROOF_ISTIOCTL=$HOME/.local/bin/istioctl" >> "$GITHUB_ENV"');
  });

  it('sets up Node 20, kind and istioctl, validates, makes the cluster, runs the catalogue, uploads, tears down — in that order', () => {
    const order = [
      index((s) => (s.uses ?? '').startsWith('actions/checkout@'), 'checkout'),
      index((s) => (s.uses ?? '').startsWith('actions/setup-node@') && String(s.with?.['node-version']) === '20', 'setup-node 20'),
      index(runs('npm ci'), 'npm ci'),
      index(runs('kind-linux-amd64'), 'kind'),
      index(runs('istioctl-${ISTIO_VERSION}'), 'istioctl'),
      index(runs('validate --istio experiments/bookinfo'), 'validate --istio'),
      index(runs('npx tsx scripts/kind-up.ts'), 'kind-up'),
      index(runs('node bin/meshproof.js run experiments/bookinfo'), 'run'),
      index((s) => s.uses?.startsWith('actions/upload-artifact@') === true && s.with?.name === 'meshproof-report', 'report upload'),
      index((s) => s.uses?.startsWith('actions/upload-artifact@') === true && s.with?.name === 'meshproof-junit', 'junit upload'),
      index(runs('npx tsx scripts/kind-down.ts'), 'kind-down'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(existsSync(join(root, 'scripts', 'kind-up.ts'))).toBe(true);
    expect(existsSync(join(root, 'scripts', 'kind-down.ts'))).toBe(true);
  });

  it('runs on the kube target against the kind context, and its exit code fails the job', () => {
    const run = step(runs('node bin/meshproof.js run experiments/bookinfo'), 'run');
    const args = meshproofArgs(run);
    expect(args.slice(0, 2)).toEqual(['run', 'experiments/bookinfo']);
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--target')).toBe('kube');
    expect(flag('--context')).toBe('kind-meshproof');
    expect(flag('--junit')).toBe('reports/junit.xml');
    expect(run['continue-on-error']).toBeUndefined();
    expect(run.if).toBeUndefined();
    expect(run.run).not.toMatch(/\|\|\s*true/);

    // the artifacts are what that run writes, uploaded even when it failed
    const report = steps.find((s) => s.with?.name === 'meshproof-report')!;
    const junit = steps.find((s) => s.with?.name === 'meshproof-junit')!;
    expect(String(report.with?.path).replace(/\/$/, '')).toBe(flag('--report-dir'));
    expect(junit.with?.path).toBe(flag('--junit'));
    expect(report.if).toBe('always()');
    expect(junit.if).toBe('always()');
    expect(steps.find(runs('scripts/kind-down.ts'))?.if).toBe('always()');
  });

  it('uses only flags the meshproof CLI defines', () => {
    const program = buildProgram();
    for (const step of steps.filter(runs('node bin/meshproof.js'))) {
      const [command, ...rest] = meshproofArgs(step);
      const cmd = program.commands.find((c) => c.name() === command);
      expect(cmd, `command ${command}`).toBeDefined();
      const known = new Set(cmd!.options.map((o) => o.long));
      for (const arg of rest.filter((a) => a.startsWith('--'))) expect(known.has(arg), `${command} ${arg}`).toBe(true);
    }
  });
});
