/**
 * The hub's gRPC registration API (outrigger.registry.v1.Registry) on a grpc-js server: unary
 * calls mapped onto the Registry, the Watch fan-out and the Session streams. Validation is the
 * registry's; this layer only translates proto3 messages and errors.
 */
import type * as grpc from '@grpc/grpc-js';
import { systemClock, type Clock } from '../common/clock.js';
import { OutriggerError, notFound } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/logger.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Registry } from '../registry/registry.js';
import { codedError, statusName, toGrpcError } from '../wire/grpc-errors.js';
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
import { SessionLeases } from './session-leases.js';
import { SessionStream, type SessionCall } from './session-stream.js';
import { WatchHub } from './watch-hub.js';
import type { WatchCall } from './watch-stream.js';

/** How many changes a Watch client may fall behind before it is told to watch again. */
export const DEFAULT_WATCH_BUFFER_LIMIT = 10_000;

export function addRegistryService(
  server: grpc.Server,
  deps: { registry: Registry; metrics: HubMetrics; logger?: Logger; clock?: Clock; watchBufferLimit?: number },
): { close(): void } {
  const { registry, metrics } = deps;
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

  function unary<Req, Res>(route: string, fn: (req: Req) => Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      let result: Res;
      try {
        result = fn(call.request);
      } catch (err) {
        const coded = codedError(err, logger);
        metrics.requests.inc({ api: 'grpc', route, code: statusName(coded.grpcStatus) });
        callback(toGrpcError(coded));
        return;
      }
      metrics.requests.inc({ api: 'grpc', route, code: 'OK' });
      callback(null, result);
    };
  }

  const namespaceOrDefault = (ns: string | undefined): string => given(ns) ?? registry.defaultNamespace;

  const handlers: grpc.UntypedServiceImplementation = {
    Register: unary<m.RegisterRequest, m.WireInstance>('Register', (req) => {
      const inst = registry.register(registerInput(req));
      metrics.registrations.inc({ api: 'grpc' });
      return instanceToWire(inst);
    }),
    Deregister: unary<m.DeregisterRequest, m.WireInstance>('Deregister', (req) => instanceToWire(registry.deregister(req.id ?? ''))),
    Heartbeat: unary<m.HeartbeatRequest, m.WireInstance>('Heartbeat', (req) =>
      instanceToWire(registry.heartbeat(req.id ?? '', healthFromWire(req.health))),
    ),
    ReportHealth: unary<m.ReportHealthRequest, m.WireInstance>('ReportHealth', (req) =>
      instanceToWire(registry.reportHealth(req.id ?? '', healthFromWire(req.health))),
    ),
    Discover: unary<m.DiscoverRequest, m.DiscoverResponse>('Discover', (req) => ({
      instances: registry.discover(discoverQuery(req)).map(instanceToWire),
      version: registry.version,
    })),
    PutService: unary<m.PutServiceRequest, m.WireService>('PutService', (req) => {
      const namespace = namespaceOrDefault(optionalNamespace(req.namespace));
      const name = requiredServiceName(req.name);
      return serviceToWire(registry.putService(namespace, name, serviceConfigInput(req)));
    }),
    GetService: unary<m.GetServiceRequest, m.WireService>('GetService', (req) => {
      const namespace = namespaceOrDefault(optionalNamespace(req.namespace));
      const name = requiredServiceName(req.name);
      const svc = registry.getService(namespace, name);
      if (svc === undefined) throw notFound(`service ${name}.${namespace} does not exist`, 'name');
      return serviceToWire(svc);
    }),
    ListServices: unary<m.ListServicesRequest, m.ListServicesResponse>('ListServices', (req) => ({
      services: registry.listServices(optionalNamespace(req.namespace)).map(serviceToWire),
    })),
    DeleteService: unary<m.DeleteServiceRequest, m.WireService>('DeleteService', (req) => {
      const namespace = namespaceOrDefault(optionalNamespace(req.namespace));
      const name = requiredServiceName(req.name);
      return serviceToWire(namingField('service', 'name', () => registry.deleteService(namespace, name)));
    }),
    CreateNamespace: unary<m.CreateNamespaceRequest, m.WireNamespace>('CreateNamespace', (req) =>
      namespaceToWire(registry.createNamespace({ name: requiredNamespaceName(req.name), ...(req.description !== undefined ? { description: req.description } : {}) })),
    ),
    ListNamespaces: unary<m.ListNamespacesRequest, m.ListNamespacesResponse>('ListNamespaces', () => ({
      namespaces: registry.listNamespaces().map(namespaceToWire),
    })),
    DeleteNamespace: unary<m.DeleteNamespaceRequest, m.WireNamespace>('DeleteNamespace', (req) => {
      const name = requiredNamespaceName(req.name);
      return namespaceToWire(namingField('namespace', 'name', () => registry.deleteNamespace(name)));
    }),
    Watch: (call: WatchCall) => {
      try {
        watchHub.open(call);
      } catch (err) {
        const coded = codedError(err, logger);
        metrics.requests.inc({ api: 'grpc', route: 'Watch', code: statusName(coded.grpcStatus) });
        call.emit('error', toGrpcError(coded));
      }
    },
    Session: (call: SessionCall) => {
      if (closed) {
        metrics.requests.inc({ api: 'grpc', route: 'Session', code: 'UNAVAILABLE' });
        call.emit('error', toGrpcError(new OutriggerError('unavailable', 'the hub is shutting down; open a session again shortly')));
        return;
      }
      sessions.add(new SessionStream(call, { registry, leases, metrics, logger, onEnd: (s) => sessions.delete(s) }));
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
