// `meshproof export k6`: every experiment of the catalogue exports to a script k6 accepts (checked with the real k6
// binary's `k6 inspect`, built by scripts/k6-build.ts). Experiments that run `until: verdict` export their whole
// budget as a request count (k6 cannot stop on a verdict), and say so in the script.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportK6Command, exportPlan } from '../../src/cli/export-command.ts';
import { SpecError } from '../../src/errors.ts';
import { k6Path } from '../../src/load/tools.ts';
import { loadExperimentFile } from '../../src/spec/load.ts';
import { tempDir } from '../support/temp-dir.ts';

const catalogue = fileURLToPath(new URL('../../experiments/bookinfo/', import.meta.url));
const files = readdirSync(catalogue)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const options = { baseUrl: 'http://127.0.0.1:8080', seed: 1, serviceUrl: ['ratings=http://127.0.0.1:9080'] };

interface Inspected {
  scenarios: { meshproof: { executor: string; iterations?: number; duration?: string } };
}

describe('meshproof export k6 over the catalogue', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('meshproof-export-');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterAll(() => vi.restoreAllMocks());

  it(`exports all ${files.length} experiments to scripts k6 accepts`, async () => {
    expect(files.length).toBeGreaterThanOrEqual(23);
    for (const file of files) {
      const out = join(dir, `${file}.js`);
      expect(await exportK6Command(join(catalogue, file), { ...options, out }), file).toBe(0);
      const inspected = JSON.parse(execFileSync(k6Path(), ['inspect', out], { encoding: 'utf8' })) as Inspected;
      const scenario = inspected.scenarios.meshproof;
      const [experiment] = loadExperimentFile(join(catalogue, file));
      const budget = experiment!.load.sequential?.budget;
      if (budget !== undefined) {
        // the whole budget, as a request count: shared-iterations (closed model) or the script's send limit (open)
        if (scenario.executor === 'shared-iterations') expect(scenario.iterations, file).toBe(budget);
        expect(readFileSync(out, 'utf8'), file).toContain(`this script sends the whole budget of ${budget} requests`);
        expect(readFileSync(out, 'utf8'), file).toContain(`"limit": ${budget}`);
      }
    }
  }, 60_000);

  it('a request straight to a service needs its URL: a clear error without it, that URL in the script with it', () => {
    const [mtls] = loadExperimentFile(join(catalogue, '05-mtls-strict.yaml'));
    expect(() => exportPlan(mtls!, { baseUrl: 'http://gw', seed: 1 })).toThrow(SpecError);
    expect(() => exportPlan(mtls!, { baseUrl: 'http://gw', seed: 1 })).toThrow(/--service-url ratings=http:\/\/HOST:PORT/);
    expect(() => exportPlan(mtls!, { baseUrl: 'http://gw', seed: 1, serviceUrl: ['ratings:9080'] })).toThrow(/expected SERVICE=URL/);
    const { requestBaseUrls } = exportPlan(mtls!, options);
    expect(requestBaseUrls).toEqual(mtls!.load.requests.map((r) => (r.service === 'ratings' ? 'http://127.0.0.1:9080' : undefined)));
  });
});
