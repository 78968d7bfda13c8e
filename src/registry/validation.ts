import { isIP } from 'node:net';
import { z } from 'zod';
import { durationSchema } from '../common/duration.js';
import { healthSchema } from '../model/health.js';
import { namespaceNameSchema, isHostname, serviceNameSchema } from '../model/names.js';
import { portSchema } from '../model/port.js';
import { protocolSchema } from '../model/protocol.js';
import { SOURCES } from './model.js';

/** Limits on what one instance may carry, so one registration cannot bloat every push. */
export const LIMITS = {
  metadataEntries: 64,
  metadataKeyLength: 128,
  metadataValueLength: 512,
  metadataBytes: 4096,
  idLength: 128,
  descriptionLength: 1024,
} as const;

export const instanceIdSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, { error: 'must start with a letter or digit and contain only letters, digits and . _ : @ -' })
  .max(LIMITS.idLength, { error: `must be at most ${LIMITS.idLength} characters` });

const addressSchema = z
  .string({ error: 'must be a string' })
  .refine((a) => isIP(a) !== 0 || isHostname(a), { error: 'must be an IPv4 address, an IPv6 address or a hostname' });

export const weightSchema = z
  .number({ error: 'must be an integer from 1 to 1000' })
  .int({ error: 'must be an integer from 1 to 1000' })
  .min(1, { error: 'must be an integer from 1 to 1000' })
  .max(1000, { error: 'must be an integer from 1 to 1000' });

const tagSchema = (what: string) =>
  z
    .string({ error: 'must be a string' })
    .max(64, { error: `${what} must be at most 64 characters` })
    .regex(/^[A-Za-z0-9._+-]*$/, { error: `${what} may contain only letters, digits and . _ + -` });

export const metadataSchema = z
  .record(
    z
      .string()
      .max(LIMITS.metadataKeyLength, { error: `keys must be at most ${LIMITS.metadataKeyLength} characters` })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, { error: 'keys must start with a letter or digit and contain only letters, digits and . _ / -' }),
    z.string({ error: 'values must be strings' }).max(LIMITS.metadataValueLength, {
      error: `values must be at most ${LIMITS.metadataValueLength} characters`,
    }),
    { error: 'must be an object of string values' },
  )
  .superRefine((m, ctx) => {
    const keys = Object.keys(m);
    if (keys.length > LIMITS.metadataEntries) {
      ctx.addIssue({ code: 'custom', message: `is too large: at most ${LIMITS.metadataEntries} entries are allowed, got ${keys.length}` });
      return;
    }
    const bytes = Buffer.byteLength(JSON.stringify(m));
    if (bytes > LIMITS.metadataBytes) {
      ctx.addIssue({ code: 'custom', message: `is too large: at most ${LIMITS.metadataBytes} bytes of JSON are allowed, got ${bytes}` });
    }
  });


/**
 * A registration as callers send it (REST body or gRPC message, both snake_case).
 * Omitted lease settings come from the service's config.
 */
export const registerInputSchema = z.strictObject({
  id: instanceIdSchema.optional(),
  service: serviceNameSchema,
  namespace: namespaceNameSchema.optional(),
  address: addressSchema,
  port: portSchema,
  protocol: protocolSchema.default('http'),
  version: tagSchema('version').default(''),
  zone: tagSchema('zone').default(''),
  region: tagSchema('region').default(''),
  weight: weightSchema.default(100),
  metadata: metadataSchema.default({}),
  health: healthSchema.default('HEALTHY'),
  source: z.enum(SOURCES, { error: `must be one of ${SOURCES.join(', ')}` }).default('self'),
  /** 0 means no lease (static or externally managed instances). */
  ttl: durationSchema({ min: 1000, max: 86_400_000, zero: 'no lease' }).optional(),
  deregister_critical_after: durationSchema({ min: 0, max: 30 * 86_400_000 }).optional(),
});

export type RegisterInput = z.input<typeof registerInputSchema>;
export type RegisterRequest = z.output<typeof registerInputSchema>;

export const namespaceInputSchema = z.strictObject({
  name: namespaceNameSchema,
  description: z.string({ error: 'must be a string' }).max(LIMITS.descriptionLength, { error: `must be at most ${LIMITS.descriptionLength} characters` }).default(''),
});
