// `meshproof run --target kube` end to end through the CLI, against the fake API server (a test double: it carries no
// Bookinfo traffic — its gateway answers every request with 200 "gateway ok" — but it enforces STRICT mTLS on its
// service proxy, so the mTLS tutorial step can be judged for real). The kubeconfig comes from KUBECONFIG, as for a user.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { K8sObject } from '../../src/spec/types.ts';
import { comparableForm, runLabel } from '../../src/targets/kube/objects.ts';
import { preexisting, startFixture, type KubeFixture } from './helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let fx: KubeFixture;

beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx.server.stop();
});
beforeEach(() => {
  fx.server.reset(preexisting());
});

function meshproof(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'bin', 'meshproof.js'), ...args],
      { cwd: root, env: { ...process.env, NO_COLOR: '1', KUBECONFIG: fx.kubeconfig, XDG_STATE_HOME: fx.stateDir }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
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
  expect(fx.server.objects().filter((o) => o.metadata.labels?.[runLabel] || o.metadata.labels?.['meshproof.dev/journal']).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
}

describe('meshproof run --target kube (CLI, fake API server)', () => {
  it('mtls-strict: the page passes through the gateway, the outside client is reset, the cluster is left as found', async () => {
    const reportDir = mkdtempSync(join(tmpdir(), 'meshproof-kube-run-'));
    const { code, stderr } = await meshproof(['run', 'experiments/bookinfo/05-mtls-strict.yaml', '--target', 'kube', '--seed', '1', '--report-dir', reportDir, '--junit', join(reportDir, 'j.xml')]);
    expect(stderr).toContain('client outside the mesh for ratings:9080');
    expect(code, stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(reportDir, 'result.json'), 'utf8')) as { experiments: { name: string; outcome: string }[]; target?: { kind?: string; context?: string } };
    expect(result.experiments.map((e) => [e.name, e.outcome])).toEqual([['mtls-strict', 'pass']]);
    // the PeerAuthentication went in by server-side apply, labelled with the run, and the outside requests through the service proxy
    const applied = fx.server.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/peerauthentications/default'));
    expect(applied.length).toBe(1);
    expect(applied[0]).toMatchObject({ contentType: 'application/apply-patch+yaml', query: { fieldManager: 'meshproof' } });
    expect(JSON.parse(applied[0].body).metadata.labels[runLabel]).toMatch(/^mp-/);
    expect(fx.server.requests.some((r) => r.path === '/api/v1/namespaces/default/services/ratings:9080/proxy/ratings/0')).toBe(true);
    clusterAsFound();
  });

  it('route-all-v1: applies, converges and restores; with no Bookinfo behind the double the distribution is inconclusive (exit 1)', async () => {
    const reportDir = mkdtempSync(join(tmpdir(), 'meshproof-kube-run-'));
    const { code, stderr } = await meshproof(['run', 'experiments/bookinfo/01-route-all-v1.yaml', '--target', 'kube', '--seed', '1', '--report-dir', reportDir]);
    expect(stderr).toMatch(/waiting for \d+ proxies to acknowledge the configuration/);
    expect(stderr).toContain('No response carried the label reviews.version');
    expect(code, stderr).toBe(1);
    clusterAsFound();
  });

  it('refuses a context that is not kind-* without --allow-context (exit 3), changing nothing', async () => {
    const reportDir = mkdtempSync(join(tmpdir(), 'meshproof-kube-run-'));
    const { code, stderr } = await meshproof(['run', 'experiments/bookinfo/05-mtls-strict.yaml', '--target', 'kube', '--context', 'staging', '--report-dir', reportDir]);
    expect(stderr).toContain('--context staging --allow-context');
    expect(code).toBe(3);
    // Nothing ran: no report, no "meshproof run …: 1 experiment on kube (, Istio unknown)" line (issue 14 D8).
    expect(existsSync(join(reportDir, 'index.html'))).toBe(false);
    expect(stderr).not.toMatch(/Istio unknown|meshproof run mp-/);
    expect(fx.server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it("mtls-strict when the API server refuses its service proxy (403): a target failure (exit 3), not the mesh's answer", async () => {
    fx.server.serviceProxyRefusal = { code: 403, reason: 'Forbidden', message: 'services "ratings" is forbidden: User "ci" cannot get resource "services/proxy"' };
    const reportDir = mkdtempSync(join(tmpdir(), 'meshproof-kube-run-'));
    const { code, stderr } = await meshproof(['run', 'experiments/bookinfo/05-mtls-strict.yaml', '--target', 'kube', '--seed', '1', '--report-dir', reportDir]);
    expect(stderr).toContain('the API server itself answered the client outside the mesh for ratings:9080');
    expect(code, stderr).toBe(3);
    clusterAsFound();
  });
});
