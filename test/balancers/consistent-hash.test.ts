import test from 'ava';
import xxhash from 'xxhash-wasm';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { ConsistentHashPicker, cookieValue, queryValue } from '../../src/balancers/consistent-hash.js';
import type { Endpoint } from '../../src/balancers/endpoint.js';
import { hash32 } from '../../src/balancers/hash.js';
import { HashRing, RingPointCache } from '../../src/balancers/hash-ring.js';
import { PolicyBalancer } from '../../src/balancers/load-balancer.js';
import type { PickContext } from '../../src/balancers/picker.js';
import { countPicks, endpoints, headerContext, seededRandom, share } from './fixtures.js';

const registry = createPolicyRegistry();
const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function balancerFor(eps: Endpoint[], options: Record<string, unknown> = { hash_on: 'header', name: 'x-user' }, seed = 1): PolicyBalancer {
  const balancer = new PolicyBalancer(registry.create('consistent_hash', options), { random: seededRandom(seed) });
  balancer.updateEndpoints(eps);
  return balancer;
}

function owners(balancer: PolicyBalancer): string[] {
  return KEYS.map((k) => balancer.picker.pick(headerContext('x-user', k))!.id);
}

test('xxh32 is the hash (pinned: rings must agree across versions and sidecars)', async (t) => {
  t.is(hash32(''), 0x02cc5d05);
  t.is(hash32('abc'), 0x32d153ff);
  const library = await xxhash();
  for (const key of ['10.0.0.1', 'user-42', 'sid=ab;c', 'é', 'ünïcødé', '🙂 emoji', 'x'.repeat(256), 'y'.repeat(257), 'z'.repeat(1000)]) {
    t.is(hash32(key), library.h32(key, 0), `ASCII fast path and UTF-8 path agree with the library for ${key.slice(0, 12)}`);
  }
});

test('consistent_hash sends the same key to the same endpoint, in every sidecar', (t) => {
  const eps = endpoints(10);
  const a = balancerFor(eps, undefined, 1);
  const b = balancerFor([...eps].reverse(), undefined, 99); // another sidecar, endpoints listed in another order
  const first = owners(a);
  t.deepEqual(owners(a), first, 'repeated picks agree');
  t.deepEqual(owners(b), first, 'an independently built ring agrees');
  t.true(new Set(first).size === 10, 'keys spread over every endpoint');
});

test('removing one of N endpoints moves only the keys it owned, about 1/N', (t) => {
  const n = 10;
  const eps = endpoints(n);
  const before = owners(balancerFor(eps));
  const removed = 'ep-3';
  const after = owners(balancerFor(eps.filter((e) => e.id !== removed)));
  let moved = 0;
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] !== after[i]) {
      moved++;
      t.is(before[i], removed, `key ${KEYS[i]} moved although its endpoint stayed`);
    }
  }
  const fraction = moved / KEYS.length;
  t.true(fraction > 0.5 / n && fraction < 2 / n, `moved ${fraction}`);
});

test('adding an endpoint takes about 1/(N+1) of the keys, from the others only', (t) => {
  const before = owners(balancerFor(endpoints(10)));
  const after = owners(balancerFor(endpoints(11)));
  let moved = 0;
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] !== after[i]) {
      moved++;
      t.is(after[i], 'ep-10');
    }
  }
  t.true(moved / KEYS.length > 0.5 / 11 && moved / KEYS.length < 2 / 11, `moved ${moved / KEYS.length}`);
});

test('ring points and key shares follow weight', (t) => {
  const eps = endpoints(3, (i) => ({ weight: [1, 2, 5][i]! }));
  const ring = HashRing.build(
    eps.map((e) => `${e.address}:${e.port}`),
    [1, 2, 5],
    1024,
    8_388_608,
  );
  const points = ring.pointsPerHost(3);
  t.true(ring.size >= 1024, `ring size ${ring.size}`);
  t.deepEqual([...points].map((p) => Math.round((p / ring.size) * 8)), [1, 2, 5]);
  const counts = new Map<string, number>();
  const balancer = balancerFor(eps);
  for (const k of KEYS) {
    const id = balancer.picker.pick(headerContext('x-user', k))!.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  [1, 2, 5].forEach((w, i) => {
    const got = share(counts, `ep-${i}`, KEYS.length);
    t.true(Math.abs(got - w / 8) < 0.05, `ep-${i}: ${got} vs ${w / 8}`);
  });
});

test('ring points stay in exact proportion to weight in large clusters too', (t) => {
  const weights = Array.from({ length: 5000 }, (_, i) => [1, 2, 3, 5, 10][i % 5]!);
  const ring = HashRing.build(weights.map((_, i) => `h${i}:1`), weights, 1024, 8_388_608);
  const points = ring.pointsPerHost(weights.length);
  t.true(weights.every((w, i) => points[i] === w), 'one point per unit of weight when the weights alone exceed the minimum');
  const hundreds = HashRing.build(['a:1', 'b:1', 'c:1'], [100, 100, 300], 1024, 8_388_608);
  t.deepEqual([...hundreds.pointsPerHost(3)], [256, 256, 768], 'weights are reduced by their gcd, then scaled by a power of two');
});

test('maximum_ring_size caps the ring, and every host keeps at least one point', (t) => {
  const ring = HashRing.build(['a:1', 'b:1', 'c:1'], [1, 1, 1000], 1024, 100);
  const points = ring.pointsPerHost(3);
  t.true(ring.size <= 102, `ring size ${ring.size}`);
  t.true(points.every((p) => p >= 1));
});

test('a rebuilt ring reuses cached points and equals a ring built from scratch', (t) => {
  const keys = Array.from({ length: 50 }, (_, i) => `10.0.0.${i}:80`);
  const weights = keys.map(() => 1);
  const cache = new RingPointCache();
  HashRing.build(keys, weights, 1024, 8_388_608, cache);
  const fewer = HashRing.build(keys.slice(1), weights.slice(1), 1024, 8_388_608, cache);
  const fresh = HashRing.build(keys.slice(1), weights.slice(1), 1024, 8_388_608);
  t.is(cache.size, 50, 'the host that left stays cached');
  for (let i = 0; i < 2000; i++) {
    const h = (i * 2654435761) >>> 0;
    t.is(fewer.lookup(h), fresh.lookup(h));
  }
});

test('the key may come from a header (any case), a cookie, the source IP or a query parameter', (t) => {
  const eps = endpoints(20);
  const expectFor = (key: string): string => balancerFor(eps, { hash_on: 'source_ip' }).picker.pick({ sourceIp: key })!.id;
  const cases: [Record<string, unknown>, (k: string) => PickContext][] = [
    [{ hash_on: 'header', name: 'X-User' }, (k) => headerContext('x-user', k)],
    [{ hash_on: 'cookie', name: 'sid' }, (k) => ({ cookie: (n) => (n === 'sid' ? k : undefined) })],
    [{ hash_on: 'cookie', name: 'sid' }, (k) => headerContext('cookie', `theme=dark; sid=${k}; lang=en`)],
    [{ hash_on: 'source_ip' }, (k) => ({ sourceIp: k })],
    [{ hash_on: 'query_parameter', name: 'uid' }, (k) => ({ path: `/cart?page=2&uid=${k}#top` })],
  ];
  for (const [options, context] of cases) {
    const balancer = balancerFor(eps, options);
    for (const key of ['10.1.2.3', 'alice', 'bob-42', 'c0ffee']) {
      t.is(balancer.picker.pick(context(key))!.id, expectFor(key), `${JSON.stringify(options)} key ${key}`);
    }
  }
});

test('a request without the key goes to a random endpoint', (t) => {
  const balancer = balancerFor(endpoints(10));
  const counts = countPicks(balancer.picker, 5000, () => ({ header: () => undefined }));
  t.is(counts.size, 10);
  const empty = countPicks(balancer.picker, 5000, () => headerContext('x-user', ''));
  t.is(empty.size, 10, 'an empty key counts as none');
  t.is(countPicks(balancer.picker, 1000).size, 10, 'no context at all');
});

test('cookieValue and queryValue find exact names only', (t) => {
  t.is(cookieValue('a=1; sid=xyz; b=2', 'sid'), 'xyz');
  t.is(cookieValue('sidx=1; sid=2', 'sid'), '2');
  t.is(cookieValue('xsid=1', 'sid'), undefined);
  t.is(cookieValue('sid=  v  ; a=1', 'sid'), '  v');
  t.is(cookieValue('', 'sid'), undefined);
  t.is(queryValue('/p?a=1&uid=42&b=2', 'uid'), '42');
  t.is(queryValue('/p?xuid=1&uid=2', 'uid'), '2');
  t.is(queryValue('/p?uid', 'uid'), '');
  t.is(queryValue('/p?a=1#uid=3', 'uid'), undefined);
  t.is(queryValue('/p/uid=3', 'uid'), undefined);
});

test('consistent_hash picker over an empty set returns undefined', (t) => {
  const picker = new ConsistentHashPicker([], HashRing.build([], [], 1024, 1024), 0, 'x', seededRandom(1));
  t.is(picker.pick(headerContext('x', 'k')), undefined);
});
