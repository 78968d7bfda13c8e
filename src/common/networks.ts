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

