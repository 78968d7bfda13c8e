/**
 * The names Outrigger answers inside a zone (a namespace):
 * - `<svc>.<ns>`: A / AAAA (or a CNAME) and SRV, Cloud Map's records;
 * - `_<svc>._tcp.<ns>`: SRV (RFC 2782);
 * - `<address label>.<svc>.<ns>`: the A / AAAA an SRV target names (the address with `-` for `.` or `:`,
 *   as Kubernetes writes pod names); when no instance has that address, `<tag>.<svc>.<ns>`: the
 *   service's instances carrying the tag (Consul's DNS), for sources that know tags;
 * - the zone itself: its SOA.
 * `<svc>.<ns>.svc.cluster.local` needs nothing of its own: an EndpointSlice's service lives in the
 * namespace `<ns>.svc.cluster.local`.
 */
import { isIP } from 'node:net';

export type ZoneName =
  | { readonly kind: 'apex' }
  | { readonly kind: 'service'; readonly service: string }
  | { readonly kind: 'srv'; readonly service: string }
  | { readonly kind: 'address'; readonly service: string; readonly label: string }
  | { readonly kind: 'none' };

/** A query name Outrigger can read: lowercase LDH labels (and `_` for RFC 2782 names), or the root. */
const NAME = /^(?:[a-z0-9_*-]{1,63}(?:\.[a-z0-9_*-]{1,63})*)?$/;

/** The query name in the form sources see it (lowercase, no final dot), or undefined when it cannot be a name Outrigger serves. */
export function normalizeName(raw: string): string | undefined {
  const name = raw.toLowerCase().replace(/\.$/, '');
  return name.length <= 253 && NAME.test(name) ? name : undefined;
}

/** What `name` asks for inside `zone` (a suffix of it). */
export function nameInZone(name: string, zone: string): ZoneName {
  if (name === zone) return { kind: 'apex' };
  const labels = name.slice(0, name.length - zone.length - 1).split('.');
  if (labels.length === 1) return { kind: 'service', service: labels[0]! };
  if (labels.length === 2 && labels[1] === '_tcp' && labels[0]!.startsWith('_')) return { kind: 'srv', service: labels[0]!.slice(1) };
  if (labels.length === 2) return { kind: 'address', label: labels[0]!, service: labels[1]! };
  return { kind: 'none' };
}

/** The label an IP address gets in an SRV target: `10-0-0-7`, `fd00--7`. */
export function addressLabel(address: string): string {
  return address.toLowerCase().replace(/[.:]/g, '-');
}

/** The suffixes of a name that could be zones, longest first: `a.b.c` → `a.b.c`, `b.c`, `c`. */
export function candidateZones(name: string): string[] {
  const out: string[] = [];
  let rest = name;
  while (rest !== '') {
    out.push(rest);
    const dot = rest.indexOf('.');
    rest = dot === -1 ? '' : rest.slice(dot + 1);
  }
  return out;
}

export const ipFamily = (address: string): 0 | 4 | 6 => isIP(address) as 0 | 4 | 6;
