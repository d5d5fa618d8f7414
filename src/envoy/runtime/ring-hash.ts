// Envoy's ring hash load balancer (source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc): each host
// gets hashes of "<address>_<i>" on a ring sized by the least-weighted host (minimum_ring_size 1024 and
// maximum_ring_size 8M by default), and a request goes to the first ring entry at or after its hash (ketama's
// search, wrapping to the start). A request without a hash gets a random one (ThreadAwareLoadBalancerBase).
import { xxHash64 } from './xxhash.ts';
import { must } from '../../must.ts';

export const DEFAULT_MIN_RING_SIZE = 1024;
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;

export interface RingEntry<H> {
  hash: bigint;
  host: H;
}

/** The ring for hosts of equal weight, keyed by their address string (`ip:port`). */
export function buildRing<H>(hosts: { key: string; host: H }[], minRingSize = DEFAULT_MIN_RING_SIZE, maxRingSize = DEFAULT_MAX_RING_SIZE): RingEntry<H>[] {
  if (hosts.length === 0) return [];
  if (minRingSize > maxRingSize) throw new Error(`ring hash: minimum_ring_size (${minRingSize}) > maximum_ring_size (${maxRingSize})`);
  const weight = 1 / hosts.length;
  const scale = Math.min(Math.ceil(weight * minRingSize) / weight, maxRingSize);
  const ring: RingEntry<H>[] = [];
  let current = 0;
  let target = 0;
  for (const { key, host } of hosts) {
    target += scale * weight;
    for (let i = 0; current < target; i++, current++) ring.push({ hash: xxHash64(`${key}_${i}`), host });
  }
  return ring.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
}

/** Ring::chooseHost: the entry whose hash is the first at or after `h` (ketama_get_server), moved on by `attempt`. */
export function chooseFromRing<H>(ring: readonly RingEntry<H>[], h: bigint, attempt = 0): H | undefined {
  if (ring.length === 0) return undefined;
  let low = 0;
  let high = ring.length;
  let mid = 0;
  const entry = (i: number) => must(ring[i], 'a ring entry');
  for (;;) {
    mid = Math.floor((low + high) / 2);
    if (mid === ring.length) {
      mid = 0;
      break;
    }
    const midval = entry(mid).hash;
    const midval1 = mid === 0 ? 0n : entry(mid - 1).hash;
    if (h <= midval && h > midval1) break;
    if (midval < h) low = mid + 1;
    else high = mid - 1;
    if (low > high) {
      mid = 0;
      break;
    }
  }
  if (attempt > 0) mid = (mid + attempt) % ring.length;
  return entry(mid).host;
}
