// `--control-plane istiod` (issue 13 item 5): istiod's own validating webhook answers for what is applied, before
// anything is stored (src/targets/local/istiod-control-plane.ts); the flag is for the local target only.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { echoClassifier } from '../../src/observe/classifiers.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { IstiodControlPlane } from '../../src/targets/local/istiod-control-plane.ts';
import { startLocalMesh } from '../../src/targets/local/handle.ts';
import { runCli } from '../catalogue/cli.ts';
import { bookinfoProxies, bookinfoRegistry } from '../../src/fidelity/bookinfo.ts';
import { IstiodTranslator, proxyKey } from '../../src/fidelity/istiod-translator.ts';
import { inboundHttpFilters, inboundPeerMode, rbacRulesOf } from '../../src/envoy/runtime/listeners.ts';
import { evaluateRbac } from '../../src/envoy/runtime/rbac.ts';
import { applyAndWait, counters, mesh, restoreBaseline, sum } from './helpers.ts';
import { tempDir } from '../support/temp-dir.ts';

const work = tempDir('meshproof-istiod-cp-');

const retryOn = (value: string): K8sObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], retries: { attempts: 2, retryOn: value } }] },
});

describe('--control-plane istiod', () => {
  it("istiod's webhook refuses an invalid object with its own message (a SpecError: exit 2) and accepts a valid one", async () => {
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
    await expect(startLocalMesh({ mode: 'inline', controlPlane: 'istiod', istioVersion: '1.24' })).rejects.toThrow(
      /pinned istiod 1\.31\.0; --istio-version 1\.24/,
    );
    const kube = await runCli(
      [
        'run',
        'experiments/bookinfo/01-route-all-v1.yaml',
        '--target',
        'kube',
        '--context',
        'kind-nowhere',
        '--control-plane',
        'istiod',
        '--report-dir',
        join(work, 'kube'),
        '--quiet',
      ],
      { timeoutMs: 60_000 },
    );
    expect(kube.code, kube.stderr).toBe(2);
    expect(kube.stderr).toMatch(/--control-plane is for the local target/);
  }, 90_000);

  // An ALLOW policy on ratings for reviews' identity on GET /ratings/*: istiod's RBAC as the sidecar runs it.
  const allowReviews: K8sObject = {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'ratings-viewer', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'ratings' } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: ['cluster.local/ns/default/sa/bookinfo-reviews'] } }],
          to: [{ operation: { methods: ['GET'], paths: ['/ratings/*'] } }],
        },
      ],
    },
  };

  it("the inbound RBAC filters of istiod's virtualInbound chain, run by src/envoy/runtime: reviews may GET /ratings/0, productpage may not", async () => {
    const translator = IstiodTranslator.start();
    try {
      const registry = bookinfoRegistry();
      const proxies = bookinfoProxies(registry);
      const answer = await translator.translate({ registry, objects: [allowReviews], proxies });
      if (!answer.ok) throw new Error(answer.error);
      const ratings = proxies.find((p) => p.podName.startsWith('ratings'))!;
      const filters = inboundHttpFilters(answer.proxies.get(proxyKey(ratings))!.listeners, 9080, true);
      const rules = rbacRulesOf(filters ?? []);
      expect(rules.map((r) => r.rules.action ?? 'ALLOW')).toEqual(['ALLOW']);
      const facts = (principal: string, path: string) => ({
        headers: { ':method': 'GET', ':path': path, ':authority': 'ratings:9080' },
        destinationPort: 9080,
        peerPrincipal: `spiffe://cluster.local/ns/default/sa/${principal}`,
      });
      expect(evaluateRbac(rules[0]!.rules, facts('bookinfo-reviews', '/ratings/0')).allowed).toBe(true);
      expect(evaluateRbac(rules[0]!.rules, facts('bookinfo-productpage', '/ratings/0')).allowed).toBe(false);
      expect(evaluateRbac(rules[0]!.rules, facts('bookinfo-reviews', '/health')).allowed).toBe(false);
    } finally {
      await translator.close();
    }
  }, 60_000);

  const peerAuth = (mode: string, portLevel?: Record<string, { mode: string }>): K8sObject => ({
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'ratings', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode }, ...(portLevel ? { portLevelMtls: portLevel } : {}) },
  });

  it("the mTLS mode a sidecar enforces is what istiod's inbound chains accept: STRICT only tls, DISABLE only raw_buffer, PERMISSIVE both (as seen on the sandbox), port-level modes included", async () => {
    const translator = IstiodTranslator.start();
    try {
      const registry = bookinfoRegistry();
      const proxies = bookinfoProxies(registry);
      const ratings = proxies.find((p) => p.podName.startsWith('ratings'))!;
      const modeUnder = async (objects: K8sObject[]) => {
        const answer = await translator.translate({ registry, objects, proxies });
        if (!answer.ok) throw new Error(answer.error);
        return inboundPeerMode(answer.proxies.get(proxyKey(ratings))!.listeners, 9080);
      };
      expect(await modeUnder([])).toBe('PERMISSIVE');
      expect(await modeUnder([peerAuth('STRICT')])).toBe('STRICT');
      expect(await modeUnder([peerAuth('DISABLE')])).toBe('DISABLE');
      expect(await modeUnder([peerAuth('STRICT', { '9080': { mode: 'PERMISSIVE' } })])).toBe('PERMISSIVE');
    } finally {
      await translator.close();
    }
  }, 60_000);

  it("a mesh under istiod enforces that policy at ratings' sidecar: pages keep their ratings, productpage's own call is denied (403, rbac denied)", async () => {
    const m = await mesh({ controlPlane: 'istiod', seed: 8 });
    try {
      await applyAndWait(m, [allowReviews]);
      const pageRes = await fetch(`${m.gatewayUrl}/productpage`);
      expect(pageRes.status).toBe(200);
      expect(await pageRes.text()).not.toMatch(/Ratings service is currently unavailable/);
      expect((await fetch(`${m.gatewayUrl}/api/v1/products/0/ratings`)).status).toBe(403);
      const c = await counters(m);
      expect(sum(c, 'envoy_http_rbac', { authz_enforce_result: 'denied' }, 'ratings-v1')).toBeGreaterThanOrEqual(1);
      await restoreBaseline(m, [allowReviews]);
    } finally {
      await m.close();
    }
  }, 90_000);

  it('a sniffed (unnamed) Service port: istiod gives it a listener and route configuration of its own (<host>:<port>), which the sidecar takes; the VirtualService applies under both control planes', async () => {
    // examples/two-services with backend's port unnamed: istiod (cluster IPs) routes it by `backend.shop.svc.cluster.local:9000`,
    // the built-in control plane (no cluster IPs) by the port's `9000`.
    const scenario = join(work, 'sniffed');
    cpSync(new URL('../../examples/two-services/scenario', import.meta.url).pathname, scenario, { recursive: true });
    const backend = join(scenario, 'backend.yaml');
    writeFileSync(backend, readFileSync(backend, 'utf8').replace('    - name: http-api\n      port: 9000\n      appProtocol: http\n', '    - port: 9000\n'));
    const toV2: K8sObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'backend', namespace: 'shop' },
      spec: { hosts: ['backend'], http: [{ route: [{ destination: { host: 'backend', subset: 'v2' } }] }] },
    };
    for (const controlPlane of ['istiod', 'builtin'] as const) {
      const m = await mesh({ controlPlane, scenario, seed: 4 });
      try {
        await applyAndWait(m, [toV2]);
        const versions = new Set<string | undefined>();
        for (let i = 0; i < 12; i++) {
          const res = await fetch(`${m.gatewayUrl}/checkout`);
          expect(res.status, controlPlane).toBe(200);
          const labels = echoClassifier({
            requestIndex: 0,
            sentAtMs: 0,
            latencyMs: 0,
            status: res.status,
            headers: Object.fromEntries(res.headers),
            body: await res.text(),
          });
          versions.add(labels['backend.version']);
        }
        expect([...versions], controlPlane).toEqual(['v2']);
      } finally {
        await m.close();
      }
    }
  }, 120_000);
});
