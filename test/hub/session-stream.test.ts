import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import type { RegisterRequest, SessionRequest, SessionResponse } from '../../src/wire/messages.js';
import { metricValue, startGrpcHub, WAIT_MS, type GrpcHub } from '../helpers/grpc-hub.js';
import { Changes, until } from '../helpers/wait.js';

/** A sidecar's session: sends requests, collects answers in order, remembers how it ended. */
class Session {
  readonly answers: SessionResponse[] = [];
  error: grpc.ServiceError | undefined;
  ended = false;
  private nonce = 0;
  private readonly changes = new Changes();
  readonly call: grpc.ClientDuplexStream<SessionRequest, SessionResponse>;

  constructor(hub: GrpcHub) {
    this.call = hub.newClient().Session();
    this.call.on('data', (res: SessionResponse) => {
      this.answers.push(res);
      this.changes.changed();
    });
    this.call.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.end();
    });
    this.call.on('end', () => this.end());
  }

  /** Sends one request and resolves with its answer, matched by nonce. */
  send(req: Omit<SessionRequest, 'nonce'>): Promise<SessionResponse> {
    const nonce = ++this.nonce;
    this.call.write({ ...req, nonce });
    return this.changes.eventually(`the answer to request ${nonce}`, () => this.answers.find((a) => a.nonce === nonce), WAIT_MS);
  }

  ends(): Promise<grpc.ServiceError | undefined> {
    return this.changes.eventually('the session to end', () => (this.ended ? { error: this.error } : undefined), WAIT_MS).then((r) => r.error);
  }

  private end(): void {
    this.ended = true;
    this.changes.end(() => `session ended (${this.error?.details ?? 'OK'})`);
  }
}

const TTL_S = 10;
const CRITICAL_S = 30;
const sidecar = (id: string, extra: Partial<RegisterRequest> = {}): RegisterRequest => ({
  id,
  service: 'echo',
  namespace: 'demo.local',
  address: '10.0.0.7',
  port: 8080,
  ttl: { seconds: TTL_S },
  deregister_critical_after: { seconds: CRITICAL_S },
  ...extra,
});

test('a lease registered over a session is held while the stream lives, and its TTL starts when the client cancels', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const session = new Session(hub);
  const ack = await session.send({ register: sidecar('pod-1') });
  t.is(ack.error, undefined);
  t.is(ack.instance?.id, 'pod-1');
  t.true(ack.instance?.lease?.held);
  t.is(await metricValue(hub.metrics.subscribers, { api: 'session' }), 1);
  t.is(await metricValue(hub.metrics.registrations, { api: 'grpc' }), 1);

  // Ten TTLs pass without a single heartbeat: the held lease does not expire.
  hub.clock.advance(10 * TTL_S * 1000);
  t.is(hub.registry.getInstance('pod-1')!.health, 'HEALTHY');

  session.call.cancel();
  await until('the lease to be released', () => hub.registry.getInstance('pod-1')!.lease.held === false, WAIT_MS);
  t.is(await metricValue(hub.metrics.subscribers, { api: 'session' }), 0);

  hub.clock.advance(TTL_S * 1000 - 1000);
  t.is(hub.registry.getInstance('pod-1')!.health, 'HEALTHY', 'the TTL counts from the drop, not from the registration');
  hub.clock.advance(2000);
  t.is(hub.registry.getInstance('pod-1')!.health, 'UNHEALTHY');
  hub.clock.advance(CRITICAL_S * 1000 + 1000);
  t.is(hub.registry.getInstance('pod-1'), undefined, 'removed after deregister_critical_after');
});

test('heartbeats, health reports, drain and deregister over the session reach the registry; a bad request does not end it', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const session = new Session(hub);
  await session.send({ register: sidecar('pod-1', { health: 'UNKNOWN' }) });
  t.is(hub.registry.getInstance('pod-1')!.health, 'UNKNOWN');

  const healthy = await session.send({ heartbeat: { id: 'pod-1', health: 'HEALTHY' } });
  t.is(healthy.instance?.health, 'HEALTHY');
  t.is(hub.registry.getInstance('pod-1')!.health, 'HEALTHY');

  const sick = await session.send({ report_health: { id: 'pod-1', health: 'UNHEALTHY' } });
  t.is(sick.instance?.health, 'UNHEALTHY');
  t.is(hub.registry.getInstance('pod-1')!.health, 'UNHEALTHY');

  const draining = await session.send({ drain: { id: 'pod-1' } });
  t.is(draining.instance?.health, 'DRAINING');
  t.true(draining.instance?.lease?.held, 'draining keeps the lease');
  t.is(hub.registry.getInstance('pod-1')!.health, 'DRAINING');

  const before = hub.registry.version;
  const badPort = await session.send({ register: sidecar('pod-2', { port: 70_000 }) });
  t.is(badPort.error?.grpc_code, grpc.status.INVALID_ARGUMENT);
  t.is(badPort.error?.code, 'invalid_argument');
  t.is(badPort.error?.field, 'port');
  const unknown = await session.send({ heartbeat: { id: 'ghost' } });
  t.is(unknown.error?.grpc_code, grpc.status.NOT_FOUND);
  t.is(unknown.error?.field, 'id');
  const empty = await session.send({});
  t.is(empty.error?.field, 'request');
  t.is(hub.registry.version, before, 'failed requests changed nothing');
  t.false(session.ended);

  const gone = await session.send({ deregister: { id: 'pod-1' } });
  t.is(gone.instance?.id, 'pod-1');
  t.is(hub.registry.getInstance('pod-1'), undefined);
  t.deepEqual(session.answers.map((a) => a.nonce), [1, 2, 3, 4, 5, 6, 7, 8], 'one answer per request, in order');

  // Half-closing ends the session cleanly.
  session.call.end();
  t.is(await session.ends(), undefined);
  await until('the session gauge to drop', async () => (await metricValue(hub.metrics.subscribers, { api: 'session' })) === 0, WAIT_MS);
  t.is(await metricValue(hub.metrics.requests, { api: 'grpc', route: 'Session', code: 'OK' }), 1);
});

test('re-registering the same id on a new session replaces it and takes the lease; the old stream ending does not release it', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const old = new Session(hub);
  await old.send({ register: sidecar('pod-1') });
  const fresh = new Session(hub);
  const ack = await fresh.send({ register: sidecar('pod-1', { port: 9090 }) });
  t.is(ack.instance?.port, 9090);
  t.is(hub.registry.instancesOf('demo.local', 'echo').length, 1, 'replaced, never duplicated');

  old.call.cancel();
  await old.ends();
  await until('the old session to be gone', async () => (await metricValue(hub.metrics.subscribers, { api: 'session' })) === 1, WAIT_MS);
  t.true(hub.registry.getInstance('pod-1')!.lease.held, 'the new session still holds it');
  hub.clock.advance(5 * TTL_S * 1000);
  t.is(hub.registry.getInstance('pod-1')!.health, 'HEALTHY');
  t.is(hub.registry.getInstance('pod-1')!.port, 9090);

  fresh.call.cancel();
  await until('the lease to be released', () => hub.registry.getInstance('pod-1')!.lease.held === false, WAIT_MS);
  hub.clock.advance(TTL_S * 1000 + 1000);
  t.is(hub.registry.getInstance('pod-1')!.health, 'UNHEALTHY');
});

test('close() ends every session with UNAVAILABLE and releases its leases like a drop', async (t) => {
  const hub = await startGrpcHub();
  t.teardown(() => hub.close());
  const a = new Session(hub);
  const b = new Session(hub);
  await a.send({ register: sidecar('pod-a') });
  await b.send({ register: sidecar('pod-b') });
  hub.service.close();
  t.is((await a.ends())?.code, grpc.status.UNAVAILABLE);
  t.is((await b.ends())?.code, grpc.status.UNAVAILABLE);
  t.false(hub.registry.getInstance('pod-a')!.lease.held);
  t.false(hub.registry.getInstance('pod-b')!.lease.held);
  hub.clock.advance(TTL_S * 1000 + 1000);
  t.is(hub.registry.getInstance('pod-a')!.health, 'UNHEALTHY');

  const late = new Session(hub);
  t.is((await late.ends())?.code, grpc.status.UNAVAILABLE);
});
