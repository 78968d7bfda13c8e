/**
 * consistent_hash: a ring with virtual nodes in proportion to weight (hash-ring.ts), keyed by one
 * request attribute:
 *
 *   hash_on: header           name: the header (case-insensitive)
 *   hash_on: cookie           name: the cookie
 *   hash_on: source_ip        the downstream address ("IP hash")
 *   hash_on: query_parameter  name: the parameter (its raw value, not percent-decoded)
 *
 * The key is hashed with XXH32 and the first ring point at or after it wins. A request without
 * the key (or with an empty one) goes to a random ring position — random in proportion to weight.
 * Removing one of N endpoints moves only the keys it owned, about 1/N of them.
 */
import { z } from 'zod';
import { effectiveWeight, hostKey, type Endpoint } from './endpoint.js';
import { hash32 } from './hash.js';
import { HashRing, MAX_RING_SIZE, RingPointCache } from './hash-ring.js';
import type { LbPolicy, PickContext, Picker, RandomSource } from './picker.js';
import type { PolicyDefinition } from './policy-registry.js';

export const HASH_ON = ['header', 'cookie', 'source_ip', 'query_parameter'] as const;
export type HashOn = (typeof HASH_ON)[number];

const HEADER = 0;
const COOKIE = 1;
const SOURCE_IP = 2;
const QUERY = 3;
const KIND: Record<HashOn, number> = { header: HEADER, cookie: COOKIE, source_ip: SOURCE_IP, query_parameter: QUERY };

/** The value of cookie `name` in a Cookie header (`a=1; b=2`), or undefined. */
export function cookieValue(header: string, name: string): string | undefined {
  const n = header.length;
  let i = 0;
  while (i < n) {
    while (i < n && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9)) i++;
    let end = header.indexOf(';', i);
    if (end < 0) end = n;
    const eq = i + name.length;
    if (eq < end && header.charCodeAt(eq) === 61 && header.startsWith(name, i)) {
      let stop = end;
      while (stop > eq + 1 && (header.charCodeAt(stop - 1) === 32 || header.charCodeAt(stop - 1) === 9)) stop--;
      return header.slice(eq + 1, stop);
    }
    i = end + 1;
  }
  return undefined;
}

/** The raw value of query parameter `name` in a request target (`/p?a=1&b=2`), or undefined. */
export function queryValue(target: string, name: string): string | undefined {
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  let end = target.indexOf('#', q);
  if (end < 0) end = target.length;
  let i = q + 1;
  while (i < end) {
    let amp = target.indexOf('&', i);
    if (amp < 0 || amp > end) amp = end;
    const after = i + name.length;
    if (after <= amp && target.startsWith(name, i)) {
      if (after === amp) return '';
      if (target.charCodeAt(after) === 61) return target.slice(after + 1, amp);
    }
    i = amp + 1;
  }
  return undefined;
}

export class ConsistentHashPicker implements Picker {
  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly ring: HashRing,
    private readonly kind: number,
    private readonly name: string,
    private readonly random: RandomSource,
  ) {}

  /** The hash key of a request under this picker's options, or undefined. */
  key(context: PickContext | undefined): string | undefined {
    if (context === undefined) return undefined;
    switch (this.kind) {
      case HEADER:
        return context.header?.(this.name);
      case COOKIE: {
        if (context.cookie !== undefined) return context.cookie(this.name);
        const header = context.header?.('cookie');
        return header === undefined ? undefined : cookieValue(header, this.name);
      }
      case SOURCE_IP:
        return context.sourceIp;
      default:
        return context.path === undefined ? undefined : queryValue(context.path, this.name);
    }
  }

  pick(context?: PickContext): Endpoint | undefined {
    if (this.endpoints.length === 0) return undefined;
    const key = this.key(context);
    const h = key === undefined || key === '' ? (this.random() * 4294967296) >>> 0 : hash32(key);
    return this.endpoints[this.ring.lookup(h)];
  }
}

const ringSize = () =>
  z
    .number({ error: `must be an integer from 1 to ${MAX_RING_SIZE}` })
    .int({ error: `must be an integer from 1 to ${MAX_RING_SIZE}` })
    .min(1, { error: `must be an integer from 1 to ${MAX_RING_SIZE}` })
    .max(MAX_RING_SIZE, { error: `must be an integer from 1 to ${MAX_RING_SIZE}` });

const options = z
  .strictObject({
    hash_on: z.enum(HASH_ON, { error: `must be one of ${HASH_ON.join(', ')}` }),
    name: z
      .string({ error: 'must be a non-empty string' })
      .min(1, { error: 'must be a non-empty string' })
      .max(256, { error: 'must be at most 256 characters' })
      .optional(),
    minimum_ring_size: ringSize().default(1024),
    maximum_ring_size: ringSize().default(MAX_RING_SIZE),
  })
  .superRefine((o, ctx) => {
    if (o.hash_on !== 'source_ip' && o.name === undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `is required with hash_on: ${o.hash_on} (the ${o.hash_on.replace('_', ' ')} to hash)` });
    }
    if (o.hash_on === 'source_ip' && o.name !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'is not used with hash_on: source_ip; remove it' });
    }
    if (o.minimum_ring_size > o.maximum_ring_size) {
      ctx.addIssue({ code: 'custom', path: ['minimum_ring_size'], message: `must not exceed maximum_ring_size (${o.maximum_ring_size}), got ${o.minimum_ring_size}` });
    }
  })
  .transform((o) => ({ ...o, name: o.hash_on === 'header' && o.name !== undefined ? o.name.toLowerCase() : o.name }));
export type ConsistentHashOptions = z.output<typeof options>;

export const consistentHashPolicy: PolicyDefinition<ConsistentHashOptions> = {
  name: 'consistent_hash',
  description: 'ring hash with virtual nodes by weight, keyed by a header, cookie, source IP or query parameter',
  options,
  create(opts): LbPolicy {
    const cache = new RingPointCache();
    const kind = KIND[opts.hash_on];
    const name = opts.name ?? '';
    return {
      name: 'consistent_hash',
      options: opts,
      buildPicker(endpoints, env): Picker {
        const keys = endpoints.map(hostKey);
        const weights = Float64Array.from(endpoints, effectiveWeight);
        const ring = HashRing.build(keys, weights, opts.minimum_ring_size, opts.maximum_ring_size, cache);
        return new ConsistentHashPicker(endpoints, ring, kind, name, env.random);
      },
    };
  },
};
