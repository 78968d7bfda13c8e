/**
 * The static tokens file: YAML, one entry per token, holding each secret's SHA-256 and never the
 * secret itself. Operators may edit it by hand (the hub reloads it) and the token API writes it.
 *
 *   tokens:
 *     - id: tok-3f2a9c1b7d4e
 *       name: ci deployer
 *       sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *       role: operator
 *       scopes: ["shop.local", "team-a-*"]
 *       expires_at: "2027-01-01T00:00:00Z"
 */
import { readFileSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import YAML from 'yaml';
import { z } from 'zod';
import { OutriggerError } from '../common/errors.js';
import { parseWith } from '../model/parse-input.js';
import { ROLES, type Role } from './roles.js';
import { scopeSchema, type Scope } from './scope.js';

export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly sha256: string;
  readonly role: Role;
  readonly scopes: readonly Scope[];
  /** `service` tokens only: what it may read; everything when left out. */
  readonly reads?: readonly Scope[];
  readonly createdAt?: number;
  readonly expiresAt?: number;
}

const isoTime = z
  .string({ error: 'must be an ISO-8601 time such as "2027-01-01T00:00:00Z"' })
  .refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be an ISO-8601 time such as "2027-01-01T00:00:00Z"' })
  .transform((s) => Date.parse(s));

export const tokenIdSchema = z
  .string({ error: 'must be a token id' })
  .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be a token id: 1-64 letters, digits, ".", "_" or "-"' });

export const tokenNameSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(128, { error: 'must be at most 128 characters' })
  .regex(/^[^\p{Cc}]*$/u, { error: 'must not contain control characters' });

const entrySchema = z
  .strictObject({
    id: tokenIdSchema,
    name: tokenNameSchema.optional(),
    sha256: z.string({ error: 'must be the SHA-256 of the token, 64 hex digits' }).regex(/^[0-9a-f]{64}$/, { error: 'must be the SHA-256 of the token, 64 lowercase hex digits' }),
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    scopes: z.array(scopeSchema).max(256, { error: 'must have at most 256 scopes' }).default([]),
    reads: z.array(scopeSchema).max(256, { error: 'must have at most 256 scopes' }).optional(),
    created_at: isoTime.optional(),
    expires_at: isoTime.optional(),
  })
  .superRefine((e, ctx) => {
    if (e.reads !== undefined && e.role !== 'service') ctx.addIssue({ code: 'custom', path: ['reads'], message: 'is for service tokens only; other roles read within their scopes' });
    if (e.role !== 'admin' && e.scopes.length === 0) ctx.addIssue({ code: 'custom', path: ['scopes'], message: `must name at least one scope for role ${e.role}` });
  });

const fileSchema = z.strictObject({
  tokens: z
    .array(entrySchema)
    .nullable()
    .default([])
    .transform((a) => a ?? [])
    .superRefine((list, ctx) => {
      const ids = new Set<string>();
      const hashes = new Set<string>();
      list.forEach((t, i) => {
        if (ids.has(t.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `must be unique; ${t.id} appears twice` });
        if (hashes.has(t.sha256)) ctx.addIssue({ code: 'custom', path: [i, 'sha256'], message: 'must be unique; the same secret appears twice' });
        ids.add(t.id);
        hashes.add(t.sha256);
      });
    }),
});

const HEADER = `# Outrigger hub tokens. Only the SHA-256 of each secret is kept here; the hub reloads this
# file when it changes. Add a token by hand with: printf %s "$TOKEN" | sha256sum
`;

/** Parses the file's text; errors name the file and the field (`tokens[2].role`). */
export function parseTokenFile(text: string, path: string): TokenRecord[] {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : YAML.parse(text);
  } catch (err) {
    throw new OutriggerError('config_invalid', `${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = parseWith(fileSchema, raw ?? {}, '', 'config_invalid');
  return parsed.tokens.map((e) => ({
    id: e.id,
    name: e.name ?? e.id,
    sha256: e.sha256,
    role: e.role,
    scopes: e.scopes,
    ...(e.reads !== undefined ? { reads: e.reads } : {}),
    ...(e.created_at !== undefined ? { createdAt: e.created_at } : {}),
    ...(e.expires_at !== undefined ? { expiresAt: e.expires_at } : {}),
  }));
}

export function readTokenFile(path: string): TokenRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OutriggerError('config_invalid', `auth.tokens_file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'auth.tokens_file');
  }
  try {
    return parseTokenFile(text, path);
  } catch (err) {
    if (!(err instanceof OutriggerError)) throw err;
    throw new OutriggerError('config_invalid', `auth.tokens_file ${path}: ${err.message}`, 'auth.tokens_file');
  }
}

function toEntry(t: TokenRecord): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    sha256: t.sha256,
    role: t.role,
    scopes: t.scopes.map((s) => s.text),
    ...(t.reads !== undefined ? { reads: t.reads.map((s) => s.text) } : {}),
    ...(t.createdAt !== undefined ? { created_at: new Date(t.createdAt).toISOString() } : {}),
    ...(t.expiresAt !== undefined ? { expires_at: new Date(t.expiresAt).toISOString() } : {}),
  };
}

/** Writes the whole file at once (a reader never sees half of it), readable only by its owner. */
export async function writeTokenFile(path: string, tokens: readonly TokenRecord[]): Promise<void> {
  const body = YAML.stringify({ tokens: tokens.map(toEntry) }, { lineWidth: 0 });
  await writeFileAtomic(path, HEADER + body, { mode: 0o600 });
}
