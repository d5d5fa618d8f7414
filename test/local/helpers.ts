// Helpers for the local mesh tests: start a mesh, log in as a Bookinfo user, fetch pages and read what they show.
import { parse } from 'yaml';
import { parsePrometheusText, sumCounter } from '../../src/observe/prometheus.ts';
import type { CounterSample, Labels } from '../../src/observe/types.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { startLocalMesh, type MeshHandle, type StartOptions } from '../../src/targets/local/handle.ts';
import { readObjects } from '../../src/targets/local/scenario.ts';

export { startLocalMesh, type MeshHandle };

export async function mesh(options: StartOptions = {}): Promise<MeshHandle> {
  return startLocalMesh({ seed: 42, ...options });
}

/** Objects of a scenario file, e.g. `destination-rule-all.yaml`. */
export function scenarioFile(name: string): K8sObject[] {
  return readObjects(new URL(`../../scenarios/bookinfo/${name}`, import.meta.url).pathname);
}

/** YAML text (one or more documents) to objects. */
export function yaml(text: string): K8sObject[] {
  return text
    .split(/^---$/m)
    .map((d) => parse(d) as K8sObject)
    .filter(Boolean);
}

/** YAML text holding exactly one object. */
export function yamlObject(text: string): K8sObject {
  const [object, ...more] = yaml(text);
  if (object === undefined || more.length > 0) throw new Error(`expected one object, found ${more.length + (object ? 1 : 0)}`);
  return object;
}

/** Log in through productpage (POST /login) and return the session cookie. */
export async function login(m: MeshHandle, user: string): Promise<string> {
  const res = await fetch(`${m.gatewayUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', referer: `${m.gatewayUrl}/productpage` },
    body: `username=${encodeURIComponent(user)}&passwd=password`,
    redirect: 'manual',
  });
  const cookie = res.headers.get('set-cookie');
  if (res.status !== 302 || !cookie) throw new Error(`login failed: ${res.status}`);
  const [session = ''] = cookie.split(';');
  return session;
}

export interface Page {
  status: number;
  body: string;
  ms: number;
  /** v1/v2/v3 from "Reviews served by: reviews-vN-...", `reviews-error` when the reviews section failed. */
  reviews: string;
  ratingsUnavailable: boolean;
  detailsError: boolean;
  stars: 'none' | 'black' | 'red';
}

export function readPage(status: number, body: string, ms: number): Page {
  const served = /Reviews served by:\s*\n?\s*reviews-(v\d+)-/.exec(body);
  return {
    status,
    body,
    ms,
    reviews: body.includes('Error fetching product reviews') ? 'reviews-error' : (served?.[1] ?? 'unknown'),
    ratingsUnavailable: body.includes('Ratings service is currently unavailable'),
    detailsError: body.includes('Error fetching product details'),
    stars: body.includes('flex gap-x-1 text-black-500') ? 'black' : body.includes('flex gap-x-1 text-red-500') ? 'red' : 'none',
  };
}

export async function page(m: MeshHandle, cookie?: string, path = '/productpage'): Promise<Page> {
  const started = performance.now();
  const res = await fetch(`${m.gatewayUrl}${path}`, { headers: cookie ? { cookie } : {} });
  const body = await res.text();
  return readPage(res.status, body, performance.now() - started);
}

export async function pages(m: MeshHandle, n: number, cookie?: string, concurrency = 8): Promise<Page[]> {
  const out: Page[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await page(m, cookie);
      }
    }),
  );
  return out;
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

export async function counters(m: MeshHandle): Promise<CounterSample[]> {
  const status = await m.status();
  const all = await Promise.all(status.proxies.map(async (p) => parsePrometheusText(await (await fetch(p.statsUrl)).text(), p.name)));
  return all.flat();
}

export function sum(samples: CounterSample[], name: string, where: Labels = {}, proxy?: string): number {
  return sumCounter(samples, name, where, proxy);
}

/** Wait until every proxy runs `version` (what the target's waitConverged does). */
export async function converged(m: MeshHandle, version: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const s = await m.status();
    if (s.proxies.every((p) => Number(p.configVersion) >= Number(version))) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`not converged to ${version}`);
}

export async function applyAndWait(m: MeshHandle, objects: K8sObject[]): Promise<void> {
  await converged(m, await m.apply(objects));
}

export async function restoreBaseline(m: MeshHandle, objects: K8sObject[]): Promise<void> {
  await converged(m, await m.remove(objects));
}
