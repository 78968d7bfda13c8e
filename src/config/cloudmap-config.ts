/**
 * The hub's AWS Cloud Map API (`POST /` on the HTTP port with `X-Amz-Target`): where it says it
 * runs (region and account in its ARNs), and the access keys whose Signature V4 it accepts,
 * each mapped to a role and scopes like any other identity. Secrets are read from files.
 */
import { z } from 'zod';
import { ROLES } from '../auth/roles.js';
import { scopeSchema } from '../auth/scope.js';

export const accessKeySchema = z
  .strictObject({
    access_key_id: z
      .string({ error: 'must be an access key id: 16 to 128 capital letters and digits' })
      .regex(/^[A-Z0-9]{16,128}$/, { error: 'must be an access key id: 16 to 128 capital letters and digits' }),
    secret_access_key_file: z.string({ error: 'must be a path to a file holding the secret access key' }).min(1, { error: 'must be a path to a file holding the secret access key' }),
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    scopes: z.array(scopeSchema).default([]),
    reads: z.array(scopeSchema).optional(),
  })
  .superRefine((k, ctx) => {
    if (k.role !== 'admin' && k.scopes.length === 0) ctx.addIssue({ code: 'custom', path: ['scopes'], message: `must name at least one scope for role ${k.role}` });
    if (k.reads !== undefined && k.role !== 'service') ctx.addIssue({ code: 'custom', path: ['reads'], message: 'is for the service role only' });
  });

export type AccessKeyConfig = z.output<typeof accessKeySchema>;

export const cloudMapConfigSchema = z.strictObject({
  enabled: z.boolean({ error: 'must be true or false' }).default(true).describe('Serve the AWS Cloud Map API on the HTTP port; without access keys every call is refused'),
  region: z
    .string({ error: 'must be an AWS region name such as us-east-1' })
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, { error: 'must be an AWS region name such as us-east-1' })
    .default('us-east-1')
    .describe('Region clients sign for and ARNs name'),
  account_id: z
    .string({ error: 'must be 12 digits' })
    .regex(/^\d{12}$/, { error: 'must be 12 digits' })
    .default('000000000000')
    .describe('Account id in the ARNs'),
  access_keys: z
    .array(accessKeySchema)
    .refine((keys) => new Set(keys.map((k) => k.access_key_id)).size === keys.length, { error: 'must not name an access key id twice' })
    .default([])
    .describe('Access keys accepted in Signature V4: [{access_key_id, secret_access_key_file, role, scopes, reads?}]'),
});

export type CloudMapConfig = z.output<typeof cloudMapConfigSchema>;
