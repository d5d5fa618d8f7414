// `meshproof tutorial` from a directory that is not the repository (the package's own experiments/ are used), with
// the kube target's --url and --converge-timeout, against the fake API server (a test double that carries no Bookinfo
// traffic: the tutorial's load goes to a loopback server of this test, given with --url).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { K8sObject } from '../../src/spec/types.ts';
import { tutorialDir } from '../../src/cli/tutorial-command.ts';
import { comparableForm, runLabel } from '../../src/targets/kube/objects.ts';
import { preexisting, startFixture, type KubeFixture } from './helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'meshproof.js');
let fx: KubeFixture;
let elsewhere: string;

beforeAll(async () => {
  fx = await startFixture();
  elsewhere = mkdtempSync(join(tmpdir(), 'meshproof-elsewhere-'));
});
afterAll(async () => {
  await fx.server.stop();
});
beforeEach(() => {
  fx.server.reset(preexisting());
});

const env = () => ({ ...process.env, NO_COLOR: '1', KUBECONFIG: fx.kubeconfig, XDG_STATE_HOME: fx.stateDir });

function meshproof(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: elsewhere, env: env(), timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

function clusterAsFound(): void {
  for (const before of preexisting()) {
    const now = fx.server.find(before.kind, before.metadata.namespace, before.metadata.name);
    expect(comparableForm(now as K8sObject)).toEqual(comparableForm(before));
  }
  expect(fx.server.objects().filter((o) => o.metadata.labels?.[runLabel] || o.metadata.labels?.['meshproof.dev/journal']).map((o) => o.metadata.name)).toEqual([]);
}

describe('meshproof tutorial from another directory', () => {
  it("finds the package's experiments/<name>/ when the current directory has none", () => {
    expect(tutorialDir('bookinfo', elsewhere)).toBe(join(root, 'experiments', 'bookinfo'));
    expect(tutorialDir('bookinfo', root)).toBe(join(root, 'experiments', 'bookinfo'));
    expect(tutorialDir('no-such-tutorial', elsewhere)).toBeUndefined();
    expect(tutorialDir('../escape', elsewhere)).toBeUndefined();
  });

  it('names both places it looked for an unknown tutorial (exit 2)', async () => {
    const { code, stderr } = await meshproof(['tutorial', 'no-such-tutorial', '--yes']);
    expect(code).toBe(2);
    expect(stderr).toContain('no tutorial "no-such-tutorial": neither ./experiments/no-such-tutorial/ nor meshproof\'s');
  });

  it('--converge-timeout reaches the kube target: a 1 ms wait fails the first step (exit 3) and the cluster is left as found', async () => {
    const reportDir = mkdtempSync(join(tmpdir(), 'meshproof-tutorial-'));
    const { code, stderr } = await meshproof(['tutorial', '--yes', '--target', 'kube', '--url', 'http://127.0.0.1:9', '--converge-timeout', '1ms', '--report-dir', reportDir]);
    expect(stderr).toMatch(/meshproof tutorial: bookinfo — \d+ steps on the kube target/);
    expect(stderr).toMatch(/Step 1\/\d+: route-all-v1/);
    expect(stderr).toContain('configuration did not converge in 1 ms');
    expect(code, stderr).toBe(3);
    clusterAsFound();
  });

  it('--url is where the load goes; Ctrl-C during the first step restores the cluster (exit 130)', async () => {
    const reportDir = mkdtempSync(join(tmpdir(), 'meshproof-tutorial-'));
    let child: ReturnType<typeof spawn> | undefined;
    const seen: string[] = [];
    const ingress = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('ok');
      if (seen.length === 1) child?.kill('SIGINT');
    });
    await new Promise<void>((resolve) => ingress.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(ingress.address() as AddressInfo).port}`;
    try {
      child = spawn(process.execPath, [bin, 'tutorial', '--yes', '--target', 'kube', '--url', url, '--converge-timeout', '20s', '--report-dir', reportDir], { cwd: elsewhere, env: env() });
      let stderr = '';
      child.stderr?.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child!.on('exit', (c) => resolve(c)));
      expect(seen[0]).toBe('/productpage');
      expect(stderr).toContain('Interrupted.');
      expect(code, stderr).toBe(130);
      clusterAsFound();
    } finally {
      ingress.closeAllConnections();
      await new Promise<void>((resolve) => ingress.close(() => resolve()));
    }
  });
});
