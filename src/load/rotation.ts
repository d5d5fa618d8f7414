// Which request of the rotation the n-th send uses: a pure function of (seed, n), so the autocannon driver and the
// generated k6 script pick the same request for the same n, and a run is reproducible.

/** murmur3's 32-bit finaliser: a good avalanche from a few integer operations (Math.imul exists in k6 too). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) determined by seed and n. */
export function uniformAt(seed: number, n: number): number {
  const h = fmix32((fmix32(seed >>> 0) + Math.imul(n >>> 0, 0x9e3779b9) + Math.floor(n / 4294967296)) >>> 0);
  return h / 4294967296;
}

/** Index of the request for send number n, drawn with probability weight / sum(weights). */
export function pickRequest(weights: readonly number[], seed: number, n: number): number {
  if (weights.length <= 1) return 0;
  let total = 0;
  for (const w of weights) total += w;
  let x = uniformAt(seed, n) * total;
  // An indexed loop: this runs in k6's runtime (Sobek) too, where a for-of loop makes an iterator object per step.
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (w === undefined) break;
    x -= w;
    if (x < 0) return i;
  }
  return weights.length - 1;
}

/** The `x-request-id` of send number n: lets a seeded mesh make per-request decisions deterministically. */
export function requestId(seed: number, n: number): string {
  return `mp-${seed}-${n}`;
}
