/**
 * Upstream cluster names as the sidecar accepts them: `<service>.<namespace>`, the xDS cluster
 * name the hub serves. Checked before anything is subscribed, so a typo in an app's request
 * fails at once with the reason instead of waiting out a bound.
 */
import { OutriggerError } from '../common/errors.js';
import { splitServiceKey } from '../model/names.js';
import { isDnsLabel, isDnsName } from '../model/names.js';

export function parseClusterName(name: unknown, field = 'cluster'): string {
  if (typeof name !== 'string') throw new OutriggerError('invalid_argument', `${field}: must be a string <service>.<namespace>`, field);
  const parts = splitServiceKey(name);
  if (parts === undefined || !isDnsLabel(parts.service) || !isDnsName(parts.namespace)) {
    throw new OutriggerError(
      'invalid_argument',
      `${field}: must be <service>.<namespace> (lowercase DNS labels, e.g. worker.secure-api.local), got ${JSON.stringify(name.slice(0, 300))}`,
      field,
    );
  }
  return name;
}
