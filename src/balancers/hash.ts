/**
 * The hash behind consistent hashing: 32-bit xxHash (XXH32, seed 0) of the key's UTF-8 bytes,
 * from `xxhash-wasm`. Chosen by measurement (bench/README.md, "Choosing the hash"): 75–110 ns
 * for a 7–40 character key through its string API on this kind of machine, against 170–235 ns for
 * the napi binding of the same hash, 390–560 ns for a pure-JS xxHash and 0.4–1.3 µs for the
 * `murmurhash` package; its output is well spread where a hand-rolled FNV-1a was not. xxHash is
 * also the hash Envoy's and gRPC's ring_hash use (their 64-bit variant).
 *
 * The library's string API encodes with TextEncoder.encodeInto, which allocates a result object
 * per call and was most of the cost. Keys are almost always ASCII (header values, IPs, cookies),
 * whose UTF-8 bytes are their char codes: those are written into a buffer of exactly their length,
 * allocated once per length, and hashed with the raw-bytes API — the same hash, no allocation.
 * Other keys (non-ASCII, or longer than FAST_MAX) go through the string API.
 *
 * The WebAssembly module is instantiated once, when this module is first imported.
 */
import xxhash from 'xxhash-wasm';

const api = await xxhash();

const FAST_MAX = 256;
const buffers: Uint8Array[] = Array.from({ length: FAST_MAX + 1 }, (_, n) => new Uint8Array(n));

/** XXH32 of the UTF-8 bytes of `text`, seed 0, as an unsigned 32-bit integer. */
export function hash32(text: string): number {
  const n = text.length;
  if (n <= FAST_MAX) {
    const buf = buffers[n]!;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) break;
      buf[i] = c;
    }
    if (i === n) return api.h32Raw(buf, 0);
  }
  return api.h32(text, 0);
}
