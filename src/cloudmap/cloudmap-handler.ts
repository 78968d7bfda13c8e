/**
 * The Cloud Map API's HTTP front: AWS JSON 1.1, `POST /` with `X-Amz-Target:
 * Route53AutoNaming_v20170314.<Operation>`, on the hub's HTTP port beside REST. Each call is
 * identified by its Signature V4 through the hub's one AccessControl (so roles, scopes, the
 * audit log and the refusal metrics are those of every API), counted against the identity's
 * write allowance when it writes, and answered in AWS's shapes.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { AccessControl } from '../auth/access-control.js';
import type { CallSite } from '../auth/audit-log.js';
import type { Caller } from '../auth/caller.js';
import type { Identity } from '../auth/identity.js';
import type { Clock } from '../common/clock.js';
import { OutriggerError, storeRetryAfter } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { ClientGoneError, parseJson, readRawBody } from '../http/body.js';
import { clientAddress } from '../http/client-address.js';
import { drainRequest } from '../http/drain.js';
import type { Registry } from '../registry/registry.js';
import type { CloudMapOperation } from './cloudmap-context.js';
import { CloudMapError, toCloudMapError } from './cloudmap-errors.js';
import type { ArnParts } from './cloudmap-ids.js';
import type { CloudMapStore } from './cloudmap-store.js';
import { DISCOVERY_OPERATIONS } from './discovery-operations.js';
import { INSTANCE_OPERATIONS } from './instance-operations.js';
import { NAMESPACE_OPERATIONS } from './namespace-operations.js';
import { OPERATION_QUERIES } from './operation-queries.js';
import { SERVICE_OPERATIONS } from './service-operations.js';
import { TAG_OPERATIONS } from './tag-operations.js';

export const TARGET_PREFIX = 'Route53AutoNaming_v20170314.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

export const CLOUDMAP_OPERATIONS: Readonly<Record<string, CloudMapOperation>> = {
  ...NAMESPACE_OPERATIONS,
  ...SERVICE_OPERATIONS,
  ...INSTANCE_OPERATIONS,
  ...DISCOVERY_OPERATIONS,
  ...OPERATION_QUERIES,
  ...TAG_OPERATIONS,
};

export interface CloudMapHandlerDeps {
  registry: Registry;
  store: CloudMapStore;
  arn: ArnParts;
  access: AccessControl;
  clock: Clock;
  logger: Logger;
  maxBodyBytes: number;
  /** The hub's per-identity write limit: a refusal, or undefined when the write may go ahead. */
  limitWrite(identity: Identity, peer: string): { error: OutriggerError; retryAfterSeconds: number } | undefined;
  /** Counts a request by operation (`unknown` for a target outside the API) and status. */
  count(operation: string, status: string): void;
  /** Called once per accepted registration, for the hub's registrations counter. */
  registered(): void;
}

/** Whether a request on the HTTP port is a Cloud Map call rather than REST. */
export function isCloudMapRequest(req: http.IncomingMessage): boolean {
  const target = req.headers['x-amz-target'];
  return req.method === 'POST' && (req.url === '/' || req.url?.startsWith('/?') === true) && typeof target === 'string' && target.startsWith(TARGET_PREFIX);
}

export function createCloudMapHandler(deps: CloudMapHandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const name = String(req.headers['x-amz-target']).slice(TARGET_PREFIX.length);
    const operation = Object.hasOwn(CLOUDMAP_OPERATIONS, name) ? CLOUDMAP_OPERATIONS[name] : undefined;
    const label = operation !== undefined ? name : 'unknown';
    const site: CallSite = { api: 'cloudmap', op: label, peer: clientAddress(req) };
    let caller: Caller | undefined;
    let status: number;
    let body: unknown;
    let retryAfter: number | undefined;
    try {
      const raw = await readRawBody(req, deps.maxBodyBytes);
      // The signature is checked before anything else is looked at: an unsigned caller learns nothing.
      const identity = await deps.access.identify(
        () => ({ signed: { method: req.method ?? 'POST', target: req.url ?? '/', headers: req.headers, body: raw } }),
        site,
      );
      caller = deps.access.caller(identity, site);
      if (operation === undefined) throw new CloudMapError('UnknownOperationException', `unknown operation ${JSON.stringify(name.slice(0, 80))}; see the README's Cloud Map section for the operations the hub serves`);
      const contentType = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (contentType !== CONTENT_TYPE) throw new CloudMapError('SerializationException', `content-type must be ${CONTENT_TYPE}, got ${JSON.stringify(req.headers['content-type'] ?? 'none')}`);
      const input = raw.length === 0 ? {} : parseJson(raw);
      if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new CloudMapError('SerializationException', 'the body must be a JSON object');
      if (operation.write) {
        const limited = deps.limitWrite(identity, site.peer);
        if (limited !== undefined) throw limited.error;
      }
      body = await operation.run(input, { registry: deps.registry, store: deps.store, arn: deps.arn, caller, registered: deps.registered });
      status = 200;
      caller.done(undefined, operation.write);
    } catch (err) {
      if (err instanceof ClientGoneError) {
        deps.count(label, '499');
        return;
      }
      caller?.done(err, operation?.write ?? false);
      const e = toCloudMapError(err);
      if (e.type === 'InternalFailure') deps.logger.error('cloudmap operation failed', { operation: label, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      status = e.status;
      body = { __type: e.type, message: e.message, Message: e.message, ...e.extra };
      retryAfter = storeRetryAfter(err);
    }
    if (res.headersSent || res.destroyed) {
      deps.count(label, '499');
      return;
    }
    if (!req.complete) drainRequest(req, deps.clock, { maxBytes: 4 * deps.maxBodyBytes, maxMs: 10_000 });
    const text = JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() };
    if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
    res.writeHead(status, headers);
    res.end(text);
    deps.count(label, String(status));
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error('cloudmap request failed', { err: String(err) });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
}
