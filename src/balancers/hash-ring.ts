/**
 * A consistent-hash ring with virtual nodes in exact proportion to weight, with Envoy's ring_hash
 * bounds: at least `minimumSize` points (up to twice that, or the sum of weight / gcd if larger)
 * and at most `maximumSize`, every host at least one. Unlike Envoy, the points per unit of weight
 * are a power of two, so a host's point count does not change when another host comes or goes
 * (Envoy rescales every host at small sizes, which moves keys between endpoints that stayed). Point j of a host sits at
 * hash32(`${hostKey}_${j}`), so every sidecar given the same endpoints builds the same ring.
 *
 * Built once per picker as flat typed arrays: points sorted ascending with their owner beside
 * them, plus a prefix table on the top (up to 16) bits of the hash, so that a lookup is one table
 * read and a binary search within one bucket: about one point up to 65,536 points, a few more past
 * that.
 */
import { hash32 } from './hash.js';

export const MAX_RING_SIZE = 8_388_608;

/**
 * Per-host point hashes kept between builds, so that a rebuild hashes only hosts it has not seen
 * lately. Hosts that left the ring (an endpoint gone unhealthy) are kept while the cache is at
 * most twice the size of the last ring's host count, so a flapping endpoint costs no rehash.
 */
export class RingPointCache {
  private readonly entries = new Map<string, { points: Uint32Array; used: number }>();
  private generation = 0;

  /** @internal */
  begin(): void {
    this.generation++;
  }

  /** @internal The first `count` point hashes of a host. */
  points(hostKey: string, count: number): Uint32Array {
    const entry = this.entries.get(hostKey);
    if (entry !== undefined && entry.points.length >= count) {
      entry.used = this.generation;
      return entry.points;
    }
    const points = new Uint32Array(count);
    let j = 0;
    if (entry !== undefined) {
      points.set(entry.points);
      j = entry.points.length;
    }
    for (; j < count; j++) points[j] = hash32(`${hostKey}_${j}`);
    this.entries.set(hostKey, { points, used: this.generation });
    return points;
  }

  /** @internal */
  end(hosts: number): void {
    if (this.entries.size <= 2 * hosts + 64) return;
    for (const [key, entry] of this.entries) if (entry.used !== this.generation) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

function pointsOf(hostKey: string, count: number, cache: RingPointCache | undefined): Uint32Array {
  if (cache !== undefined) return cache.points(hostKey, count);
  const points = new Uint32Array(count);
  for (let j = 0; j < count; j++) points[j] = hash32(`${hostKey}_${j}`);
  return points;
}

/**
 * Sorts 32-bit keys ascending, carrying a value each: LSD radix sort, three passes of 11 bits.
 * Stable, O(n): about 20× faster than Float64Array#sort at a million points.
 */
function radixSort(keys: Uint32Array, values: Int32Array): void {
  const n = keys.length;
  let k1: Uint32Array = keys;
  let v1: Int32Array = values;
  let k2: Uint32Array = new Uint32Array(n);
  let v2: Int32Array = new Int32Array(n);
  const count = new Uint32Array(2048);
  for (let shift = 0; shift < 33; shift += 11) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(k1[i]! >>> shift) & 2047]!++;
    let sum = 0;
    for (let d = 0; d < 2048; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = k1[i]!;
      const pos = count[(k >>> shift) & 2047]!++;
      k2[pos] = k;
      v2[pos] = v1[i]!;
    }
    const tk = k1;
    k1 = k2;
    k2 = tk;
    const tv = v1;
    v1 = v2;
    v2 = tv;
  }
  // Three passes: the sorted data is in the scratch arrays.
  keys.set(k1);
  values.set(v1);
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

export class HashRing {
  /** Sorted point hashes. */
  private readonly points: Uint32Array;
  /** owners[i]: the host index of points[i]. */
  private readonly owners: Int32Array;
  /** table[b]: index of the first point whose top bits are ≥ b; table[2^bits] = points.length. */
  private readonly table: Uint32Array;
  private readonly shift: number;

  private constructor(points: Uint32Array, owners: Int32Array) {
    this.points = points;
    this.owners = owners;
    let bits = 1;
    while (bits < 16 && 1 << bits < points.length) bits++;
    this.shift = 32 - bits;
    const buckets = 1 << bits;
    const table = new Uint32Array(buckets + 1);
    let p = 0;
    for (let b = 0; b <= buckets; b++) {
      while (p < points.length && points[p]! >>> this.shift < b) p++;
      table[b] = p;
    }
    this.table = table;
  }

  /**
   * @param hostKeys one per host, e.g. `10.0.0.1:8080`
   * @param weights one per host, integers ≥ 1 (others are rounded)
   * @param cache point hashes kept from earlier builds (reused, and updated with these hosts)
   */
  static build(hostKeys: readonly string[], weights: ArrayLike<number>, minimumSize: number, maximumSize: number, cache?: RingPointCache): HashRing {
    const n = hostKeys.length;
    if (n === 0) return new HashRing(new Uint32Array(0), new Int32Array(0));
    // Points per host = scale × weight / g, g the weights' greatest common divisor: exactly in
    // proportion to weight. The scale is the smallest power of two ≥ 1 that gives the ring
    // minimumSize points, lowered (a power of two below 1 if need be, each host keeping one point)
    // when it would pass maximumSize. A power of two changes only when the total weight crosses
    // one, so adding or removing an endpoint almost never changes how many points the others
    // have — and so moves only the keys it owns.
    let g = 0;
    for (let i = 0; i < n; i++) g = gcd(g, Math.max(1, Math.round(weights[i]!)));
    let units = 0;
    for (let i = 0; i < n; i++) units += Math.max(1, Math.round(weights[i]!)) / g;
    let scale = units >= minimumSize ? 1 : 2 ** Math.ceil(Math.log2(minimumSize / units));
    if (scale * units > maximumSize) scale = 2 ** Math.floor(Math.log2(maximumSize / units));
    const counts = new Int32Array(n);
    let ringSize = 0;
    for (let i = 0; i < n; i++) {
      const c = Math.max(1, Math.round((scale * Math.max(1, Math.round(weights[i]!))) / g)); // a host with no point would never be picked
      counts[i] = c;
      ringSize += c;
    }
    cache?.begin();
    const points = new Uint32Array(ringSize);
    const owners = new Int32Array(ringSize);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const hp = pointsOf(hostKeys[i]!, counts[i]!, cache);
      for (let j = 0; j < counts[i]!; j++) {
        points[k] = hp[j]!;
        owners[k++] = i;
      }
    }
    cache?.end(n);
    radixSort(points, owners);
    return new HashRing(points, owners);
  }

  get size(): number {
    return this.points.length;
  }

  /** The host index owning `hash`: the first point at or after it, wrapping; -1 on an empty ring. */
  lookup(hash: number): number {
    const points = this.points;
    const n = points.length;
    if (n === 0) return -1;
    const b = hash >>> this.shift;
    let lo = this.table[b]!;
    let hi = this.table[b + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === n ? 0 : lo]!;
  }

  /** How many ring points each host owns (for tests and the admin API). */
  pointsPerHost(hosts: number): Int32Array {
    const out = new Int32Array(hosts);
    for (const o of this.owners) out[o] = out[o]! + 1;
    return out;
  }
}
