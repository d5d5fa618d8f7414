// A sandbox made from a user's scenario folder (sandbox-up --scenario examples/two-services): the real API server takes
// the folder's objects as `kubectl apply -k` would, the local mesh plays its Deployments' pods as echo workloads, and
// the example suite runs unchanged through the kube target (issue #19: "each example suite ... written to run
// unchanged on kube"). The answers must come from the scenario's workloads: the echo classifier's pod and versions.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSandboxScript } from '../../src/sandbox/scripts.ts';
import { SANDBOX_CONTEXT, SANDBOX_PORT_COUNT, sandboxFiles } from '../../src/sandbox/layout.ts';
import { listeningOn } from '../../src/sandbox/sockets.ts';
import { runCli } from '../catalogue/cli.ts';
import { parseResultJson } from '../../src/report/json.ts';
import type { RunResult } from '../../src/runner/result.ts';
import { tempDir } from '../support/temp-dir.ts';

const stateDir = tempDir('meshproof-sandbox-scenario-');
// Its own port base: neither a hand-run sandbox (16400) nor the other sandbox tests (26400, 27000, 27800).
const portBase = 28400;
const env = { ...process.env, MESHPROOF_SANDBOX: stateDir, MESHPROOF_SANDBOX_PORT_BASE: String(portBase) };
const files = sandboxFiles(stateDir);
const reportDir = join(stateDir, 'reports');

/**
 * What a failure needs besides the verdicts: each experiment's latency at the client, and the gateway's own time for
 * the sampled answers (x-envoy-upstream-service-time), which tells the mesh's time from the way to it.
 */
function timings(r: RunResult): string {
  return r.experiments
    .map((e) => {
      const latency = Object.entries(e.observation?.latency ?? {})
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ');
      const upstream = (e.observation?.samples ?? []).map((s) => s.headers['x-envoy-upstream-service-time'] ?? '-').join(', ');
      return `${e.name}: latency ms ${latency}; gateway upstream-service-time of the samples ${upstream}; per second ${JSON.stringify(e.observation?.timeSeries ?? [])}`;
    })
    .join('\n');
}

let run: { code: number; output: string };
let result: RunResult;

beforeAll(async () => {
  const busy = listeningOn(Array.from({ length: SANDBOX_PORT_COUNT }, (_, i) => portBase + i));
  if (busy.length > 0) throw new Error(`ports ${busy.join(', ')} are already in use: this test needs ${portBase}-${portBase + SANDBOX_PORT_COUNT - 1}`);
  const up = await runSandboxScript('sandbox-up.ts', env, ['--scenario', 'examples/two-services']);
  if (up.code !== 0) throw new Error(`sandbox-up --scenario examples/two-services failed (exit ${up.code}):\n${up.output}`);
  const cli = await runCli(
    ['run', 'examples/two-services/experiments', '--target', 'kube', '--context', SANDBOX_CONTEXT, '--quiet', '--report-dir', reportDir],
    {
      env: { ...env, KUBECONFIG: files.kubeconfig },
      timeoutMs: 240_000,
    },
  );
  run = { code: cli.code ?? 1, output: `${cli.stdout}${cli.stderr}` };
  result = parseResultJson(readFileSync(join(reportDir, 'result.json'), 'utf8'), join(reportDir, 'result.json'));
}, 420_000);

afterAll(async () => {
  await runSandboxScript('sandbox-down.ts', env);
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('sandbox-up --scenario examples/two-services, then the example suite through --target kube', () => {
  it('every experiment of the suite passes, unchanged, exit 0', () => {
    expect(run.code, `${run.output}\n${timings(result)}`).toBe(0);
    expect(result.experiments.map((e) => [e.name, e.outcome])).toEqual([
      ['backend-split-80-20', 'pass'],
      ['retries-flaky-backend', 'pass'],
      ['backend-timeout', 'pass'],
      ['deny-backend', 'pass'],
      ['ratelimit-frontend', 'pass'],
    ]);
  });

  it("the answers came from the scenario's echo workloads in the sandbox's pods: frontend's pod, both backend versions", () => {
    const split = result.experiments.find((e) => e.name === 'backend-split-80-20');
    const groups = split?.observation?.groups ?? [];
    const count = (label: string, value: string) => groups.filter((g) => g.labels[label] === value).reduce((n, g) => n + g.count, 0);
    expect(new Set(groups.map((g) => g.labels.pod))).toEqual(new Set(['frontend-v1-sandbox-0']));
    expect(new Set(groups.map((g) => g.labels['frontend.version']))).toEqual(new Set(['v1']));
    expect(new Set(groups.map((g) => g.labels['backend.version']))).toEqual(new Set(['v1', 'v2']));
    // 80/20 by the VirtualService: v1 answered most (the distribution verdict itself judged the shares).
    expect(count('backend.version', 'v1')).toBeGreaterThan(count('backend.version', 'v2'));
  });
});
