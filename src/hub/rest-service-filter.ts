import { invalidArgument } from '../common/errors.js';
import { isDnsLabel, isDnsName, namespaceNameSchema, serviceNameSchema, splitServiceKey } from '../model/names.js';
import { parseWith } from '../model/parse-input.js';
import type { QueryReader } from './rest-query.js';

/**
 * The `service_name` and `namespace` query parameters. `service_name` takes a service name or
 * the dotted `<service>.<namespace>` form used everywhere else (sidecar, xDS, `outrigger
 * endpoints`): a service name is a DNS label, so a dot can only start the namespace.
 */
export function serviceFilter(query: QueryReader): { service?: string; namespace?: string } {
  const namespace = query.string('namespace', namespaceNameSchema);
  const given = query.string('service_name');
  if (given === undefined) return namespace === undefined ? {} : { namespace };
  if (!given.includes('.')) return { service: parseWith(serviceNameSchema, given, 'service_name'), ...(namespace !== undefined ? { namespace } : {}) };
  const parts = splitServiceKey(given);
  if (parts === undefined || !isDnsLabel(parts.service) || !isDnsName(parts.namespace)) {
    throw invalidArgument(
      'service_name',
      `service_name: must be a service name (a DNS label) or <service>.<namespace> such as users.shop.local, got ${JSON.stringify(given.slice(0, 300))}`,
    );
  }
  if (namespace !== undefined && namespace !== parts.namespace) {
    throw invalidArgument(
      'namespace',
      `namespace: ${namespace} disagrees with service_name=${given}, which names namespace ${parts.namespace}; give one of them, or the same namespace in both`,
    );
  }
  return parts;
}
