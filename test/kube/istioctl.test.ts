// The real, pinned istioctl (built by scripts/istioctl-build.ts, CI step scripts/ci.d/40-istioctl.sh) analysing files
// offline: the Bookinfo scenario and every shipped experiment are clean; a broken resource gets Istio's own findings.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadExperimentFile } from '../../src/spec/load.ts';
import { analyzeOffline, istioctlPath, istioctlPresent, parseAnalyzeJson } from '../../src/targets/kube/istioctl.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const scenario = join(root, 'scenarios', 'bookinfo');
const scenarioFiles = () =>
  readdirSync(scenario)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(scenario, f));

describe('parseAnalyzeJson', () => {
  it('reads istioctl analyze -o json messages (diag.Message.Unstructured) with file:line references', () => {
    const findings = parseAnalyzeJson(
      JSON.stringify([
        {
          code: 'IST0101',
          level: 'Error',
          message: 'Referenced gateway not found: "x"',
          origin: 'VirtualService default/reviews',
          reference: 'vs.yaml:8',
          documentationUrl: 'u',
        },
      ]),
    );
    expect(findings).toEqual([
      {
        code: 'IST0101',
        level: 'Error',
        message: 'Referenced gateway not found: "x"',
        origin: 'VirtualService default/reviews',
        file: 'vs.yaml',
        line: 8,
        documentationUrl: 'u',
      },
    ]);
    expect(parseAnalyzeJson('[]')).toEqual([]);
    expect(parseAnalyzeJson('')).toEqual([]);
  });
});

describe('istioctl analyze --use-kube=false (real binary)', () => {
  it('is built where istioctlPath() says', () => {
    expect(istioctlPresent(), `${istioctlPath()} missing: run npx tsx scripts/istioctl-build.ts`).toBe(true);
  });

  it('finds no error in the Bookinfo scenario', async () => {
    const findings = await analyzeOffline(scenarioFiles());
    expect(findings.filter((f) => f.level === 'Error')).toEqual([]);
  });

  it('finds no error in the scenario plus the resources of each shipped experiment', async () => {
    const dir = tempDir('meshproof-analyze-');
    const experimentsDir = join(root, 'experiments', 'bookinfo');
    const files = readdirSync(experimentsDir).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      for (const experiment of loadExperimentFile(join(experimentsDir, file))) {
        const resources = join(dir, `${experiment.name}.yaml`);
        writeFileSync(
          resources,
          experiment.apply.map((r) => stringify({ ...r.object, metadata: { namespace: 'default', ...r.object.metadata } })).join('---\n'),
        );
        const errors = (await analyzeOffline([...scenarioFiles(), resources])).filter((f) => f.level === 'Error');
        expect(errors, `${file} (${experiment.name})`).toEqual([]);
      }
    }
  });

  it("reports Istio's findings on broken resources, with the file and line", async () => {
    const dir = tempDir('meshproof-analyze-');
    const broken = join(dir, 'broken.yaml');
    writeFileSync(
      broken,
      [
        'apiVersion: networking.istio.io/v1',
        'kind: VirtualService',
        'metadata: {name: reviews, namespace: default}',
        'spec:',
        '  hosts: [reviews]',
        '  gateways: [no-such-gateway]',
        '  http:',
        '  - route:',
        '    - destination: {host: reviews, subset: v9}',
        '---',
        'apiVersion: networking.istio.io/v1',
        'kind: DestinationRule',
        'metadata: {name: ratings, namespace: default}',
        'spec:',
        '  host: ratings',
        '  trafficPolicy: {connectionPool: {http: {http1MaxPendingRequests: -3}}}',
        '',
      ].join('\n'),
    );
    const findings = await analyzeOffline([...scenarioFiles(), broken]);
    const errors = findings.filter((f) => f.level === 'Error').map((f) => ({ code: f.code, origin: f.origin, file: f.file, message: f.message }));
    expect(errors).toEqual(
      expect.arrayContaining([
        { code: 'IST0101', origin: 'VirtualService default/reviews', file: broken, message: 'Referenced gateway not found: "no-such-gateway"' },
        {
          code: 'IST0101',
          origin: 'VirtualService default/reviews',
          file: broken,
          message: 'Referenced host+subset in destinationrule not found: "reviews+v9"',
        },
        {
          code: 'IST0106',
          origin: 'DestinationRule default/ratings',
          file: broken,
          message: 'Schema validation error: http1 max pending requests must be non-negative',
        },
      ]),
    );
    expect(findings.find((f) => f.message.includes('no-such-gateway') && f.code === 'IST0101')?.line).toBe(6);
  });

  it('says how to build istioctl when it is missing', async () => {
    await expect(analyzeOffline(['x.yaml'], { binary: '/nonexistent/istioctl' })).rejects.toThrow(/npx tsx scripts\/istioctl-build.ts/);
  });
});
