/**
 * A request to create a static token (the token API), and the record it becomes. The secret is
 * made here, returned once, and never kept: the record holds its SHA-256.
 */
import { z } from 'zod';
import { durationSchema } from '../common/duration.js';
import { parseWith } from '../model/parse-input.js';
import { tokenIdSchema, tokenNameSchema, type TokenRecord } from './token-file.js';
import { hashToken, newTokenId, newTokenSecret } from './token-secret.js';
import { ROLES } from './roles.js';
import { scopeSchema } from './scope.js';

const MAX_TTL_MS = 10 * 365 * 24 * 3_600_000;

export const tokenRequestSchema = z
  .strictObject({
    id: tokenIdSchema.optional(),
    name: tokenNameSchema,
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    scopes: z.array(scopeSchema).max(256, { error: 'must have at most 256 scopes' }).default([]),
    reads: z.array(scopeSchema).max(256, { error: 'must have at most 256 scopes' }).optional(),
    ttl: durationSchema({ min: 60_000, max: MAX_TTL_MS }).optional().describe('How long the token is valid; forever when left out'),
  })
  .superRefine((r, ctx) => {
    if (r.role !== 'admin' && r.scopes.length === 0) ctx.addIssue({ code: 'custom', path: ['scopes'], message: `must name at least one scope for role ${r.role}, such as "shop.local" or "shop.local/cart"` });
    if (r.reads !== undefined && r.role !== 'service') ctx.addIssue({ code: 'custom', path: ['reads'], message: 'is for service tokens only; other roles read within their scopes' });
  });

/** Validates the request and makes the token: the record to store, and the secret to hand out once. */
export function issueToken(input: unknown, now: number): { record: TokenRecord; secret: string } {
  const req = parseWith(tokenRequestSchema, input);
  const secret = newTokenSecret();
  const record: TokenRecord = {
    id: req.id ?? newTokenId(),
    name: req.name,
    sha256: hashToken(secret),
    role: req.role,
    scopes: req.scopes,
    ...(req.reads !== undefined ? { reads: req.reads } : {}),
    createdAt: now,
    ...(req.ttl !== undefined ? { expiresAt: now + req.ttl } : {}),
  };
  return { record, secret };
}
