/**
 * The first admin token. On a hub's first start with auth on (no tokens file yet), a token with
 * role admin is made, its secret written to a file only the hub's user can read, and its hash to
 * the tokens file; the log names the file and never the secret (Consul's `acl bootstrap`).
 * Deleting the tokens file makes the next start bootstrap again.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { writeTokenFile } from './token-file.js';
import { issueToken } from './token-request.js';

export const BOOTSTRAP_TOKEN_ID = 'bootstrap-admin';

/** Writes a bootstrap admin token when `tokensPath` does not exist; says whether it did. */
export async function bootstrapAdminToken(tokensPath: string, secretPath: string, now: number): Promise<boolean> {
  if (existsSync(tokensPath)) return false;
  for (const dir of new Set([path.dirname(tokensPath), path.dirname(secretPath)])) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { record, secret } = issueToken({ id: BOOTSTRAP_TOKEN_ID, name: 'bootstrap admin', role: 'admin' }, now);
  // The secret first: a crash in between leaves no tokens file, so the next start tries again.
  await writeFileAtomic(secretPath, `${secret}\n`, { mode: 0o600 });
  await writeTokenFile(tokensPath, [record]);
  return true;
}
