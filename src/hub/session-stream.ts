/**
 * One Session stream: a sidecar's registrations, heartbeats, health reports, drain and
 * deregister, answered one by one and in order. Instances registered here have their lease held
 * while the stream lives; when it ends, however it ends, the leases are released and their TTL
 * starts, so a sidecar that vanishes is expired like one that stopped heartbeating.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Caller } from '../auth/caller.js';
import { invalidArgument, type OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Instance } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import { codedError, endServerStream, endStatusName, statusName, toWireError } from '../wire/grpc-errors.js';
import type { SessionRequest, SessionResponse } from '../wire/messages.js';
import { checkInstance, registrationCheck } from './access-rules.js';
import { healthFromWire, instanceToWire, registerInput } from './grpc-mapping.js';
import type { SessionLeases } from './session-leases.js';
import type { WriteLimiter } from './write-limiter.js';

export type SessionCall = grpc.ServerDuplexStream<SessionRequest, SessionResponse>;

export interface SessionStreamOptions {
  registry: Registry;
  leases: SessionLeases<SessionStream>;
  metrics: HubMetrics;
  logger: Logger;
  /** Who opened the stream; every request is checked against it. */
  caller: Caller;
  writeLimiter?: WriteLimiter;
  onEnd: (stream: SessionStream) => void;
}

export class SessionStream {
  /** Ids registered on this stream; the lease registry says which are still ours. */
  private readonly registered = new Set<string>();
  private ended = false;
  /** Answers go out in request order: each request waits for the one before (a write may wait on the store). */
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly call: SessionCall,
    private readonly options: SessionStreamOptions,
  ) {
    options.metrics.subscribers.inc({ api: 'session' });
    call.on('data', (req: SessionRequest) => this.onRequest(req));
    // Stop reading while the client is not reading its answers, so they cannot pile up here.
    call.on('drain', () => call.resume());
    // The client half-closed: it is done, and so is the session.
    call.on('end', () => void this.pending.then(() => this.end()));
    call.on('cancelled', () => this.finish('CANCELLED'));
    call.on('close', () => this.finish('CANCELLED'));
  }

  /** Ends the stream (OK unless an error is given) and releases its leases. Idempotent. */
  end(error?: OutriggerError): void {
    if (this.ended) return;
    this.finish(endStatusName(error));
    endServerStream(this.call, error);
  }

  private onRequest(req: SessionRequest): void {
    if (this.ended) return;
    this.pending = this.pending.then(async () => {
      if (this.ended) return;
      const answer = await this.answer(req);
      if (!this.ended && !this.call.write(answer)) this.call.pause();
    });
  }

  private async answer(req: SessionRequest): Promise<SessionResponse> {
    const nonce = req.nonce !== undefined ? { nonce: req.nonce } : {};
    const route = `Session.${req.request ?? 'none'}`;
    const { caller, writeLimiter } = this.options;
    try {
      const refused = writeLimiter?.take(caller.identity, caller.site.peer);
      if (refused !== undefined) throw refused.error;
      const instance = await this.apply(req);
      caller.done(undefined, true, req.request === 'heartbeat');
      this.options.metrics.requests.inc({ api: 'grpc', route, code: 'OK' });
      return { ...nonce, instance: instanceToWire(instance) };
    } catch (err) {
      caller.done(err, true);
      const coded = codedError(err, this.options.logger);
      this.options.metrics.requests.inc({ api: 'grpc', route, code: statusName(coded.grpcStatus) });
      return { ...nonce, error: toWireError(coded) };
    }
  }

  private async apply(req: SessionRequest): Promise<Instance> {
    const { registry, leases, metrics, caller } = this.options;
    const check = (id: string | undefined): string => {
      checkInstance(registry, caller, id ?? '', 'instance:write');
      return id ?? '';
    };
    switch (req.request) {
      case 'register': {
        const input = registerInput(req.register ?? {});
        // Registered and held in one write, so no replica ever sees the lease running in between.
        const inst = await registry.write(() => registry.holdLease(registry.register(input, registrationCheck(caller)).id));
        metrics.registrations.inc({ api: 'grpc' });
        leases.claim(inst.id, this);
        this.registered.add(inst.id);
        return inst;
      }
      case 'heartbeat': {
        const id = check(req.heartbeat?.id);
        return registry.write(() => registry.heartbeat(id, healthFromWire(req.heartbeat?.health)));
      }
      case 'report_health': {
        const id = check(req.report_health?.id);
        return registry.write(() => registry.reportHealth(id, healthFromWire(req.report_health?.health)));
      }
      case 'drain': {
        const id = check(req.drain?.id);
        return registry.write(() => registry.reportHealth(id, 'DRAINING'));
      }
      case 'deregister': {
        const id = check(req.deregister?.id);
        const inst = await registry.write(() => registry.deregister(id));
        leases.drop(inst.id, this);
        this.registered.delete(inst.id);
        return inst;
      }
      default:
        throw invalidArgument('request', 'request: set one of register, heartbeat, report_health, drain or deregister');
    }
  }

  private finish(code: string): void {
    if (this.ended) return;
    this.ended = true;
    const { registry, leases, metrics, logger } = this.options;
    for (const id of this.registered) {
      if (!leases.drop(id, this)) continue;
      registry.write(() => registry.releaseLease(id)).catch((err: unknown) => logger.error('releasing a session lease failed', { id, err: String(err) }));
    }
    this.registered.clear();
    metrics.subscribers.dec({ api: 'session' });
    metrics.requests.inc({ api: 'grpc', route: 'Session', code });
    this.options.onEnd(this);
  }
}
