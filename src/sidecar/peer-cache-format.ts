/**
 * The peer cache file: the last good upstream config, as JSON, with a format tag and version so
 * that a file written by something else (or a future format) is recognised and ignored rather
 * than misread. Everything read back is validated like a hub response: a file is outside input.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseBuiltinServiceConfig } from '../balancers/service-config.js';
import { parseWith } from '../model/parse-input.js';
import { PROTOCOLS } from '../model/protocol.js';
import type { ServiceConfig } from '../model/service-config.js';
import type { DecodedEndpoint } from '../xds/resources/endpoints-decode.js';
import { parseClusterName } from './cluster-name.js';

export const PEER_CACHE_FORMAT = 'outrigger.peer-cache';
export const PEER_CACHE_VERSION = 1;

/** One upstream cluster as last known. */
export interface PeerCacheCluster {
  name: string;
  config: ServiceConfig;
  config_version: string;
  endpoints: DecodedEndpoint[] | undefined;
  endpoints_version: string | undefined;
  /** Clock time of the cluster's last change. */
  changed_at: number;
}

export interface PeerCacheFile {
  format: typeof PEER_CACHE_FORMAT;
  version: typeof PEER_CACHE_VERSION;
  /** Clock time the file was written. */
  written_at: number;
  clusters: PeerCacheCluster[];
}

const endpointSchema = z.strictObject({
  id: z.string().min(1),
  address: z.string().refine((a) => isIP(a) !== 0, { error: 'must be an IP address' }),
  port: z.number().int().min(1).max(65535),
  weight: z.number().int().min(1),
  zone: z.string(),
  region: z.string(),
  health: z.enum(['HEALTHY', 'UNHEALTHY', 'UNKNOWN', 'DRAINING']),
  version: z.string(),
  protocol: z.enum(PROTOCOLS).optional(),
  metadata: z.record(z.string(), z.string()),
});

const clusterSchema = z.strictObject({
  name: z.string(),
  config: z.record(z.string(), z.unknown()),
  config_version: z.string(),
  endpoints: z.array(endpointSchema).optional(),
  endpoints_version: z.string().optional(),
  changed_at: z.number().nonnegative(),
});

const fileSchema = z.looseObject({
  format: z.literal(PEER_CACHE_FORMAT),
  version: z.literal(PEER_CACHE_VERSION),
  written_at: z.number().nonnegative(),
  clusters: z.array(clusterSchema),
});

export function encodePeerCache(writtenAt: number, clusters: readonly PeerCacheCluster[]): string {
  const file: PeerCacheFile = { format: PEER_CACHE_FORMAT, version: PEER_CACHE_VERSION, written_at: writtenAt, clusters: [...clusters] };
  return `${JSON.stringify(file)}\n`;
}

/** The file's content; throws an Error naming what is wrong with it. */
export function decodePeerCache(text: string): PeerCacheFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const tag = (json as { format?: unknown } | null)?.format;
  if (tag !== PEER_CACHE_FORMAT) throw new Error(`not an Outrigger peer cache (format ${JSON.stringify(tag) ?? 'missing'})`);
  const version = (json as { version?: unknown }).version;
  if (version !== PEER_CACHE_VERSION) throw new Error(`format version ${JSON.stringify(version)} is not ${PEER_CACHE_VERSION}`);
  const file = parseWith(fileSchema, json);
  return {
    format: PEER_CACHE_FORMAT,
    version: PEER_CACHE_VERSION,
    written_at: file.written_at,
    clusters: file.clusters.map((c, i) => ({
      name: parseClusterName(c.name, `clusters[${i}].name`),
      config: parseBuiltinServiceConfig(c.config, `clusters[${i}].config`),
      config_version: c.config_version,
      endpoints: c.endpoints,
      endpoints_version: c.endpoints_version,
      changed_at: c.changed_at,
    })),
  };
}
