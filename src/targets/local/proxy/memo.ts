// Per-config lookups a proxy repeats for every request (route tables, services, peers by header): computed once per
// key and kept until the next config. The keys come from the client (a Host header), so the map is emptied when it
// reaches a bound rather than growing without one.

const maxEntries = 1024;

/** `map`'s value for `key`, computing and keeping it on a miss (undefined values are kept too). */
export function memo<K, V>(map: Map<K, V>, key: K, compute: (key: K) => V): V {
  const hit = map.get(key);
  if (hit !== undefined || map.has(key)) return hit as V;
  const value = compute(key);
  if (map.size >= maxEntries) map.clear();
  map.set(key, value);
  return value;
}
