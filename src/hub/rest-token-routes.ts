import type { StaticTokens } from '../auth/static-tokens.js';
import type { TokenRecord } from '../auth/token-file.js';
import { issueToken } from '../auth/token-request.js';
import { tokenIdSchema } from '../auth/token-file.js';
import type { Identity } from '../auth/identity.js';
import type { Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import { reply } from '../http/response.js';
import { objectBody, pathParam, type RestRoute } from './rest-context.js';

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

function tokenToJson(t: TokenRecord): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    scopes: t.scopes.map((s) => s.text),
    ...(t.reads !== undefined ? { reads: t.reads.map((s) => s.text) } : {}),
    created_at: iso(t.createdAt),
    expires_at: iso(t.expiresAt),
  };
}

function identityToJson(i: Identity): Record<string, unknown> {
  return { name: i.name, kind: i.kind, role: i.role, scopes: i.scopes.map((s) => s.text), reads: i.reads.map((s) => s.text), expires_at: iso(i.expiresAt) };
}

/**
 * `GET /api/v1/auth/whoami` for every caller, and the static tokens for admins: create (the
 * secret is in the answer once, and nowhere else), list, revoke. Tokens live in the tokens file,
 * so a hand edit and the API see the same set.
 */
export function tokenRoutes(tokens: StaticTokens | undefined, clock: Clock): RestRoute[] {
  const store = (): StaticTokens => {
    if (tokens === undefined) throw new OutriggerError('failed_precondition', 'this hub keeps no static tokens: auth is disabled (auth.enabled: false)');
    return tokens;
  };
  return [
    {
      method: 'GET',
      pattern: '/api/v1/auth/whoami',
      handle(ctx) {
        return reply(200, { data: identityToJson(ctx.caller.identity) });
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/auth/tokens',
      handle(ctx) {
        ctx.caller.require('token:admin', {});
        const all = store().list();
        return reply(200, { data: { tokens: all.map(tokenToJson), count: all.length } });
      },
    },
    {
      method: 'POST',
      pattern: '/api/v1/auth/tokens',
      async handle(ctx) {
        ctx.caller.require('token:admin', {});
        const body = await objectBody(ctx, true);
        const { record, secret } = issueToken(body, clock.now());
        await store().add(record);
        return reply(201, { data: { token: tokenToJson(record), secret } }, { location: `/api/v1/auth/tokens/${encodeURIComponent(record.id)}` });
      },
    },
    {
      method: 'DELETE',
      pattern: '/api/v1/auth/tokens/{id}',
      async handle(ctx) {
        ctx.caller.require('token:admin', {});
        const id = pathParam(ctx, 'id', tokenIdSchema);
        return reply(200, { data: tokenToJson(await store().revoke(id)) });
      },
    },
  ];
}
