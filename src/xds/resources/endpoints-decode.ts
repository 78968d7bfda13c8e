/**
 * The client side of EDS: an envoy.config.endpoint.v3.ClusterLoadAssignment validated into the
 * endpoint list a picker is built from. The rules are Envoy's and grpc-js's (an update naming
 * one address:port twice is rejected whole, weights are at least 1), plus what this sidecar
 * cannot honour (hostnames, named ports, priorities other than 0), rejected rather than guessed.
 */
import { isIP } from 'node:net';
import type { Endpoint } from '../../balancers/endpoint.js';
import type { Health } from '../../model/health.js';
import { PROTOCOLS, type Protocol } from '../../model/protocol.js';
import { ENDPOINT_TYPE_URL } from '../type-urls.js';
import { canonicalJson, decodeWith, reject, type DecodeResult, type ResourceDecoder } from './decode-result.js';
import { integerAt, join, listAt, messageAt, stringAt, wrappedUIntAt, type Message } from './decode-values.js';
import { readOutriggerMetadata } from './outrigger-metadata.js';

/** A picker's endpoint, plus what the hub says of the instance behind it. */
export interface DecodedEndpoint extends Endpoint {
  /** The instance's version label ('' when unknown). */
  readonly version: string;
  /** Absent when the control plane does not say. */
  readonly protocol?: Protocol;
}

export interface DecodedEndpoints {
  readonly cluster: string;
  /** Sorted by id. */
  readonly endpoints: readonly DecodedEndpoint[];
  /** version_info of the response that carried it. */
  readonly version: string;
}

/** Envoy's health statuses in Outrigger's four: a timed-out check failed; degraded still serves. */
const HEALTH: Readonly<Record<string, Health>> = {
  UNKNOWN: 'UNKNOWN',
  HEALTHY: 'HEALTHY',
  UNHEALTHY: 'UNHEALTHY',
  DRAINING: 'DRAINING',
  TIMEOUT: 'UNHEALTHY',
  DEGRADED: 'HEALTHY',
};

/** Envoy's bound on the sum of weights in one assignment. */
const MAX_TOTAL_WEIGHT = 0xffff_ffff;

const isProtocol = (v: unknown): v is Protocol => typeof v === 'string' && (PROTOCOLS as readonly string[]).includes(v);

function hostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address.toLowerCase()}]:${port}` : `${address}:${port}`;
}

function stringRecord(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return reject(path, 'must be an object of strings');
  const out: Record<string, string> = {};
  // Sorted keys: the same labels always compare (and cache) equal.
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v !== 'string') return reject(join(path, key), 'must be a string');
    out[key] = v;
  }
  return out;
}

interface Locality {
  region: string;
  zone: string;
}

function lbEndpoint(lb: Message, locality: Locality, path: string): DecodedEndpoint {
  if (stringAt(lb, 'host_identifier', path) === 'endpoint_name') reject(join(path, 'endpoint_name'), 'named endpoints are not supported');
  const ep = messageAt(lb, 'endpoint', path) ?? reject(join(path, 'endpoint'), 'must be set');
  const epPath = join(path, 'endpoint');
  const addr = messageAt(ep, 'address', epPath) ?? reject(join(epPath, 'address'), 'must be set');
  const sockPath = join(epPath, 'address.socket_address');
  const sock = messageAt(addr, 'socket_address', join(epPath, 'address')) ?? reject(sockPath, 'must be set (pipes and internal addresses are not supported)');
  const address = stringAt(sock, 'address', sockPath);
  if (isIP(address) === 0) reject(join(sockPath, 'address'), `must be an IP address, got ${JSON.stringify(address)}`);
  if (stringAt(sock, 'port_specifier', sockPath) === 'named_port') reject(join(sockPath, 'named_port'), 'named ports are not supported');
  const port = integerAt(sock, 'port_value', sockPath) ?? 0;
  if (port < 1 || port > 65535) reject(join(sockPath, 'port_value'), `must be from 1 to 65535, got ${port}`);
  const weight = wrappedUIntAt(lb, 'load_balancing_weight', path) ?? 1;
  if (weight < 1) reject(join(path, 'load_balancing_weight'), `must be at least 1, got ${weight}`);
  const status = stringAt(lb, 'health_status', path) || 'UNKNOWN';
  const health = HEALTH[status] ?? reject(join(path, 'health_status'), `unknown status ${status}`);
  const meta = readOutriggerMetadata(lb['metadata']) ?? {};
  const metaPath = join(path, 'metadata.outrigger');
  const id = meta['id'] ?? hostPort(address, port);
  if (typeof id !== 'string' || id === '') reject(join(metaPath, 'id'), 'must be a non-empty string');
  const version = meta['version'] ?? '';
  if (typeof version !== 'string') reject(join(metaPath, 'version'), 'must be a string');
  const protocol = meta['protocol'];
  if (protocol !== undefined && !isProtocol(protocol)) reject(join(metaPath, 'protocol'), `must be one of ${PROTOCOLS.join(', ')}`);
  return {
    id: id as string,
    address,
    port,
    weight,
    zone: locality.zone,
    region: locality.region,
    health,
    version: version as string,
    ...(protocol !== undefined ? { protocol: protocol as Protocol } : {}),
    metadata: stringRecord(meta['metadata'], join(metaPath, 'metadata')),
  };
}

function decodeAssignment(msg: Message, cluster: string, version: string): DecodedEndpoints {
  const endpoints: DecodedEndpoint[] = [];
  const byAddress = new Map<string, string>();
  const byId = new Map<string, string>();
  let total = 0;
  for (const [i, group] of listAt(msg, 'endpoints', '').entries()) {
    const gPath = join('endpoints', i);
    const priority = integerAt(group, 'priority', gPath) ?? 0;
    if (priority !== 0) reject(join(gPath, 'priority'), `only priority 0 is supported, got ${priority}`);
    const lw = wrappedUIntAt(group, 'load_balancing_weight', gPath);
    if (lw !== undefined && lw < 1) reject(join(gPath, 'load_balancing_weight'), `must be at least 1 when set, got ${lw}`);
    const loc = messageAt(group, 'locality', gPath) ?? {};
    const locality = { region: stringAt(loc, 'region', join(gPath, 'locality')), zone: stringAt(loc, 'zone', join(gPath, 'locality')) };
    for (const [j, lb] of listAt(group, 'lb_endpoints', gPath).entries()) {
      const path = join(join(gPath, 'lb_endpoints'), j);
      const ep = lbEndpoint(lb, locality, path);
      const key = hostPort(ep.address, ep.port);
      const seenAt = byAddress.get(key);
      if (seenAt !== undefined) reject(path, `duplicate address ${key} (also at ${seenAt})`);
      byAddress.set(key, path);
      const idAt = byId.get(ep.id);
      if (idAt !== undefined) reject(path, `duplicate endpoint id ${ep.id} (also at ${idAt})`);
      byId.set(ep.id, path);
      total += ep.weight;
      endpoints.push(ep);
    }
  }
  if (total > MAX_TOTAL_WEIGHT) reject('endpoints', `the sum of endpoint weights must be at most ${MAX_TOTAL_WEIGHT}, got ${total}`);
  endpoints.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { cluster, endpoints, version };
}

export class EndpointsDecoder implements ResourceDecoder<DecodedEndpoints> {
  readonly typeUrl = ENDPOINT_TYPE_URL;
  readonly kind = 'ClusterLoadAssignment';

  decode(msg: Readonly<Record<string, unknown>>, version: string): DecodeResult<DecodedEndpoints> {
    const raw = msg['cluster_name'];
    const cluster = typeof raw === 'string' && raw !== '' ? raw : undefined;
    return decodeWith(cluster, () => {
      if (cluster === undefined) return reject('cluster_name', 'must be set');
      return { name: cluster, value: decodeAssignment(msg, cluster, version) };
    });
  }

  equal(a: DecodedEndpoints, b: DecodedEndpoints): boolean {
    return a.cluster === b.cluster && canonicalJson(a.endpoints) === canonicalJson(b.endpoints);
  }
}

export const endpointsDecoder = new EndpointsDecoder();
