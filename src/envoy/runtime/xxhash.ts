// xxHash64 with seed 0, Envoy's HashUtil::xxHash64 (source/common/common/hash.h), from the xxhash-wasm package.
import xxhashWasm from 'xxhash-wasm';

const hasher = await xxhashWasm();

/** XXH64(utf-8 bytes of `text`, seed 0), an unsigned 64-bit value. */
export function xxHash64(text: string): bigint {
  return hasher.h64(text);
}

/** Hex::uint64ToHex: 16 lower-case hex digits. */
export function uint64ToHex(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}
