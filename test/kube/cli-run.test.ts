// `meshproof run --target kube` through the CLI against the hand-written API server, for what the real one (the
// sandbox, test/sandbox/sandbox.test.ts, where a refused context, the tutorial's timeout and its Ctrl-C run) is not
// made to do here: a throttled service proxy. The kubeconfig comes from KUBECONFIG, as for a user.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { K8sObject } from '../../src/spec/types.ts';
import { comparableForm, runLabel } from '../../src/targets/kube/objects.ts';
import { preexisting, startFixture, type KubeFixture } from './helpers.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let fx: KubeFixture;

beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx.stop();
});
beforeEach(() => {
  fx.server.reset(preexisting());
});

function meshproof(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'bin', 'meshproof.js'), ...args],
      {
        cwd: root,
        env: { ...process.env, NO_COLOR: '1', KUBECONFIG: fx.kubeconfig, XDG_STATE_HOME: fx.stateDir },
        timeout: 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

function clusterAsFound(): void {
  for (const before of preexisting()) {
    const now = fx.server.find(before.kind, before.metadata.namespace, before.metadata.name);
    expect(now, `${before.kind} ${before.metadata.name}`).toBeDefined();
    expect(comparableForm(now as K8sObject)).toEqual(comparableForm(before));
  }
  expect(
    fx.server
      .objects()
      .filter((o) => o.metadata.labels?.[runLabel] || o.metadata.labels?.['meshproof.dev/journal'])
      .map((o) => `${o.kind}/${o.metadata.name}`),
  ).toEqual([]);
}

describe('meshproof run --target kube (CLI, a hand-written API server for faults the real one does not show here)', () => {
  // The runs themselves (mtls-strict, route-all-v1, the whole catalogue) and the RBAC 403 of the service proxy run on the
  // sandbox's real API server (test/sandbox/sandbox.test.ts, .ci/run); this double stays for what a real server is not
  // easily made to do here: throttle the service proxy (API Priority and Fairness, 429).
  it("mtls-strict when the API server throttles its service proxy (429, API Priority and Fairness): a target failure (exit 3), not the mesh's answer", async () => {
    fx.server.serviceProxyRefusal = { code: 429, reason: 'TooManyRequests', message: 'too many requests, please try again later' };
    const reportDir = tempDir('meshproof-kube-run-');
    const { code, stderr } = await meshproof(['run', 'experiments/bookinfo/05-mtls-strict.yaml', '--target', 'kube', '--seed', '1', '--report-dir', reportDir]);
    expect(stderr).toContain('the API server itself answered the client outside the mesh for ratings:9080');
    expect(code, stderr).toBe(3);
    clusterAsFound();
  });
});
