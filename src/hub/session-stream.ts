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

  constructor(
    private readonly call: SessionCall,
    private readonly options: SessionStreamOptions,
  ) {
    options.metrics.subscribers.inc({ api: 'session' });
    call.on('data', (req: SessionRequest) => this.onRequest(req));
    // Stop reading while the client is not reading its answers, so they cannot pile up here.
    call.on('drain', () => call.resume());
    // The client half-closed: it is done, and so is the session.
    call.on('end', () => this.end());
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
    if (!this.call.write(this.answer(req))) this.call.pause();
  }

  private answer(req: SessionRequest): SessionResponse {
    const nonce = req.nonce !== undefined ? { nonce: req.nonce } : {};
    const route = `Session.${req.request ?? 'none'}`;
    const { caller, writeLimiter } = this.options;
    try {
      const refused = writeLimiter?.take(caller.identity, caller.site.peer);
      if (refused !== undefined) throw refused.error;
      const instance = this.apply(req);
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

  private apply(req: SessionRequest): Instance {
    const { registry, leases, metrics, caller } = this.options;
    const check = (id: string | undefined): string => {
      checkInstance(registry, caller, id ?? '', 'instance:write');
      return id ?? '';
    };
    switch (req.request) {
      case 'register': {
        const inst = registry.register(registerInput(req.register ?? {}), registrationCheck(caller));
        metrics.registrations.inc({ api: 'grpc' });
        leases.claim(inst.id, this);
        this.registered.add(inst.id);
        return registry.holdLease(inst.id);
      }
      case 'heartbeat':
        return registry.heartbeat(check(req.heartbeat?.id), healthFromWire(req.heartbeat?.health));
      case 'report_health':
        return registry.reportHealth(check(req.report_health?.id), healthFromWire(req.report_health?.health));
      case 'drain':
        return registry.reportHealth(check(req.drain?.id), 'DRAINING');
      case 'deregister': {
        const inst = registry.deregister(check(req.deregister?.id));
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
      try {
        registry.releaseLease(id);
      } catch (err) {
        logger.error('releasing a session lease failed', { id, err: String(err) });
      }
    }
    this.registered.clear();
    metrics.subscribers.dec({ api: 'session' });
    metrics.requests.inc({ api: 'grpc', route: 'Session', code });
    this.options.onEnd(this);
  }
}
