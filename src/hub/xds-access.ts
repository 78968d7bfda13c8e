/**
 * Admission of ADS streams: the stream's caller must be known (or the anonymous policy on), it
 * counts against the identity's open streams, and it receives only the resources its caller may
 * read. A resource it asks for and may not read is absent to it, and the refusal is audited.
 */
import type { AccessControl } from '../auth/access-control.js';
import { splitServiceKey } from '../model/names.js';
import type { AdsAccess } from '../xds/server/stream-access.js';
import { readScopeKey } from './access-rules.js';
import { grpcCaller } from './grpc-access.js';
import type { OpenStreams } from './open-streams.js';

const SOTW = 'StreamAggregatedResources';
const DELTA = 'DeltaAggregatedResources';

export function xdsAccess(access: AccessControl, streams: OpenStreams): AdsAccess {
  return async (call) => {
    const caller = await grpcCaller(access, call, call.getPath().endsWith(DELTA) ? DELTA : SOTW);
    const open = streams.acquire(caller.identity, caller.site.peer);
    const filter = caller.reads;
    const readable = (name: string): boolean => {
      const parts = splitServiceKey(name);
      return parts !== undefined && filter!.service(parts.namespace, parts.service);
    };
    return {
      ...(filter !== undefined ? { visible: readable } : {}),
      key: filter === undefined ? '' : readScopeKey(caller.identity),
      refused(name) {
        const parts = splitServiceKey(name);
        try {
          // Audits and counts the refusal; the stream carries on without the resource.
          caller.require('service:read', parts ?? {});
        } catch {
          /* refused, as expected */
        }
      },
      release: open.release,
      attach(terminate) {
        open.end = (error) => terminate(error.grpcStatus, error.message);
      },
    };
  };
}
