/**
 * Cloud Map attributes ↔ the registry's instance: AWS_INSTANCE_IPV4 (else AWS_INSTANCE_IPV6,
 * else AWS_INSTANCE_CNAME) is the address, AWS_INSTANCE_PORT the port, AWS_INIT_HEALTH_STATUS
 * the first health; every other attribute (ECS_CLUSTER, ECS_SERVICE, ECS_TASK_ARN, ...) is
 * metadata, so the other APIs show it as they show any metadata.
 */
import { isIP } from 'node:net';
import type { Health } from '../model/health.js';
import type { Instance } from '../registry/model.js';
import { invalidInput } from './cloudmap-errors.js';

export const IPV4 = 'AWS_INSTANCE_IPV4';
export const IPV6 = 'AWS_INSTANCE_IPV6';
export const PORT = 'AWS_INSTANCE_PORT';
export const CNAME = 'AWS_INSTANCE_CNAME';
export const INIT_HEALTH = 'AWS_INIT_HEALTH_STATUS';

export type CloudMapHealth = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

/** DRAINING takes no new requests, so discovery sees it as unhealthy. */
export function cloudMapHealth(health: Health): CloudMapHealth {
  return health === 'HEALTHY' || health === 'UNKNOWN' ? health : 'UNHEALTHY';
}

export interface InstanceFields {
  readonly address: string;
  readonly port: number;
  readonly metadata: Record<string, string>;
  readonly initialHealth?: 'HEALTHY' | 'UNHEALTHY';
}

/** What a RegisterInstance's attributes say; InvalidInput naming the attribute when they cannot be one. */
export function instanceFields(attributes: Readonly<Record<string, string>>): InstanceFields {
  const v4 = attributes[IPV4];
  const v6 = attributes[IPV6];
  if (v4 !== undefined && isIP(v4) !== 4) throw invalidInput(`Attributes.${IPV4}: must be an IPv4 address, got ${JSON.stringify(v4)}`);
  if (v6 !== undefined && isIP(v6) !== 6) throw invalidInput(`Attributes.${IPV6}: must be an IPv6 address, got ${JSON.stringify(v6)}`);
  const address = v4 ?? v6 ?? attributes[CNAME];
  if (address === undefined) throw invalidInput(`Attributes: ${IPV4}, ${IPV6} or ${CNAME} is required: the hub routes to an address and a port`);
  const portText = attributes[PORT];
  if (portText === undefined) throw invalidInput(`Attributes.${PORT}: is required: the hub routes to an address and a port`);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw invalidInput(`Attributes.${PORT}: must be a port from 1 to 65535, got ${JSON.stringify(portText)}`);
  const init = attributes[INIT_HEALTH];
  if (init !== undefined && init !== 'HEALTHY' && init !== 'UNHEALTHY') throw invalidInput(`Attributes.${INIT_HEALTH}: must be HEALTHY or UNHEALTHY, got ${JSON.stringify(init)}`);
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) {
    if (k === PORT || k === INIT_HEALTH || (k === IPV4 && address === v4) || (k === IPV6 && address === v6 && v4 === undefined) || (k === CNAME && address === attributes[CNAME] && v4 === undefined && v6 === undefined)) continue;
    metadata[k] = v;
  }
  return { address, port, metadata, ...(init !== undefined ? { initialHealth: init } : {}) };
}

/** The attributes Cloud Map shows for any instance, however it was registered. */
export function instanceAttributes(inst: Instance): Record<string, string> {
  const family = isIP(inst.address);
  const addressKey = family === 4 ? IPV4 : family === 6 ? IPV6 : CNAME;
  return { ...inst.metadata, [addressKey]: inst.address, [PORT]: String(inst.port) };
}
