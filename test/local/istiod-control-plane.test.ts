// `--control-plane istiod` (issue 13 item 5): istiod's own validating webhook answers for what is applied, before
// anything is stored (src/targets/local/istiod-control-plane.ts); the flag is for the local target only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { IstiodControlPlane } from '../../src/targets/local/istiod-control-plane.ts';
import { startLocalMesh } from '../../src/targets/local/handle.ts';
import { runCli } from '../catalogue/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'meshproof-istiod-cp-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const retryOn = (value: string): K8sObject => ({
  apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews', namespace: 'default' },
  spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], retries: { attempts: 2, retryOn: value } }] },
});

describe('--control-plane istiod', () => {
  it('istiod\'s webhook refuses an invalid object with its own message (a SpecError: exit 2) and accepts a valid one', async () => {
    const cp = IstiodControlPlane.start();
    try {
      await expect(cp.validate([retryOn('5xx,gateway-error')])).resolves.toBeUndefined();
      const refused = await cp.validate([retryOn('bogus-condition')]).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(SpecError);
      expect((refused as Error).message).toMatch(/istiod \(the --control-plane\) refuses the configuration: .*bogus-condition/);
    } finally {
      await cp.close();
    }
  }, 60_000);

  it('a mesh under istiod refuses the change and keeps its configuration version', async () => {
    const mesh = await startLocalMesh({ mode: 'inline', controlPlane: 'istiod', seed: 3 });
    try {
      const before = (await mesh.status()).version;
      await expect(mesh.apply([retryOn('bogus-condition')])).rejects.toThrow(/bogus-condition/);
      expect((await mesh.status()).version).toBe(before);
      expect(mesh.controlPlane).toBe('istiod');
      expect(mesh.istioVersion).toBe('1.31.0');
    } finally {
      await mesh.close();
    }
  }, 60_000);

  it('cannot be combined with another --istio-version, and the kube target refuses it (exit 2)', async () => {
    await expect(startLocalMesh({ mode: 'inline', controlPlane: 'istiod', istioVersion: '1.24' })).rejects.toThrow(/pinned istiod 1\.31\.0; --istio-version 1\.24/);
    const kube = await runCli(['run', 'experiments/bookinfo/01-route-all-v1.yaml', '--target', 'kube', '--context', 'kind-nowhere', '--control-plane', 'istiod', '--report-dir', join(work, 'kube'), '--quiet'], { timeoutMs: 60_000 });
    expect(kube.code, kube.stderr).toBe(2);
    expect(kube.stderr).toMatch(/--control-plane is for the local target/);
  }, 90_000);
});
