/**
 * The hub's gRPC registration API (outrigger.registry.v1.Registry) on a grpc-js server: unary
 * calls mapped onto the Registry, the Watch fan-out and the Session streams. Validation is the
 * registry's; this layer only translates proto3 messages and errors.
 */
import type * as grpc from '@grpc/grpc-js';
import type { AccessControl } from '../auth/access-control.js';
import type { Caller } from '../auth/caller.js';
import { systemClock, type Clock } from '../common/clock.js';
import { OutriggerError, notFound } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Registry } from '../registry/registry.js';
import { codedError, statusName, toGrpcError, toWireError } from '../wire/grpc-errors.js';
import type * as m from '../wire/messages.js';
import { registryServiceDefinition } from '../wire/registry-proto.js';
import {
  discoverQuery,
  given,
  healthFromWire,
  instanceToWire,
  namespaceToWire,
  namingField,
  optionalNamespace,
  registerInput,
  requiredNamespaceName,
  requiredServiceName,
  serviceConfigInput,
  serviceToWire,
} from './grpc-mapping.js';
import { checkInstance, readableOnly, registrationCheck, visibleServices } from './access-rules.js';
import { grpcCaller } from './grpc-access.js';
import { registerBatch } from './registration-batch.js';
import { SessionLeases } from './session-leases.js';
import { SessionStream, type SessionCall } from './session-stream.js';
import { WatchHub } from './watch-hub.js';
import type { WatchCall } from './watch-stream.js';
import type { OpenStream, OpenStreams } from './open-streams.js';
import type { WriteLimiter } from './write-limiter.js';

/** How many changes a Watch client may fall behind before it is told to watch again. */
export const DEFAULT_WATCH_BUFFER_LIMIT = 10_000;

export function addRegistryService(
  server: grpc.Server,
  deps: {
    registry: Registry;
    metrics: HubMetrics;
    /** Who may do what: every call identifies its caller and checks its rights. */
    access: AccessControl;
    writeLimiter?: WriteLimiter;
    /** Counts each identity's streams, and ends those whose credential is revoked or expired. */
    openStreams?: OpenStreams;
    logger?: Logger;
    clock?: Clock;
    watchBufferLimit?: number;
  },
): { close(): void } {
  const { registry, metrics, access } = deps;
  const logger = deps.logger ?? silentLogger;
  const clock = deps.clock ?? systemClock;
  const bufferLimit = deps.watchBufferLimit ?? DEFAULT_WATCH_BUFFER_LIMIT;
  if (!Number.isInteger(bufferLimit) || bufferLimit < 1) throw new RangeError(`watchBufferLimit must be a positive integer, got ${bufferLimit}`);

  const definition = registryServiceDefinition();
  // Watch events are encoded once per change and shared by every watcher (see SharedChange), so
  // the server writes them as they are.
  const encodeWatchEvent = definition.Watch!.responseSerialize as (event: m.WatchEvent) => Buffer;
  const serverDefinition: grpc.ServiceDefinition = {
    ...definition,
    Watch: { ...definition.Watch!, responseSerialize: (bytes: Buffer) => bytes },
  };

  const watchHub = new WatchHub({ registry, metrics, clock, bufferLimit, encode: encodeWatchEvent });
  const leases = new SessionLeases<SessionStream>();
  const sessions = new Set<SessionStream>();
  let closed = false;

  const refuse = (route: string, err: unknown): OutriggerError => {
    const coded = codedError(err, logger);
    metrics.requests.inc({ api: 'grpc', route, code: statusName(coded.grpcStatus) });
    return coded;
  };

  /** A unary call: identify the caller, limit its writes, run `fn` with it, audit a write's outcome. */
  function unary<Req, Res>(route: string, kind: 'read' | 'write', fn: (req: Req, caller: Caller) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      let caller: Caller | undefined;
      const run = async (): Promise<Res> => {
        caller = await grpcCaller(access, call, route);
        if (kind === 'write') {
          const refused = deps.writeLimiter?.take(caller.identity, caller.site.peer);
          if (refused !== undefined) throw refused.error;
        }
        return fn(call.request, caller);
      };
      run().then(
        (result) => {
          caller?.done(undefined, kind === 'write', route === 'Heartbeat');
          metrics.requests.inc({ api: 'grpc', route, code: 'OK' });
          callback(null, result);
        },
        (err: unknown) => {
          caller?.done(err, kind === 'write');
          callback(toGrpcError(refuse(route, err)));
        },
      );
    };
  }

  /** A stream's caller and its place among the identity's open streams; ends the call on refusal. */
  async function openStream(call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, route: string): Promise<{ caller: Caller; stream: OpenStream } | undefined> {
    try {
      const caller = await grpcCaller(access, call, route);
      const stream = deps.openStreams?.acquire(caller.identity, caller.site.peer) ?? { identity: caller.identity, release: () => undefined };
      return { caller, stream };
    } catch (err) {
      if (!call.cancelled) call.emit('error', toGrpcError(refuse(route, err)));
      return undefined;
    }
  }

  const namespaceOrDefault = (ns: string | undefined): string => given(ns) ?? registry.defaultNamespace;

  const handlers: grpc.UntypedServiceImplementation = {
    Register: unary<m.RegisterRequest, m.WireInstance>('Register', 'write', async (req, caller) => {
      const inst = await registry.write(() => registry.register(registerInput(req), registrationCheck(caller)));
      metrics.registrations.inc({ api: 'grpc' });
      return instanceToWire(inst);
    }),
    RegisterBatch: unary<m.RegisterBatchRequest, m.RegisterBatchResponse>('RegisterBatch', 'write', async (req, caller) => {
      const results = await registry.write(() => registerBatch(registry, req.items ?? [], registrationCheck(caller), (item) => ({ input: registerInput(item as m.RegisterRequest) })));
      deps.writeLimiter?.chargeBatch(caller.identity, caller.site.peer, results.length);
      const registered = results.filter((r) => r.instance !== undefined).length;
      if (registered > 0) metrics.registrations.inc({ api: 'grpc' }, registered);
      return {
        results: results.map((r) => (r.instance !== undefined ? { instance: instanceToWire(r.instance) } : { error: toWireError(r.error) })),
        registered,
        failed: results.length - registered,
      };
    }),
    Deregister: unary<m.DeregisterRequest, m.WireInstance>('Deregister', 'write', async (req, caller) => {
      checkInstance(registry, caller, req.id ?? '', 'instance:write');
      return instanceToWire(await registry.write(() => registry.deregister(req.id ?? '')));
    }),
    Heartbeat: unary<m.HeartbeatRequest, m.WireInstance>('Heartbeat', 'write', async (req, caller) => {
      checkInstance(registry, caller, req.id ?? '', 'instance:write');
      return instanceToWire(await registry.write(() => registry.heartbeat(req.id ?? '', healthFromWire(req.health))));
    }),
    ReportHealth: unary<m.ReportHealthRequest, m.WireInstance>('ReportHealth', 'write', async (req, caller) => {
      checkInstance(registry, caller, req.id ?? '', 'instance:write');
      return instanceToWire(await registry.write(() => registry.reportHealth(req.id ?? '', healthFromWire(req.health))));
    }),
    Discover: unary<m.DiscoverRequest, m.DiscoverResponse>('Discover', 'read', (req, caller) => {
      const query = discoverQuery(req);
      const readable = readableOnly(caller, query.namespace, query.namespace !== undefined ? query.service : undefined);
      return { instances: registry.discover({ ...query, ...visibleServices(readable) }).map(instanceToWire), version: registry.version };
    }),
    PutService: unary<m.PutServiceRequest, m.WireService>('PutService', 'write', async (req, caller) => {
      const namespace = namespaceOrDefault(optionalNamespace(req.namespace));
      const name = requiredServiceName(req.name);
      caller.require('service:write', { namespace, service: name });
      const config = serviceConfigInput(req);
      return serviceToWire(await registry.write(() => registry.putService(namespace, name, config)));
    }),
    GetService: unary<m.GetServiceRequest, m.WireService>('GetService', 'read', (req, caller) => {
      const namespace = namespaceOrDefault(optionalNamespace(req.namespace));
      const name = requiredServiceName(req.name);
      caller.require('service:read', { namespace, service: name });
      const svc = registry.getService(namespace, name);
      if (svc === undefined) throw notFound(`service ${name}.${namespace} does not exist`, 'name');
      return serviceToWire(svc);
    }),
    ListServices: unary<m.ListServicesRequest, m.ListServicesResponse>('ListServices', 'read', (req, caller) => {
      const namespace = optionalNamespace(req.namespace);
      const readable = readableOnly(caller, namespace, undefined);
      const services = registry.listServices(namespace).filter((svc) => readable === undefined || readable.service(svc.namespace, svc.name));
      return { services: services.map(serviceToWire) };
    }),
    DeleteService: unary<m.DeleteServiceRequest, m.WireService>('DeleteService', 'write', async (req, caller) => {
      const namespace = namespaceOrDefault(optionalNamespace(req.namespace));
      const name = requiredServiceName(req.name);
      caller.require('service:write', { namespace, service: name });
      return serviceToWire(await registry.write(() => namingField('service', 'name', () => registry.deleteService(namespace, name))));
    }),
    CreateNamespace: unary<m.CreateNamespaceRequest, m.WireNamespace>('CreateNamespace', 'write', async (req, caller) => {
      const name = requiredNamespaceName(req.name);
      caller.require('namespace:write', { namespace: name });
      const input = { name, ...(req.description !== undefined ? { description: req.description } : {}) };
      return namespaceToWire(await registry.write(() => registry.createNamespace(input)));
    }),
    ListNamespaces: unary<m.ListNamespacesRequest, m.ListNamespacesResponse>('ListNamespaces', 'read', (_req, caller) => {
      const reads = caller.reads;
      return { namespaces: registry.listNamespaces().filter((ns) => reads === undefined || reads.namespace(ns.name)).map(namespaceToWire) };
    }),
    DeleteNamespace: unary<m.DeleteNamespaceRequest, m.WireNamespace>('DeleteNamespace', 'write', async (req, caller) => {
      const name = requiredNamespaceName(req.name);
      caller.require('namespace:write', { namespace: name });
      return namespaceToWire(await registry.write(() => namingField('namespace', 'name', () => registry.deleteNamespace(name))));
    }),
    Watch: (call: WatchCall) => {
      void openStream(call, 'Watch').then((opened) => {
        if (opened === undefined) return;
        const { caller, stream } = opened;
        if (call.cancelled) {
          stream.release();
          return;
        }
        try {
          const watch = watchHub.open(call, caller, stream.release);
          stream.end = (error) => watch.end(error);
        } catch (err) {
          stream.release();
          call.emit('error', toGrpcError(refuse('Watch', err)));
        }
      });
    },
    Session: (call: SessionCall) => {
      if (closed) {
        call.emit('error', toGrpcError(refuse('Session', new OutriggerError('unavailable', 'the hub is shutting down; open a session again shortly'))));
        return;
      }
      // Requests wait (unread) until the caller is known.
      void openStream(call, 'Session').then((opened) => {
        if (opened === undefined) return;
        const { caller, stream } = opened;
        if (closed || call.cancelled) {
          stream.release();
          if (!call.cancelled) call.emit('error', toGrpcError(refuse('Session', new OutriggerError('unavailable', 'the hub is shutting down; open a session again shortly'))));
          return;
        }
        const session = new SessionStream(call, {
          registry,
          leases,
          metrics,
          logger,
          caller,
          ...(deps.writeLimiter !== undefined ? { writeLimiter: deps.writeLimiter } : {}),
          onEnd: (s) => {
            stream.release();
            sessions.delete(s);
          },
        });
        stream.end = (error) => session.end(error);
        sessions.add(session);
      });
    },
  };

  server.addService(serverDefinition, handlers);

  return {
    close(): void {
      if (closed) return;
      closed = true;
      watchHub.close();
      const error = new OutriggerError('unavailable', 'the hub closed this session; open a new one');
      for (const s of [...sessions]) s.end(error);
    },
  };
}
