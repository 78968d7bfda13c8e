/**
 * Consul's agent registration (`PUT /v1/agent/service/register`) mapped onto the registry: the
 * service's ID, Name, Address, Port, Meta and Weights become the instance's own fields; Tags
 * and the checks' ids and statuses go into reserved metadata (consul-metadata.ts); a TTL check
 * becomes the instance's lease (its TTL the lease's ttl, DeregisterCriticalServiceAfter its
 * deregister_critical_after). HTTP, TCP, gRPC and script checks are recorded, not run: the
 * hub runs no checks, the owner of the instance (a sidecar) does and reports health.
 */
import { z } from 'zod';
import { parseWith } from '../model/parse-input.js';
import type { Instance } from '../registry/model.js';
import { CHECKS_KEY, CHECK_STATUSES, TAGS_KEY, healthOf, userMeta, tagsOf, type CheckType, type StoredCheck } from './consul-metadata.js';

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("10s", "1m30s", "500ms") in milliseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  if (!GO_DURATION.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * GO_UNITS[m[2]!]!;
  return Math.round(ms);
}

const duration = (min: number, max: number, what: string) =>
  z.string({ error: `must be a duration such as "10s" or "1m30s" (${what})` }).transform((text, ctx) => {
    const ms = parseGoDuration(text);
    if (ms === undefined || ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `must be a duration such as "10s" or "1m30s" (${what})` });
      return z.NEVER;
    }
    return ms;
  });

const checkSchema = z.object({
  CheckID: z.string({ error: 'must be a string' }).regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, { error: 'must be 1 to 128 letters, digits and . _ : @ -' }).optional(),
  Name: z.string({ error: 'must be a string' }).max(256, { error: 'must be at most 256 characters' }).optional(),
  TTL: duration(1000, 86_400_000, '1s to 24h').optional(),
  HTTP: z.string({ error: 'must be a URL' }).min(1, { error: 'must be a URL' }).optional(),
  TCP: z.string({ error: 'must be host:port' }).min(1, { error: 'must be host:port' }).optional(),
  GRPC: z.string({ error: 'must be host:port[/service]' }).min(1, { error: 'must be host:port[/service]' }).optional(),
  Args: z.array(z.string({ error: 'must be a list of strings' }), { error: 'must be a list of strings' }).min(1, { error: 'must name a command' }).optional(),
  Interval: duration(1, 86_400_000, 'up to 24h').optional(),
  Timeout: duration(1, 86_400_000, 'up to 24h').optional(),
  DeregisterCriticalServiceAfter: duration(0, 30 * 86_400_000, '0s to 720h').optional(),
  Status: z.enum(CHECK_STATUSES, { error: `must be one of ${CHECK_STATUSES.join(', ')}` }).optional(),
  Notes: z.string().optional(),
});
type CheckInput = z.output<typeof checkSchema>;

const registerSchema = z.object({
  Name: z.string({ error: 'is required: the service name, a DNS label' }).min(1, { error: 'is required: the service name, a DNS label' }),
  ID: z.string({ error: 'must be a string' }).optional(),
  Tags: z
    .array(z.string({ error: 'must be a list of strings' }).max(255, { error: 'must hold tags of at most 255 characters' }), { error: 'must be a list of strings' })
    .max(64, { error: 'must hold at most 64 tags' })
    .optional(),
  Address: z.string({ error: 'must be a string' }).optional(),
  Port: z.number({ error: 'must be an integer from 1 to 65535' }).optional(),
  Meta: z
    .record(z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, { error: 'keys must be 1 to 128 letters, digits, _ and -' }), z.string({ error: 'values must be strings' }), { error: 'must be an object of string values' })
    .optional(),
  Weights: z.object({ Passing: z.number({ error: 'must be an integer from 1 to 1000' }).int({ error: 'must be an integer from 1 to 1000' }).min(1, { error: 'must be an integer from 1 to 1000' }).max(1000, { error: 'must be an integer from 1 to 1000' }), Warning: z.number().optional() }).optional(),
  Check: checkSchema.optional(),
  Checks: z.array(checkSchema, { error: 'must be a list of checks' }).max(16, { error: 'must hold at most 16 checks' }).optional(),
  Namespace: z.string({ error: 'must be a string' }).optional(),
  Partition: z.string({ error: 'must be a string' }).optional(),
});
export type ConsulRegistration = z.output<typeof registerSchema>;

export function parseRegistration(body: unknown): ConsulRegistration {
  return parseWith(registerSchema, body);
}

function checkType(c: CheckInput, field: string): CheckType {
  if (c.TTL !== undefined) return 'ttl';
  if (c.Interval === undefined) throw new Error(`${field}: must set TTL, or Interval with one of HTTP, TCP, GRPC or Args`);
  if (c.HTTP !== undefined) return 'http';
  if (c.TCP !== undefined) return 'tcp';
  if (c.GRPC !== undefined) return 'grpc';
  if (c.Args !== undefined) return 'script';
  throw new Error(`${field}: must set one of TTL, HTTP, TCP, GRPC or Args (with Interval)`);
}

/**
 * The registry input for a Consul registration (throws an Error naming the field for a check
 * that is neither TTL nor one of the kinds a sidecar runs). The TTL of a TTL check is the
 * lease's; without one the instance has no lease, as an agent's service stays until removed.
 */
export function registrationInput(reg: ConsulRegistration, namespace: string, peerAddress: string): Record<string, unknown> {
  const id = reg.ID !== undefined && reg.ID !== '' ? reg.ID : reg.Name;
  const inputs: Array<{ c: CheckInput; field: string; defaultId: string }> = [];
  if (reg.Check !== undefined) inputs.push({ c: reg.Check, field: 'Check', defaultId: `service:${id}` });
  (reg.Checks ?? []).forEach((c, i) => inputs.push({ c, field: `Checks[${i}]`, defaultId: `service:${id}:${i + 1}` }));
  const checks: StoredCheck[] = [];
  let ttl: number | undefined;
  let deregisterAfter: number | undefined;
  for (const { c, field, defaultId } of inputs) {
    const type = checkType(c, field);
    // Consul starts a check critical until it first passes; the hub runs no HTTP/TCP/gRPC/script check, so those start passing unless Status says otherwise.
    checks.push({ id: c.CheckID ?? defaultId, name: c.Name ?? `Service '${reg.Name}' check`, type, status: c.Status ?? (type === 'ttl' ? 'critical' : 'passing') });
    if (c.TTL !== undefined) ttl = Math.min(ttl ?? Infinity, c.TTL);
    if (c.DeregisterCriticalServiceAfter !== undefined) deregisterAfter = Math.min(deregisterAfter ?? Infinity, c.DeregisterCriticalServiceAfter);
  }
  if (new Set(checks.map((c) => c.id)).size !== checks.length) throw new Error('Checks: each CheckID must be unique');
  const metadata: Record<string, string> = { ...(reg.Meta ?? {}) };
  if ((reg.Tags ?? []).length > 0) metadata[TAGS_KEY] = JSON.stringify(reg.Tags);
  if (checks.length > 0) metadata[CHECKS_KEY] = JSON.stringify(checks);
  return {
    id,
    service: reg.Name,
    namespace,
    address: reg.Address !== undefined && reg.Address !== '' ? reg.Address : peerAddress,
    port: reg.Port,
    weight: reg.Weights?.Passing ?? 100,
    metadata,
    health: healthOf(checks),
    source: 'self',
    ttl: `${ttl ?? 0}ms`,
    ...(deregisterAfter !== undefined ? { deregister_critical_after: `${deregisterAfter}ms` } : {}),
  };
}

/** The registration that puts `inst` back as it is, with new checks (a TTL check's update). */
export function reregistration(inst: Instance, checks: readonly StoredCheck[]): Record<string, unknown> {
  const metadata = { ...userMeta(inst), ...(tagsOf(inst).length > 0 ? { [TAGS_KEY]: JSON.stringify(tagsOf(inst)) } : {}), [CHECKS_KEY]: JSON.stringify(checks) };
  return {
    id: inst.id,
    service: inst.service,
    namespace: inst.namespace,
    address: inst.address,
    port: inst.port,
    protocol: inst.protocol,
    version: inst.version,
    zone: inst.zone,
    region: inst.region,
    weight: inst.weight,
    metadata,
    health: inst.reportedHealth === 'DRAINING' ? 'DRAINING' : healthOf(checks),
    source: inst.source,
    // As strings with a unit: a bare number is read as seconds.
    ttl: `${inst.lease.ttlMs}ms`,
    deregister_critical_after: `${inst.lease.deregisterCriticalAfterMs}ms`,
  };
}

