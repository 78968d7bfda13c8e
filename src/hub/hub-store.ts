import { readFileSync } from 'node:fs';
import type { Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { StoreConfig } from '../config/store-config.js';
import { EtcdStore } from '../registry/etcd-store.js';
import { MemoryStore, type RegistryStore } from '../registry/registry-store.js';

/** The registry store the hub's `store` config names; etcd's TLS files are read here, so a bad one fails the start naming its key. */
export function createHubStore(config: StoreConfig, deps: { clock: Clock; logger: Logger }): RegistryStore {
  if (config.kind === 'memory') return new MemoryStore();
  const read = (key: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const file = config.tls[key];
    if (file === '') return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new OutriggerError('config_invalid', `store.tls.${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, `store.tls.${key}`);
    }
  };
  const ca = read('ca');
  const cert = read('cert');
  const key = read('key');
  return new EtcdStore({
    endpoints: config.endpoints,
    prefix: config.prefix,
    ...(ca !== undefined ? { tls: { ca, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) } } : {}),
    ...(config.auth.username !== '' ? { auth: { username: config.auth.username, password: config.auth.password } } : {}),
    leaseTtlSeconds: Math.ceil(config.lease_ttl / 1000),
    clock: deps.clock,
    logger: deps.logger,
  });
}
