// istiod's view of every proxy's xDS state, as `istioctl proxy-status` shows it, and the convergence rule built on it.
//
// Source (istio/istio): pilot/pkg/xds/debug.go `Syncz` serves /debug/syncz on istiod's monitoring port 15014: one
// SyncStatus per connected proxy with the last nonce sent and acknowledged per xDS type (cluster_sent/cluster_acked,
// listener_*, route_*, endpoint_*, extensionconfig_*). Nonces are `PushVersion + uuid` (pilot/pkg/xds/discovery.go
// `nonce`), and PushVersion is `RFC3339 time + "/" + counter` (DiscoveryServer.NextVersion), so a nonce tells which push
// it belongs to. The HTTP debug handlers answer unauthenticated requests only from localhost
// (`allowAuthenticatedOrLocalhost`), and the API server drops the caller's Authorization header before proxying, so
// meshproof reads them over a port-forward to istiod, exactly as istioctl's `AllDiscoveryDo` does.

export interface XdsState {
  sent?: string;
  acked?: string;
}

export interface ProxySync {
  /** `<pod>.<namespace>` */
  id: string;
  pod: string;
  namespace: string;
  /** `sidecar` or `router` (gateways). */
  type: string;
  istioVersion?: string;
  /** Per xDS type: cds, lds, rds, eds, ecds. */
  xds: Record<string, XdsState>;
  /** Which istiod reported it. */
  istiod: string;
}

interface RawSyncStatus {
  proxy?: string;
  proxy_type?: string;
  istio_version?: string;
  cluster_sent?: string;
  cluster_acked?: string;
  listener_sent?: string;
  listener_acked?: string;
  route_sent?: string;
  route_acked?: string;
  endpoint_sent?: string;
  endpoint_acked?: string;
  extensionconfig_sent?: string;
  extensionconfig_acked?: string;
}

export function parseSyncz(json: string, istiod: string): ProxySync[] {
  const raw = JSON.parse(json) as RawSyncStatus[] | null;
  if (raw === null) return [];
  if (!Array.isArray(raw)) throw new Error('istiod /debug/syncz did not answer a JSON array');
  return raw
    .filter((s) => typeof s.proxy === 'string')
    .map((s) => {
      const id = s.proxy as string;
      const dot = id.indexOf('.');
      const xds: Record<string, XdsState> = {};
      const add = (name: string, sent?: string, acked?: string) => {
        if (sent || acked) xds[name] = { sent: sent || undefined, acked: acked || undefined };
      };
      add('cds', s.cluster_sent, s.cluster_acked);
      add('lds', s.listener_sent, s.listener_acked);
      add('rds', s.route_sent, s.route_acked);
      add('eds', s.endpoint_sent, s.endpoint_acked);
      add('ecds', s.extensionconfig_sent, s.extensionconfig_acked);
      return {
        id,
        pod: dot < 0 ? id : id.slice(0, dot),
        namespace: dot < 0 ? '' : id.slice(dot + 1),
        type: s.proxy_type ?? 'sidecar',
        istioVersion: s.istio_version,
        xds,
        istiod,
      };
    });
}

export interface PushVersion {
  time: string;
  counter: number;
  text: string;
}

/**
 * The push a nonce belongs to; undefined for nonces of another form. The nonce is the push version followed directly
 * by a 36-character UUID with no separator, and the UUID may start with digits, so the version is everything but the
 * last 36 characters (reading digits greedily would run into the UUID).
 */
export function pushVersionOf(nonce: string | undefined): PushVersion | undefined {
  if (!nonce || nonce.length <= 36) return undefined;
  const uuid = nonce.slice(-36);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)) return undefined;
  const [, time, counter] = /^(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d))\/(\d+)$/.exec(nonce.slice(0, -36)) ?? [];
  if (time === undefined || counter === undefined) return undefined;
  return { time, counter: Number(counter), text: `${time}/${counter}` };
}

/** Push order: by time, then by istiod's counter (which only grows within one istiod process). */
export function comparePush(a: PushVersion | undefined, b: PushVersion | undefined): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  const ta = Date.parse(a.time);
  const tb = Date.parse(b.time);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.counter - b.counter;
}

function newest(versions: (PushVersion | undefined)[]): PushVersion | undefined {
  let best: PushVersion | undefined;
  for (const v of versions) if (v && comparePush(v, best) > 0) best = v;
  return best;
}

export function newestSent(proxy: ProxySync): PushVersion | undefined {
  return newest(Object.values(proxy.xds).map((s) => pushVersionOf(s.sent)));
}

export function newestAcked(proxy: ProxySync): PushVersion | undefined {
  return newest(Object.values(proxy.xds).map((s) => pushVersionOf(s.acked)));
}

/** xDS types whose last sent nonce the proxy has not acknowledged (istioctl shows them STALE / NOT SENT). */
export function unacked(proxy: ProxySync): string[] {
  return Object.entries(proxy.xds)
    .filter(([, s]) => s.sent !== s.acked)
    .map(([type]) => type);
}

export interface ProxyVerdict {
  id: string;
  converged: boolean;
  version: string;
  /** Why not, in words, when not converged. */
  reason?: string;
}

/**
 * A proxy has converged on a change when (1) istiod pushed to it after the change was made (a push newer than the
 * newest one it had been sent before) and (2) it acknowledged every xDS type istiod sent it.
 * `before` is undefined for proxies that were not connected when the change was made: (2) alone applies.
 */
export function judgeProxy(now: ProxySync | undefined, id: string, before: PushVersion | undefined): ProxyVerdict {
  if (!now) return { id, converged: false, version: '', reason: 'not connected to istiod' };
  const acked = newestAcked(now);
  const pending = unacked(now);
  const version = acked?.text ?? '';
  if (pending.length > 0) {
    const detail = pending.map((t) => {
      const { sent, acked: ackedNonce } = now.xds[t] ?? {};
      return `${t} sent ${pushVersionOf(sent)?.text ?? sent ?? '-'} acked ${pushVersionOf(ackedNonce)?.text ?? ackedNonce ?? 'never'}`;
    });
    return { id, converged: false, version, reason: `has not acknowledged ${detail.join('; ')}` };
  }
  if (before && comparePush(newestSent(now), before) <= 0) {
    return { id, converged: false, version, reason: `no push since the change (newest push it has is ${before.text})` };
  }
  return { id, converged: true, version };
}
