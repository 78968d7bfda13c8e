import { z } from 'zod';
import { parseDuration } from '../common/duration.js';
import { OutriggerError } from '../common/errors.js';
import { parseWith, showValue } from '../model/parse-input.js';

/**
 * The health check section of the sidecar config, as users write it in YAML (snake_case),
 * parsed into camelCase objects with durations in milliseconds. Every bad value fails here,
 * at parse time, with a message naming the field, the value and what is allowed.
 */

export type InitialStatus = 'healthy' | 'unknown';

/** Settings every check has: how many results in a row flip the state, and the start state. */
export interface ThresholdSettings {
  /** Consecutive passing results that make the instance HEALTHY. */
  rise: number;
  /** Consecutive failing results that make the instance UNHEALTHY. */
  fall: number;
  initialStatus: InitialStatus;
}

/** Settings of checks the sidecar runs itself on a schedule (all but TTL). */
export interface ScheduleSettings extends ThresholdSettings {
  intervalMs: number;
  timeoutMs: number;
  /** Share of the interval (0–1) added at random to each wait, so probes do not move in lockstep. */
  jitter: number;
}

/** Where a network check connects; the sidecar fills in the app's own port when `port` is absent. */
export interface TargetSettings {
  address?: string;
  port?: number;
}

/** An inclusive range of HTTP status codes. */
export interface StatusRange {
  min: number;
  max: number;
}

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface HttpCheckConfig extends ScheduleSettings, TargetSettings {
  type: 'http';
  scheme: 'http' | 'https';
  method: HttpMethod;
  path: string;
  /** The Host header (and TLS server name); defaults to address:port. */
  host?: string;
  headers: Record<string, string>;
  expectedStatuses: StatusRange[];
  tlsSkipVerify: boolean;
}

export interface TcpCheckConfig extends ScheduleSettings, TargetSettings {
  type: 'tcp';
  send?: string;
  /** A substring (string) or pattern (RegExp) the reply must contain. */
  expect?: string | RegExp;
}

export interface GrpcCheckConfig extends ScheduleSettings, TargetSettings {
  type: 'grpc';
  /** The service name asked about; empty means the server as a whole. */
  service: string;
}

export interface ExecCheckConfig extends ScheduleSettings {
  type: 'exec';
  /** argv: command[0] is run directly, without a shell, unless `shell` is set. */
  command: string[];
  shell: boolean;
}

export interface TtlCheckConfig extends ThresholdSettings {
  type: 'ttl';
  ttlMs: number;
}

export type HealthCheckConfig = HttpCheckConfig | TcpCheckConfig | GrpcCheckConfig | ExecCheckConfig | TtlCheckConfig;
/** The check types the sidecar probes on a schedule. */
export type ProbingCheckConfig = Exclude<HealthCheckConfig, TtlCheckConfig>;
export type HealthCheckType = HealthCheckConfig['type'];

export const HEALTH_CHECK_TYPES: readonly HealthCheckType[] = ['http', 'tcp', 'grpc', 'exec', 'ttl'];

export const DEFAULTS = {
  intervalMs: 10_000,
  timeoutMs: 5_000,
  jitter: 0,
  rise: 2,
  fall: 3,
  /** The app's own TTL report is authoritative, so by default one report (or one expiry) decides. */
  ttlRise: 1,
  ttlFall: 1,
  expectedStatuses: [{ min: 200, max: 399 }] as StatusRange[],
} as const;

// ---------------------------------------------------------------- durations

const DURATION_HELP = 'a duration such as "500ms", "5s", "1m" or a number of seconds';

/**
 * Milliseconds from a string like "500ms", "1.5s", "1m", or a bare number of seconds (the
 * convention of every duration in Outrigger's config); undefined if neither.
 */
function toMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  return typeof value === 'string' ? parseDuration(value) : undefined;
}

function duration(opts: { default?: number; min: number }) {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): number => {
      if (value === undefined) {
        if (opts.default !== undefined) return opts.default;
        ctx.addIssue({ code: 'custom', message: `is required (${DURATION_HELP})`, input: value });
        return z.NEVER;
      }
      const ms = toMs(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `must be ${DURATION_HELP}`, input: value });
        return z.NEVER;
      }
      if (ms < opts.min) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${opts.min}ms`, input: value });
        return z.NEVER;
      }
      return ms;
    });
}

// ---------------------------------------------------------------- shared fields

const jitter = z
  .unknown()
  .optional()
  .transform((value, ctx): number => {
    if (value === undefined) return DEFAULTS.jitter;
    let share: number | undefined;
    if (typeof value === 'number') share = value;
    else if (typeof value === 'string' && /^\d+(\.\d+)?%$/.test(value.trim())) share = Number(value.trim().slice(0, -1)) / 100;
    if (share === undefined || !Number.isFinite(share) || share < 0 || share > 1) {
      ctx.addIssue({ code: 'custom', message: 'must be a share of the interval between 0 and 1 (e.g. 0.1) or a percentage such as "10%"', input: value });
      return z.NEVER;
    }
    return share;
  });

const threshold = (def: number) => z.number().int().min(1).max(1000).default(def);
const initialStatus = z.enum(['healthy', 'unknown']).default('unknown');
const port = z.number().int().min(1).max(65535).optional();
const address = z
  .string()
  .regex(/^[A-Za-z0-9.:_\-[\]%]+$/, { error: 'must be a host name or IP address' })
  .optional();

const scheduleFields = {
  interval: duration({ default: DEFAULTS.intervalMs, min: 1 }),
  timeout: duration({ default: DEFAULTS.timeoutMs, min: 1 }),
  jitter,
  rise: threshold(DEFAULTS.rise),
  fall: threshold(DEFAULTS.fall),
  initial_status: initialStatus,
};

interface ScheduleInput {
  interval: number;
  timeout: number;
  jitter: number;
  rise: number;
  fall: number;
  initial_status: InitialStatus;
}

const scheduleOf = (o: ScheduleInput): ScheduleSettings => ({
  intervalMs: o.interval,
  timeoutMs: o.timeout,
  jitter: o.jitter,
  rise: o.rise,
  fall: o.fall,
  initialStatus: o.initial_status,
});

const targetOf = (o: { address?: string | undefined; port?: number | undefined }): TargetSettings => ({
  ...(o.address !== undefined ? { address: o.address } : {}),
  ...(o.port !== undefined ? { port: o.port } : {}),
});

// ---------------------------------------------------------------- http

const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE_BAD_RE = /[\r\n\0]/;

const headers = z
  .record(z.string(), z.string())
  .default({})
  .superRefine((h, ctx) => {
    for (const [name, value] of Object.entries(h)) {
      if (!HEADER_NAME_RE.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid HTTP header name (letters, digits and !#$%&\'*+.^_`|~-)', input: name });
      } else if (name.toLowerCase() === 'host') {
        ctx.addIssue({ code: 'custom', path: [name], message: 'set the Host header with the check\'s `host` field instead', input: value });
      } else if (HEADER_VALUE_BAD_RE.test(value)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'must not contain CR, LF or NUL', input: value });
      }
    }
  });

const STATUS_HELP = 'a status code (100–599), a range such as "200-399", or a class such as "2xx"';

/** One entry of expected_statuses: 204, "204", "200-399" or "2xx". */
function toStatusRange(value: unknown): StatusRange | undefined {
  const valid = (r: StatusRange): StatusRange | undefined =>
    Number.isInteger(r.min) && Number.isInteger(r.max) && r.min >= 100 && r.max <= 599 && r.min <= r.max ? r : undefined;
  if (typeof value === 'number') return valid({ min: value, max: value });
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  let m = /^(\d{3})$/.exec(s);
  if (m !== null) return valid({ min: Number(m[1]), max: Number(m[1]) });
  m = /^(\d{3})\s*-\s*(\d{3})$/.exec(s);
  if (m !== null) return valid({ min: Number(m[1]), max: Number(m[2]) });
  m = /^([1-5])xx$/i.exec(s);
  if (m !== null) return valid({ min: Number(m[1]) * 100, max: Number(m[1]) * 100 + 99 });
  return undefined;
}

const expectedStatuses = z
  .array(z.unknown())
  .min(1)
  .optional()
  .transform((list, ctx): StatusRange[] => {
    if (list === undefined) return DEFAULTS.expectedStatuses.map((r) => ({ ...r }));
    const ranges: StatusRange[] = [];
    list.forEach((entry, i) => {
      const r = toStatusRange(entry);
      if (r === undefined) ctx.addIssue({ code: 'custom', path: [i], message: `must be ${STATUS_HELP}`, input: entry });
      else ranges.push(r);
    });
    return ranges;
  });

const httpSchema = z
  .strictObject({
    type: z.literal('http'),
    scheme: z.enum(['http', 'https']).default('http'),
    method: z
      .string()
      .transform((m) => m.toUpperCase())
      .pipe(z.enum(HTTP_METHODS))
      .default('GET'),
    path: z
      .string()
      .regex(/^\/[^\s\x00-\x1f\x7f]*$/, { error: 'must start with "/" and contain no spaces or control characters' })
      .default('/'),
    address,
    port,
    host: z
      .string()
      .regex(/^[A-Za-z0-9.\-_:[\]]+$/, { error: 'must be a host name, optionally with :port' })
      .optional(),
    headers,
    expected_statuses: expectedStatuses,
    tls_skip_verify: z.boolean().default(false),
    ...scheduleFields,
  })
  .transform(
    (o): HttpCheckConfig => ({
      type: 'http',
      scheme: o.scheme,
      method: o.method,
      path: o.path,
      ...targetOf(o),
      ...(o.host !== undefined ? { host: o.host } : {}),
      headers: o.headers,
      expectedStatuses: o.expected_statuses,
      tlsSkipVerify: o.tls_skip_verify,
      ...scheduleOf(o),
    }),
  );

// ---------------------------------------------------------------- tcp

const tcpSchema = z
  .strictObject({
    type: z.literal('tcp'),
    address,
    port,
    send: z.string().min(1).optional(),
    expect: z.string().min(1).optional(),
    expect_regex: z
      .string()
      .min(1)
      .optional()
      .transform((src, ctx): RegExp | undefined => {
        if (src === undefined) return undefined;
        try {
          return new RegExp(src);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `must be a valid regular expression (${(err as Error).message})`, input: src });
          return z.NEVER;
        }
      }),
    ...scheduleFields,
  })
  .superRefine((o, ctx) => {
    if (o.expect !== undefined && o.expect_regex !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['expect_regex'], message: 'cannot be combined with `expect`; use one of them', input: o.expect_regex.source });
    }
  })
  .transform(
    (o): TcpCheckConfig => ({
      type: 'tcp',
      ...targetOf(o),
      ...(o.send !== undefined ? { send: o.send } : {}),
      ...(o.expect !== undefined ? { expect: o.expect } : o.expect_regex !== undefined ? { expect: o.expect_regex } : {}),
      ...scheduleOf(o),
    }),
  );

// ---------------------------------------------------------------- grpc

const grpcSchema = z
  .strictObject({
    type: z.literal('grpc'),
    address,
    port,
    service: z.string().default(''),
    ...scheduleFields,
  })
  .transform((o): GrpcCheckConfig => ({ type: 'grpc', ...targetOf(o), service: o.service, ...scheduleOf(o) }));

// ---------------------------------------------------------------- exec

const execSchema = z
  .strictObject({
    type: z.literal('exec'),
    command: z.array(z.string()).min(1),
    shell: z.boolean().default(false),
    ...scheduleFields,
  })
  .superRefine((o, ctx) => {
    if (o.command[0] !== undefined && o.command[0].trim() === '') {
      ctx.addIssue({ code: 'custom', path: ['command', 0], message: 'must name the program to run', input: o.command[0] });
    }
  })
  .transform((o): ExecCheckConfig => ({ type: 'exec', command: o.command, shell: o.shell, ...scheduleOf(o) }));

// ---------------------------------------------------------------- ttl

const ttlSchema = z
  .strictObject({
    type: z.literal('ttl'),
    ttl: duration({ min: 1 }),
    rise: threshold(DEFAULTS.ttlRise),
    fall: threshold(DEFAULTS.ttlFall),
    initial_status: initialStatus,
  })
  .transform((o): TtlCheckConfig => ({ type: 'ttl', ttlMs: o.ttl, rise: o.rise, fall: o.fall, initialStatus: o.initial_status }));

const SCHEMAS = { http: httpSchema, tcp: tcpSchema, grpc: grpcSchema, exec: execSchema, ttl: ttlSchema } as const;

function configInvalid(field: string, message: string): OutriggerError {
  return new OutriggerError('config_invalid', message, field);
}

/**
 * Parses one health check as written in the config. `field` is where it sits in the whole
 * document, used to name fields in errors (e.g. `services[0].health_check`).
 * Throws OutriggerError('config_invalid') naming the first bad field; the message lists all.
 */
export function parseHealthCheck(input: unknown, field = 'health_check'): HealthCheckConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw configInvalid(field, `${field}: must be a mapping with a \`type\` (one of ${HEALTH_CHECK_TYPES.join(', ')}), got ${showValue(input)}`);
  }
  const type: unknown = (input as Record<string, unknown>).type;
  if (typeof type !== 'string' || !(HEALTH_CHECK_TYPES as readonly string[]).includes(type)) {
    throw configInvalid(`${field}.type`, `${field}.type: must be one of ${HEALTH_CHECK_TYPES.join(', ')}, got ${showValue(type)}`);
  }
  return parseWith(SCHEMAS[type as HealthCheckType], input, field, 'config_invalid');
}
