// Where two Envoy configs of one proxy differ, field by field: lists compared in order (routes, filters and weights
// are ordered in Envoy), resources and virtual hosts by name (Envoy finds them by name or by domain, not position).
import type { RouteConfiguration } from '../envoy/model/index.ts';

export interface Drift {
  /** e.g. `routes 9080 reviews.default.svc.cluster.local:9080 .routes[1].route.timeout` */
  where: string;
  builtin: unknown;
  istiod: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every leaf that differs (a missing side shows as undefined). */
export function diffValues(a: unknown, b: unknown, path = ''): Drift[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: Drift[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...diffValues(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (isObject(a) && isObject(b)) {
    const out: Drift[] = [];
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) out.push(...diffValues(a[key], b[key], `${path}.${key}`));
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ where: path, builtin: a, istiod: b }];
}

const byName = <T extends { name: string }>(items: T[] | undefined) => new Map((items ?? []).map((i) => [i.name, i]));

/** The drifts between two sets of route configurations, by configuration and virtual host name. */
export function diffRoutes(builtin: RouteConfiguration[], istiod: RouteConfiguration[]): Map<string, Drift[]> {
  const out = new Map<string, Drift[]>();
  const ours = byName(builtin);
  const theirs = byName(istiod);
  for (const name of [...new Set([...ours.keys(), ...theirs.keys()])].sort()) {
    const a = ours.get(name);
    const b = theirs.get(name);
    const drifts: Drift[] = [];
    if (!a || !b) drifts.push({ where: '', builtin: a ? 'present' : undefined, istiod: b ? 'present' : undefined });
    else {
      const { virtual_hosts: av, ...aRest } = a;
      const { virtual_hosts: bv, ...bRest } = b;
      drifts.push(...diffValues(aRest, bRest));
      const vo = byName(av);
      const vt = byName(bv);
      for (const vh of [...new Set([...vo.keys(), ...vt.keys()])].sort()) {
        drifts.push(...diffValues(vo.get(vh), vt.get(vh), ` ${vh}`));
      }
    }
    if (drifts.length > 0) out.set(name, drifts);
  }
  return out;
}

export function formatDrift(proxy: string, config: string, d: Drift): string {
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  return `${proxy} routes ${config}${d.where}: builtin ${show(d.builtin)}, istiod ${show(d.istiod)}`;
}
