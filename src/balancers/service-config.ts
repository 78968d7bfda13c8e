/**
 * Service configs as the sidecar's parts read them (from xDS, the peer cache, a static upstream):
 * checked against the built-in policies, the only ones a sidecar can run. The hub's registry is
 * handed its policy registry instead.
 */
import { parseServiceConfig, type ServiceConfig } from '../model/service-config.js';
import { createPolicyRegistry } from './builtin-policies.js';

const builtins = createPolicyRegistry();

export function parseBuiltinServiceConfig(input: unknown, prefix = 'config'): ServiceConfig {
  return parseServiceConfig(input, builtins, prefix);
}
