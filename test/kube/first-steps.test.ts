// Kube first steps (issue: the user's journey, item 11; issue 14 D8): with no kubeconfig the CLI says so and how to get
// a cluster, instead of suggesting the fallback context client-node invents; a run whose target cannot be prepared
// writes no report and announces no run.
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kubeconfigSource } from '../../src/targets/kube/preflight.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function meshproof(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'meshproof.js'), ...args], { cwd: root, env, timeout: 60_000 }, (error, _stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stderr }),
    );
  });
}

describe('kube target without a kubeconfig', () => {
  it('says there is none and how to get a cluster (exit 3), writes no report, suggests no invented context', async () => {
    const home = tempDir('meshproof-home-');
    const { KUBECONFIG: _unset, ...env } = process.env;
    const reportDir = join(home, 'reports', 'run');
    const { code, stderr } = await meshproof(['run', 'experiments/bookinfo/01-route-all-v1.yaml', '--target', 'kube', '--report-dir', reportDir], {
      ...env,
      HOME: home,
      NO_COLOR: '1',
    });
    expect(code, stderr).toBe(3);
    expect(stderr).toContain('there is no kubeconfig: KUBECONFIG is not set and ~/.kube/config does not exist');
    expect(stderr).toContain('npx tsx scripts/kind-up.ts');
    expect(stderr).not.toMatch(/loaded-context|localhost:8080|Istio unknown/);
    expect(existsSync(join(reportDir, 'index.html'))).toBe(false);
    expect(existsSync(reportDir)).toBe(false);
  });

  it("finds the sandbox's context in the sandbox's own kubeconfig when the one in use lacks it (sandbox-up writes no user kubeconfig)", async () => {
    const { loadKubeConfig } = await import('../../src/targets/kube/preflight.ts');
    const state = tempDir('meshproof-sandbox-state-');
    const sandboxConfig = join(state, 'kubeconfig');
    const kubeconfig = (name: string, server: string) =>
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: '${server}'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: ${name}, context: {cluster: c, user: u}}]\ncurrent-context: ${name}\n`;
    writeFileSync(sandboxConfig, kubeconfig('meshproof-sandbox', 'https://127.0.0.1:16402'));
    const other = join(state, 'user-config');
    writeFileSync(other, kubeconfig('kind-x', 'https://127.0.0.1:6443'));
    const saved = { KUBECONFIG: process.env.KUBECONFIG, MESHPROOF_SANDBOX: process.env.MESHPROOF_SANDBOX };
    try {
      process.env.MESHPROOF_SANDBOX = state;
      process.env.KUBECONFIG = other;
      expect(loadKubeConfig('meshproof-sandbox').getCurrentCluster()?.server).toBe('https://127.0.0.1:16402');
      expect(loadKubeConfig('kind-x').getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
      expect(() => loadKubeConfig('staging')).toThrow(/kubeconfig has no context "staging"; it has: kind-x/);
      // An explicit --kubeconfig is used as given.
      expect(() => loadKubeConfig('meshproof-sandbox', other)).toThrow(/no context "meshproof-sandbox"/);
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });

  it('finds KUBECONFIG, then ~/.kube/config', () => {
    expect(kubeconfigSource({ KUBECONFIG: '/x/config' }, '/nowhere')).toBe('KUBECONFIG=/x/config');
    expect(kubeconfigSource({}, tempDir('meshproof-home-'))).toBeUndefined();
  });
});

describe('the context guard checks the server, not only the name (issue 14 D7)', () => {
  it('a kind-* or meshproof-sandbox context is allowed only when its API server is on this machine', async () => {
    const { checkContext, isLoopbackServer } = await import('../../src/targets/kube/preflight.ts');
    expect(() => checkContext('kind-meshproof', { server: 'https://127.0.0.1:6443' })).not.toThrow();
    expect(() => checkContext('meshproof-sandbox', { server: 'https://127.0.0.1:16402' })).not.toThrow();
    expect(() => checkContext('kind-prod', { server: 'https://10.20.30.40:6443' })).toThrow(
      /its name says it is a local cluster, but its API server https:\/\/10\.20\.30\.40:6443 is not on this machine.*--context kind-prod --allow-context/,
    );
    expect(() => checkContext('kind-prod', { server: 'https://10.20.30.40:6443', requested: 'kind-prod', allowContext: true })).not.toThrow();
    expect(() => checkContext('staging', { server: 'https://127.0.0.1:6443' })).toThrow(/--context staging --allow-context/);
    expect([
      isLoopbackServer('https://[::1]:6443'),
      isLoopbackServer('https://localhost:1'),
      isLoopbackServer('https://127.9.9.9'),
      isLoopbackServer('https://example.com'),
      isLoopbackServer(undefined),
    ]).toEqual([true, true, true, false, false]);
  });
});
