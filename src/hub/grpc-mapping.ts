/**
 * Registry records ↔ registry.proto messages. Requests become the same input objects the REST
 * API hands the registry, so validation (and its messages) is the registry's, once. The only
 * translation is proto3's: 0, "" and *_UNSPECIFIED mean "not given".
 */
import type { z } from 'zod';
import { OutriggerError, invalidArgument } from '../common/errors.js';
import { type Health, healthSchema } from '../model/health.js';
import { namespaceNameSchema, serviceNameSchema } from '../model/names.js';
import { parseWith } from '../model/parse-input.js';
import type { Protocol } from '../model/protocol.js';
import type { Instance, Namespace, Service, Source } from '../registry/model.js';
import type { DiscoverQuery } from '../registry/registry.js';
import { metadataSchema } from '../registry/validation.js';
import type * as m from '../wire/messages.js';
import { fromStruct, toStruct } from '../wire/struct.js';

const PROTOCOL_TO_WIRE: Record<Protocol, m.WireProtocol> = {
  http: 'PROTOCOL_HTTP',
  http2: 'PROTOCOL_HTTP2',
  grpc: 'PROTOCOL_GRPC',
  tcp: 'PROTOCOL_TCP',
};
const SOURCE_TO_WIRE: Record<Source, m.WireSource> = {
  self: 'SOURCE_SELF',
  kubernetes: 'SOURCE_KUBERNETES',
  static: 'SOURCE_STATIC',
};

/** Empty strings are proto3's "unset". */
export function given(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

/**
 * An enum as the registry spells it: `PROTOCOL_HTTP` → `http`, `HEALTHY` → `HEALTHY`. Unset
 * and *_UNSPECIFIED are undefined; a value this build does not know passes through, so the
 * registry's validation rejects it naming the field.
 */
function fromWireEnum(value: string | number | undefined, prefix: string, lower: boolean): unknown {
  if (value === undefined || value === 0) return undefined;
  if (typeof value === 'number') return value;
  if (value.endsWith('_UNSPECIFIED')) return undefined;
  const bare = value.startsWith(prefix) ? value.slice(prefix.length) : value;
  return lower ? bare.toLowerCase() : bare;
}

export const healthFromWire = (h: m.WireEnum<m.WireHealth> | undefined): unknown => fromWireEnum(h, '', false);

/** A Duration as seconds, the registry's numeric duration unit; undefined when absent. */
function durationSeconds(d: m.WireDuration | undefined): number | undefined {
  if (d === undefined) return undefined;
  return (d.seconds ?? 0) + (d.nanos ?? 0) / 1e9;
}

/**
 * Seconds and nanos of a millisecond count (non-negative). protobufjs writes a field that is
 * present even when it is zero, so zeros are left out to keep Watch pushes small.
 */
function secondsAndNanos(ms: number): { seconds?: number; nanos?: number } {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  return { ...(seconds !== 0 ? { seconds } : {}), ...(nanos !== 0 ? { nanos } : {}) };
}

const durationFromMs = (ms: number): m.WireDuration => secondsAndNanos(ms);
const timestampFromMs = (ms: number): m.WireTimestamp => secondsAndNanos(ms);

/** Only the strings that are set, for the same reason. */
function nonEmpty(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== ''));
}

/** The registry input for a RegisterRequest; keys are left out when not given. */
export function registerInput(req: m.RegisterRequest): Record<string, unknown> {
  const input: Record<string, unknown> = {
    // Required strings go in as "" when unset, so the error says what a valid one looks like.
    service: req.service ?? '',
    address: req.address ?? '',
    port: req.port,
  };
  const optional: Record<string, unknown> = {
    id: given(req.id),
    namespace: given(req.namespace),
    protocol: fromWireEnum(req.protocol, 'PROTOCOL_', true),
    version: given(req.version),
    zone: given(req.zone),
    region: given(req.region),
    weight: req.weight === 0 ? undefined : req.weight,
    metadata: req.metadata,
    health: healthFromWire(req.health),
    source: fromWireEnum(req.source, 'SOURCE_', true),
    ttl: durationSeconds(req.ttl),
    deregister_critical_after: durationSeconds(req.deregister_critical_after),
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) input[k] = v;
  return input;
}

function optionalName<S extends z.ZodType>(schema: S, value: string | undefined, field: string): string | undefined {
  const v = given(value);
  if (v !== undefined) parseWith(schema, v, field);
  return v;
}

export const optionalNamespace = (v: string | undefined): string | undefined => optionalName(namespaceNameSchema, v, 'namespace');

/**
 * A name the request must give. proto3 sends an unset string as "", which would otherwise be
 * looked up as a name and answered NOT_FOUND for an empty name.
 */
function requiredName<S extends z.ZodType>(schema: S, value: string | undefined, field: string, what: string): string {
  const v = given(value);
  if (v === undefined) throw invalidArgument(field, `${field}: is required (${what})`);
  parseWith(schema, v, field);
  return v;
}

export const requiredServiceName = (v: string | undefined): string => requiredName(serviceNameSchema, v, 'name', "the service's name, a DNS label");
export const requiredNamespaceName = (v: string | undefined): string => requiredName(namespaceNameSchema, v, 'name', "the namespace's name, a DNS name such as shop.local");

/**
 * Runs a registry call, naming the field of its errors as the request spells it: the registry
 * says `service` or `namespace` where a request for that resource says `name`.
 */
export function namingField<T>(registryField: string, requestField: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof OutriggerError && err.field === registryField) throw new OutriggerError(err.code, err.message, requestField);
    throw err;
  }
}
export const optionalService = (v: string | undefined, field = 'service'): string | undefined => optionalName(serviceNameSchema, v, field);

/** Validates a DiscoverRequest at the edge and turns it into a registry query. */
export function discoverQuery(req: m.DiscoverRequest): DiscoverQuery {
  const query: DiscoverQuery = {};
  const namespace = optionalNamespace(req.namespace);
  const service = optionalService(req.service);
  if (namespace !== undefined) query.namespace = namespace;
  if (service !== undefined) query.service = service;
  if (req.any_health === true) query.healthyOnly = false;
  else if (req.health !== undefined && req.health.length > 0) {
    query.health = req.health.map((h, i) => parseWith(healthSchema, healthFromWire(h), `health[${i}]`) as Health);
  }
  const version = given(req.version);
  const zone = given(req.zone);
  if (version !== undefined) query.version = version;
  if (zone !== undefined) query.zone = zone;
  if (req.metadata !== undefined && Object.keys(req.metadata).length > 0) {
    query.metadata = parseWith(metadataSchema, req.metadata, 'metadata');
  }
  if (req.limit !== undefined && req.limit > 0) query.limit = req.limit;
  return query;
}

export function instanceToWire(inst: Instance): m.WireInstance {
  const lease: m.WireLease = {
    ttl: durationFromMs(inst.lease.ttlMs),
    deregister_critical_after: durationFromMs(inst.lease.deregisterCriticalAfterMs),
    renewed_at: timestampFromMs(inst.lease.renewedAt),
  };
  if (inst.lease.held) lease.held = true;
  if (inst.lease.expiredAt !== undefined) lease.expired_at = timestampFromMs(inst.lease.expiredAt);
  return {
    id: inst.id,
    namespace: inst.namespace,
    service: inst.service,
    address: inst.address,
    port: inst.port,
    protocol: PROTOCOL_TO_WIRE[inst.protocol],
    ...nonEmpty({ version: inst.version, zone: inst.zone, region: inst.region }),
    weight: inst.weight,
    metadata: { ...inst.metadata },
    health: inst.health,
    reported_health: inst.reportedHealth,
    source: SOURCE_TO_WIRE[inst.source],
    lease,
    registered_at: timestampFromMs(inst.registeredAt),
    updated_at: timestampFromMs(inst.updatedAt),
    revision: inst.revision,
  };
}

export function serviceToWire(svc: Service): m.WireService {
  return {
    namespace: svc.namespace,
    name: svc.name,
    config: toStruct(svc.config),
    created_at: timestampFromMs(svc.createdAt),
    revision: svc.revision,
  };
}

export function namespaceToWire(ns: Namespace): m.WireNamespace {
  return { name: ns.name, ...nonEmpty({ description: ns.description }), created_at: timestampFromMs(ns.createdAt), revision: ns.revision };
}

/** A PutServiceRequest's config as JSON for the registry's parser; undefined when absent. */
export function serviceConfigInput(req: m.PutServiceRequest): Record<string, unknown> | undefined {
  return req.config === undefined ? undefined : fromStruct(req.config, 'config');
}
