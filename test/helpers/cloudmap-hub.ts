/**
 * A whole hub with auth on and Cloud Map access keys (their secrets in files, as an operator
 * would configure them), and AWS SDK clients pointed at it with real Signature V4 credentials.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServiceDiscoveryClient, type ServiceDiscoveryClientConfig } from '@aws-sdk/client-servicediscovery';
import { startAuthHub, type AuthHub } from './auth-hub.js';

// The SDK warns once per process that its releases from 2027 need Node 22; this project runs on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface TestKey {
  id: string;
  secret: string;
  role: string;
  scopes: string[];
}

export const ADMIN_KEY: TestKey = { id: 'AKIAOUTRIGGERADMIN01', secret: 'adminSecretKey0123456789abcdefghijklmnop', role: 'admin', scopes: [] };
export const DEMO_OPERATOR: TestKey = { id: 'AKIAOUTRIGGERDEMO001', secret: 'demoSecretKey0123456789abcdefghijklmnopq', role: 'operator', scopes: ['demo.local'] };
export const OTHER_OPERATOR: TestKey = { id: 'AKIAOUTRIGGEROTHER01', secret: 'otherSecretKey0123456789abcdefghijklmnop', role: 'operator', scopes: ['other.local'] };
export const REGION = 'eu-west-1';
export const ACCOUNT_ID = '123456789012';

export interface CloudMapHub extends AuthHub {
  /** The folder of the keys' secret files, one per key id. */
  secrets: string;
  /** An SDK client signing with `key` (the admin key by default); closed with the hub. */
  sdk(key?: Pick<TestKey, 'id' | 'secret'>, config?: Partial<ServiceDiscoveryClientConfig>): ServiceDiscoveryClient;
}

/** The hub's `cloudmap` config for these keys, their secrets written to files in `secrets` (a temp dir the caller removes). */
export function cloudMapConfig(keys: readonly TestKey[]): { cloudmap: Record<string, unknown>; secrets: string } {
  const secrets = mkdtempSync(path.join(tmpdir(), 'outrigger-cloudmap-keys-'));
  const accessKeys = keys.map((k) => {
    const file = path.join(secrets, k.id);
    writeFileSync(file, `${k.secret}\n`, { mode: 0o600 });
    return { access_key_id: k.id, secret_access_key_file: file, role: k.role, scopes: k.scopes };
  });
  return { cloudmap: { region: REGION, account_id: ACCOUNT_ID, access_keys: accessKeys }, secrets };
}

export async function startCloudMapHub(t: { teardown(fn: () => Promise<void> | void): void }, config: Record<string, unknown> = {}, keys: TestKey[] = [ADMIN_KEY, DEMO_OPERATOR, OTHER_OPERATOR]): Promise<CloudMapHub> {
  const { cloudmap, secrets } = cloudMapConfig(keys);
  const hub = await startAuthHub({ cloudmap, ...config });
  const clients: ServiceDiscoveryClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.destroy();
    await hub.close();
    rmSync(secrets, { recursive: true, force: true });
  });
  return {
    ...hub,
    secrets,
    sdk(key = ADMIN_KEY, extra = {}) {
      const client = new ServiceDiscoveryClient({
        endpoint: hub.addresses.http,
        region: REGION,
        credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
        // DiscoverInstances goes to `data-<host>` unless told not to: there is one host here.
        disableHostPrefix: true,
        maxAttempts: 1,
        ...extra,
      });
      clients.push(client);
      return client;
    },
  };
}
