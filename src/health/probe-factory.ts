import { OutriggerError } from '../common/errors.js';
import type { ProbingCheckConfig } from './check-config.js';
import { ExecProbe } from './exec-check.js';
import { GrpcProbe } from './grpc-check.js';
import { HttpProbe } from './http-check.js';
import type { HealthProbe } from './probe.js';
import { TcpProbe } from './tcp-check.js';

/** Where network checks connect when the check itself does not say: the app this sidecar serves. */
export interface ProbeTarget {
  address?: string;
  port?: number;
}

/** The sidecar probes the app in its own pod, so loopback is the natural default. */
export const DEFAULT_PROBE_ADDRESS = '127.0.0.1';

function resolveTarget(config: { address?: string; port?: number }, target: ProbeTarget, field: string): { address: string; port: number } {
  const port = config.port ?? target.port;
  if (port === undefined) {
    throw new OutriggerError('config_invalid', `${field}.port: is required because the instance has no port to default to`, `${field}.port`);
  }
  return { address: config.address ?? target.address ?? DEFAULT_PROBE_ADDRESS, port };
}

/** Builds the probe for a parsed check config. `field` names the check in errors. */
export function createProbe(config: ProbingCheckConfig, target: ProbeTarget = {}, field = 'health_check'): HealthProbe {
  switch (config.type) {
    case 'http':
      return new HttpProbe({
        ...resolveTarget(config, target, field),
        scheme: config.scheme,
        method: config.method,
        path: config.path,
        ...(config.host !== undefined ? { host: config.host } : {}),
        headers: config.headers,
        expectedStatuses: config.expectedStatuses,
        tlsSkipVerify: config.tlsSkipVerify,
      });
    case 'tcp':
      return new TcpProbe({
        ...resolveTarget(config, target, field),
        ...(config.send !== undefined ? { send: config.send } : {}),
        ...(config.expect !== undefined ? { expect: config.expect } : {}),
      });
    case 'grpc':
      return new GrpcProbe({ ...resolveTarget(config, target, field), service: config.service });
    case 'exec':
      return new ExecProbe({ command: config.command, shell: config.shell });
  }
}
