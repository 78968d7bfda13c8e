import { createHash, randomBytes } from 'node:crypto';

/**
 * Static token secrets. The prefix lets secret scanners and people recognise an Outrigger token;
 * 32 random bytes make guessing hopeless. Only the SHA-256 of a secret is ever stored.
 */
export const TOKEN_PREFIX = 'ort_';

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** A token's public id: how it is listed, revoked and named in logs. */
export function newTokenId(): string {
  return `tok-${randomBytes(6).toString('hex')}`;
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
