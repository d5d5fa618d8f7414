// Seeded, interleaving-independent randomness: each decision is a hash of (seed, request id, proxy, decision, ...),
// so the same requests give the same faults, splits and failures whatever order they arrive in.

function fnv1a(text: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) determined by `seed` and `key` (53 bits). */
export function uniform(seed: number, key: string): number {
  const hi = fmix32(fnv1a(key, 0x811c9dc5 ^ fmix32(seed)));
  const lo = fmix32(fnv1a(key, 0x9e3779b9 ^ fmix32(seed + 0x632be5ab)));
  return ((hi >>> 5) * 67108864 + (lo >>> 6)) / 9007199254740992;
}

/** A deterministic stream for things that are not per request (pod names, the mTLS secret of a mesh instance). */
export function seededHex(seed: number, key: string, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++)
    out += fmix32(fnv1a(`${key}#${i}`, fmix32(seed)))
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, length);
}
