/** IP networks as people write them in config: `127.0.0.1`, `10.0.0.0/8`, `fd00::/8`. */
import { BlockList, isIP } from 'node:net';

/** `10.0.0.0/8`, `fd00::/8` or a bare address as host:prefix; undefined when it is none of them. */
export function parseNetwork(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { address, prefix: Number(prefixText), family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** Networks as a BlockList to check peers against (each already checked by parseNetwork). */
export function networkList(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const text of networks) {
    const n = parseNetwork(text)!;
    list.addSubnet(n.address, n.prefix, n.family);
  }
  return list;
}


/**
 * The source a per-source limit counts: an IPv4 address as it is, an IPv6 address by its /64
 * (one host commonly holds a whole /64, so counting single addresses would let it rotate past
 * the limit). An IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function sourceKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  const [head = '', tail] = lower.split('::');
  const split = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = split(head);
  const right = split(tail ?? '');
  // A dotted IPv4 tail is two groups; it sits in the last two, past the four that are kept.
  const width = right.length + (right.at(-1)?.includes('.') === true ? 1 : 0);
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - width).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`;
}
