// meshproof's k6 extension (tools/xk6-meshproof) in the real k6 built by scripts/k6-build.ts (CI: scripts/ci.d/30-k6.sh),
// read back by the driver's decoder. No network: the script only writes records. No skipping.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { K6RecordDecoder, type K6Response } from '../../src/load/k6-records.ts';
import { k6Path } from '../../src/load/tools.ts';

const work = mkdtempSync(join(tmpdir(), 'meshproof-k6-extension-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a script with the records pipe on fd 3 (as the driver does; `fd` null: no MESHPROOF_RECORDS_FD) and decodes it. */
async function runScript(source: string, fd: string | null = '3') {
  const script = join(work, `script-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(script, source);
  const env: NodeJS.ProcessEnv = { ...process.env, K6_NO_USAGE_REPORT: 'true', K6_WEB_DASHBOARD: 'false' };
  if (fd === null) delete env.MESHPROOF_RECORDS_FD;
  else env.MESHPROOF_RECORDS_FD = fd;
  const child = spawn(k6Path(), ['run', '--quiet', '--no-color', '--no-usage-report', script], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const origins: number[] = [];
  const responses: K6Response[] = [];
  const decoder = new K6RecordDecoder({ onOrigin: (ms) => origins.push(ms), onResponse: (r) => responses.push(r) });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const records = child.stdio[3] as Readable;
  const ended = new Promise<void>((resolve, reject) => {
    records.on('data', (chunk: Buffer) => decoder.push(chunk));
    records.on('end', () => {
      try {
        decoder.end();
        resolve();
      } catch (err) {
        reject(err as Error);
      }
    });
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await ended;
  return { code, stderr, origins, responses };
}

const ITERATIONS = 20_000;

describe('k6 extension k6/x/meshproof in the real k6', () => {
  it('every record of four VUs reaches the reader, values intact, strings interned once across VUs (flush in handleSummary)', async () => {
    // 20,000 records of 31 bytes: several times the extension's 64 KiB buffer, and the last ones only leave it at
    // the flush from handleSummary.
    const { code, stderr, origins, responses } = await runScript(`
import exec from 'k6/execution';
import { intern, origin, response, flush } from 'k6/x/meshproof';
export const options = { scenarios: { s: { executor: 'shared-iterations', vus: 4, iterations: ${ITERATIONS}, maxDuration: '2m' } } };
let labels = 0;
export default function () {
  const n = exec.scenario.iterationInTest;
  if (labels === 0) {
    labels = intern(JSON.stringify({ status: '200', 'reviews.version': 'v2' }));
    origin(1764950000000 + exec.vu.idInTest);
  }
  response(n, n * 0.5, n / 1024, n % 7 === 0 ? 0 : 200 + (n % 3), labels, n % 7 === 0 ? intern('E' + (n % 2)) : 0);
}
export function handleSummary() {
  flush();
  return {};
}
`);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(origins.sort()).toEqual([1764950000001, 1764950000002, 1764950000003, 1764950000004]);
    expect(responses).toHaveLength(ITERATIONS);
    const byIndex = [...responses].sort((a, b) => a.requestIndex - b.requestIndex);
    byIndex.forEach((r, n) => {
      const expected: K6Response = {
        requestIndex: n,
        sentAtMs: n * 0.5,
        latencyMs: n / 1024,
        status: n % 7 === 0 ? 0 : 200 + (n % 3),
        labels: { status: '200', 'reviews.version': 'v2' },
      };
      if (n % 7 === 0) expected.error = `E${n % 2}`;
      if (n % 1000 === 0 || n % 7 === 0) expect(r).toEqual(expected);
      else expect(r.requestIndex === n && r.sentAtMs === n * 0.5 && r.status === expected.status, `record ${n}`).toBe(true);
    });
    // One labels object for all four VUs: the string went out once.
    expect(new Set(responses.map((r) => r.labels)).size).toBe(1);
  });

  it('without MESHPROOF_RECORDS_FD the module says what it needs (the script is meant for the driver)', async () => {
    const { stderr, responses } = await runScript(
      `
import { intern } from 'k6/x/meshproof';
export const options = { iterations: 1 };
export default function () { intern('x'); }
`,
      null,
    );
    expect(stderr).toContain('k6/x/meshproof: MESHPROOF_RECORDS_FD must name an open file descriptor >= 3');
    expect(responses).toEqual([]);
  });
});
