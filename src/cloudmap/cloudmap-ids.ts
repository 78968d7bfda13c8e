/**
 * Ids and ARNs in AWS's shapes. A namespace's and a service's id are derived from its name, so
 * the ones created through REST, gRPC or a Kubernetes source have the same stable id whichever
 * hub (or restart) lists them, with no table to keep; instances keep their registry id.
 */
import { createHash, randomBytes } from 'node:crypto';
import { serviceKey } from '../model/names.js';
import { invalidInput } from './cloudmap-errors.js';

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ID_CHARS[bytes[i]! % 32];
  return out;
}

function derived(kind: string, name: string): string {
  return base32(createHash('sha256').update(`${kind}\0${name}`).digest(), 16);
}

export const namespaceId = (name: string): string => `ns-${derived('namespace', name)}`;
export const serviceId = (namespace: string, name: string): string => `srv-${derived('service', serviceKey(name, namespace))}`;

/** An operation id: unique, and random so one cannot be guessed from another. */
export const newOperationId = (): string => `${base32(randomBytes(32), 32)}-${base32(randomBytes(8), 8)}`;

export interface ArnParts {
  readonly region: string;
  readonly accountId: string;
}

export const namespaceArn = (p: ArnParts, id: string): string => `arn:aws:servicediscovery:${p.region}:${p.accountId}:namespace/${id}`;
export const serviceArn = (p: ArnParts, id: string): string => `arn:aws:servicediscovery:${p.region}:${p.accountId}:service/${id}`;

const ARN = /^arn:aws:servicediscovery:([a-z0-9-]+):(\d{12}):(namespace|service)\/((?:ns|srv)-[a-z2-7]{16})$/;

/** A namespace or service ARN of this hub; InvalidInput otherwise. */
export function parseArn(p: ArnParts, arn: string, field: string): { kind: 'namespace' | 'service'; id: string } {
  const m = ARN.exec(arn);
  if (m === null || m[1] !== p.region || m[2] !== p.accountId) {
    throw invalidInput(`${field}: must be the ARN of a namespace or service of this hub (arn:aws:servicediscovery:${p.region}:${p.accountId}:namespace/ns-... or service/srv-...), got ${JSON.stringify(arn.slice(0, 120))}`);
  }
  return { kind: m[3] as 'namespace' | 'service', id: m[4]! };
}

/** Accepts an id or, as AWS does for shared namespaces, the resource's ARN. */
export function idOrArn(value: string): string {
  const slash = value.lastIndexOf('/');
  return value.startsWith('arn:') && slash !== -1 ? value.slice(slash + 1) : value;
}

/**
 * Paging: the token is the sort key of the last item returned, opaque to clients. Items are
 * sorted by key, so a page after a change neither repeats nor skips what did not change.
 */
export function page<T>(items: readonly T[], key: (item: T) => string, nextToken: string | undefined, maxResults: number): { items: T[]; nextToken?: string } {
  const after = nextToken === undefined ? undefined : decodeToken(nextToken);
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const start = after === undefined ? 0 : sorted.findIndex((i) => key(i) > after);
  const rest = start === -1 ? [] : sorted.slice(start);
  const out = rest.slice(0, maxResults);
  return rest.length > maxResults ? { items: out, nextToken: encodeToken(key(out[out.length - 1]!)) } : { items: out };
}

function encodeToken(key: string): string {
  return Buffer.from(JSON.stringify({ after: key })).toString('base64url');
}

function decodeToken(token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { after?: unknown }).after === 'string') return (parsed as { after: string }).after;
  } catch {
    // falls through to the refusal
  }
  throw invalidInput('NextToken: must be a NextToken from the previous page of the same listing');
}
