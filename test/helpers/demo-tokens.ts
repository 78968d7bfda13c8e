/** A token of the demo hub's store with a role and scopes, as POST /api/v1/auth/tokens makes it; returns the secret. */
import { issueToken } from '../../src/auth/token-request.js';
import type { Demo } from '../../src/demo/demo.js';

export async function demoToken(demo: Demo, role: string, scopes: string[]): Promise<string> {
  const { record, secret } = issueToken({ name: `${role} for ${scopes.join(' ')}`, role, scopes }, Date.now());
  await demo.hub.tokens!.add(record);
  return secret;
}
