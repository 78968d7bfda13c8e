/**
 * The sidecar's registrar: holds the hub Session stream for its app's instance. The instance is
 * soft state at the hub: its lease is held while the stream lives and its TTL runs once the
 * stream drops, so the registrar's job is to keep a stream alive and re-assert the registration
 * (with the current health) on every new one. A restarted hub is refilled on reconnect; the
 * stable id makes that a replacement, never a duplicate.
 *
 * Failure handling, all through one path (the session is dropped and the next hub is tried after
 * an exponential backoff with full jitter, reset once registered):
 *   - connect failure, stream error or end, keepalive timeout: grpc-js ends the stream;
 *   - a request (register, heartbeat, ...) the hub does not answer within ackTimeoutMs;
 *   - an error answer from the hub (e.g. an invalid registration): logged with its field and
 *     emitted as 'hubError'; retried only after the backoff, which keeps growing, so a
 *     registration the hub rejects is never retried in a tight loop.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { Backoff } from '../common/backoff.js';
import type { Clock, TimerHandle } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { isCheckedHealth, type CheckedHealth, type Health } from '../model/health.js';
import type { SessionResponse, WireError, WireInstance } from '../wire/messages.js';
import { BoundedWait } from './registrar-bounded-wait.js';
import { resolveRegistrarOptions, type RegistrarOptions, type ResolvedRegistrarOptions } from './registrar-options.js';
import { registerRequest } from './registrar-registration.js';
import { HubSession, type SessionRequestKind } from './registrar-session.js';

export type { RegistrarOptions } from './registrar-options.js';
export type { Registration } from './registrar-registration.js';
export type { SessionRequestKind } from './registrar-session.js';

/**
 * idle: not started. connecting: a session is open and its register (or, while deregistering,
 * its deregister) is unanswered. registered: the hub holds the instance's lease on this session.
 * backoff: waiting to try the next hub. stopped: for good.
 */
export type RegistrarState = 'idle' | 'connecting' | 'registered' | 'backoff' | 'stopped';

/** An error the hub answered a session request with. */
export interface HubRequestError {
  request: SessionRequestKind;
  hub: string;
  grpcCode: number;
  /** The hub's stable code, e.g. "invalid_argument". */
  code: string;
  message: string;
  /** The request field it is about, e.g. "port". */
  field?: string;
}

/** Events; 'hubError' rather than 'error' so that an unlistened one does not throw. */
export type RegistrarEvents = {
  state: [state: RegistrarState, previous: RegistrarState];
  /** The hub acknowledged the registration on a new session. */
  registered: [instance: WireInstance, hub: string];
  /** Every answer carrying the instance: register, heartbeat, report_health, drain, deregister. */
  ack: [request: SessionRequestKind, instance: WireInstance];
  /** A session was lost or never came up; the next attempt is in retryInMs. */
  disconnected: [reason: string, retryInMs: number];
  hubError: [error: HubRequestError];
  /** The hub refused this sidecar's credentials (unauthenticated) or rights (permission_denied). */
  refused: [refusal: HubRefusal];
};

/** Why the hub refused this sidecar: its stable code and message. */
export interface HubRefusal {
  code: 'unauthenticated' | 'permission_denied';
  message: string;
}

const REFUSALS: ReadonlyMap<number, HubRefusal['code']> = new Map([
  [grpc.status.UNAUTHENTICATED, 'unauthenticated'],
  [grpc.status.PERMISSION_DENIED, 'permission_denied'],
]);

export interface RegistrarStats {
  /** Sessions opened, successful or not. */
  attempts: number;
  /** Sessions on which the hub acknowledged the registration. */
  connects: number;
  /** Of those, the ones that replaced a lost session. */
  reconnects: number;
  /** Heartbeats the hub acknowledged. */
  heartbeats: number;
  /** The hub of the open session, if any. */
  currentHub: string | undefined;
  /** Why the last session was lost or refused. */
  lastError: string | undefined;
  /** Clock time the current session's registration was acknowledged. */
  registeredAt?: number;
  /** The hub's last refusal of this sidecar, until a registration succeeds. */
  refusal?: HubRefusal;
}

export class Registrar extends EventEmitter<RegistrarEvents> {
  private readonly options: ResolvedRegistrarOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly id: string;
  private current: RegistrarState = 'idle';
  private session: HubSession | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private nextHub = 0;
  private appHealth: CheckedHealth;
  private draining = false;
  private readonly drainWaits = new Set<BoundedWait>();
  private deregistration: BoundedWait | undefined;
  private readonly counts = { attempts: 0, connects: 0, reconnects: 0, heartbeats: 0 };
  private lastError: string | undefined;
  private registeredAt: number | undefined;
  private refusal: HubRefusal | undefined;

  constructor(options: RegistrarOptions) {
    super();
    this.options = resolveRegistrarOptions(options);
    this.clock = this.options.clock;
    this.id = this.options.registration.id;
    this.logger = this.options.logger.child({ component: 'registrar', instance: this.id });
    this.backoff = new Backoff(this.clock, this.options.backoff);
    this.appHealth = this.options.registration.health ?? 'UNKNOWN';
  }

  get state(): RegistrarState {
    return this.current;
  }

  /** The health the registrar asserts at the hub: DRAINING once drain() was called. */
  get health(): Health {
    return this.draining ? 'DRAINING' : this.appHealth;
  }

  get stats(): RegistrarStats {
    return {
      ...this.counts,
      currentHub: this.session?.target,
      lastError: this.lastError,
      ...(this.registeredAt !== undefined ? { registeredAt: this.registeredAt } : {}),
      ...(this.refusal !== undefined ? { refusal: this.refusal } : {}),
    };
  }

  start(): void {
    if (this.current === 'stopped') throw new OutriggerError('failed_precondition', 'the registrar is stopped; create a new one');
    if (this.current !== 'idle') return;
    this.connect();
  }

  /**
   * Reports the app's health: sent at once on an open session, and re-asserted on every
   * reconnect. Only transitions are sent. After drain() the hub keeps seeing DRAINING; the
   * value is still remembered.
   */
  setHealth(health: CheckedHealth): void {
    if (!isCheckedHealth(health)) throw new OutriggerError('invalid_argument', `health: must be HEALTHY, UNHEALTHY or UNKNOWN, got ${String(health)}`, 'health');
    if (health === this.appHealth) return;
    this.appHealth = health;
    const session = this.session;
    if (session === undefined || this.draining || this.deregistration !== undefined) return;
    session.send('report_health', { report_health: { id: this.id, health } }, (a) => this.onAnswer(session, 'report_health', a));
  }

  /**
   * Marks the instance DRAINING at the hub (no new work; the lease stays). Resolves once a hub
   * has acknowledged DRAINING. Rejects with an `unavailable` OutriggerError when none did within
   * timeoutMs (or the registrar was stopped); the registrar keeps asserting DRAINING on every
   * later session regardless. In backoff, the next attempt is made at once.
   */
  drain(timeoutMs = this.options.confirmTimeoutMs): Promise<void> {
    if (this.current === 'stopped') return Promise.reject(stoppedError('drain'));
    this.draining = true;
    const wait = new BoundedWait(
      this.clock,
      timeoutMs,
      () => new OutriggerError('unavailable', `no hub acknowledged DRAINING within ${timeoutMs} ms; it is asserted on the next session`),
      () => this.drainWaits.delete(wait),
    );
    this.drainWaits.add(wait);
    const session = this.session;
    if (session !== undefined && this.deregistration === undefined) {
      session.send('drain', { drain: { id: this.id } }, (a) => this.onAnswer(session, 'drain', a));
    } else {
      this.connectNow();
    }
    return wait.promise;
  }

  /**
   * Removes the instance at the hub, then stops. Resolves once a hub confirmed the removal (an
   * instance the hub no longer knows counts as removed). Rejects with an `unavailable`
   * OutriggerError when no hub confirmed within timeoutMs; the registrar is stopped either way,
   * and the hub's TTL then removes the instance. In backoff, the next attempt is made at once.
   */
  deregister(timeoutMs = this.options.confirmTimeoutMs): Promise<void> {
    if (this.deregistration !== undefined) return this.deregistration.promise;
    if (this.current === 'stopped') return Promise.reject(stoppedError('deregister'));
    this.deregistration = new BoundedWait(
      this.clock,
      timeoutMs,
      () => new OutriggerError('unavailable', `no hub confirmed the deregistration within ${timeoutMs} ms; the lease TTL will remove ${this.id}`),
      () => this.stop(),
    );
    const promise = this.deregistration.promise;
    this.stopHeartbeats();
    if (this.session !== undefined) this.sendDeregister(this.session);
    else this.connectNow();
    return promise;
  }

  /**
   * Cancels the stream without deregistering (the hub's TTL then runs) and releases every timer
   * and channel at once; requests the hub has not answered yet may be lost with it. Pending
   * drain() and deregister() calls reject. Idempotent; a stopped registrar cannot be restarted.
   */
  stop(): void {
    if (this.current === 'stopped') return;
    this.backoff.cancel();
    this.dropSession();
    this.setState('stopped');
    for (const w of [...this.drainWaits]) w.reject(stoppedError('drain'));
    this.deregistration?.reject(stoppedError('deregister'));
    this.logger.info('registrar stopped');
  }

  // ---- sessions ----

  private connect(): void {
    const hubs = this.options.hubs;
    const hub = hubs[this.nextHub % hubs.length]!;
    this.nextHub = (this.nextHub + 1) % hubs.length;
    this.counts.attempts++;
    let session: HubSession;
    try {
      session = new HubSession({
        target: hub,
        clock: this.clock,
        ackTimeoutMs: this.options.ackTimeoutMs,
        channelOptions: this.options.channelOptions,
        credentials: this.options.credentials,
        onLost: (reason, code) => {
          const refused = code === undefined ? undefined : REFUSALS.get(code);
          if (refused !== undefined && session === this.session) this.noteRefusal({ code: refused, message: reason });
          this.lost(session, reason);
        },
      });
    } catch (err) {
      this.retry(`cannot open a session to ${hub}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.session = session;
    this.setState('connecting');
    if (this.deregistration !== undefined) {
      this.sendDeregister(session);
      return;
    }
    const register = registerRequest(this.options.registration, this.health);
    session.send('register', { register }, (answer) => {
      if (session !== this.session) return;
      if (answer.error !== undefined) this.rejected(session, 'register', answer.error);
      else this.registered(session, answer.instance ?? {});
    });
  }

  private registered(session: HubSession, instance: WireInstance): void {
    this.backoff.reset();
    this.refusal = undefined;
    this.counts.connects++;
    if (this.counts.connects > 1) this.counts.reconnects++;
    this.registeredAt = this.clock.now();
    this.setState('registered');
    if (this.deregistration === undefined) this.startHeartbeats(session);
    this.logger.info('registered at the hub', { hub: session.target, health: instance.reported_health ?? instance.health });
    this.emit('registered', instance, session.target);
    this.acknowledged('register', instance);
  }

  private startHeartbeats(session: HubSession): void {
    this.stopHeartbeats();
    this.heartbeatTimer = this.clock
      .setInterval(() => {
        if (session !== this.session) return;
        session.send('heartbeat', { heartbeat: { id: this.id, health: this.health } }, (a) => this.onAnswer(session, 'heartbeat', a));
      }, this.options.heartbeatIntervalMs)
      .unref();
  }

  private stopHeartbeats(): void {
    this.clock.clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private sendDeregister(session: HubSession): void {
    session.send('deregister', { deregister: { id: this.id } }, (answer) => {
      if (session !== this.session) return;
      // Not found means someone (the TTL, an operator) removed it already: the goal is reached.
      if (answer.error !== undefined && answer.error.code !== 'not_found') {
        this.rejected(session, 'deregister', answer.error);
        return;
      }
      if (answer.instance !== undefined) this.acknowledged('deregister', answer.instance);
      this.logger.info('deregistered at the hub', { hub: session.target });
      this.deregistration?.resolve();
    });
  }

  private onAnswer(session: HubSession, kind: SessionRequestKind, answer: SessionResponse): void {
    if (session !== this.session) return;
    if (answer.error !== undefined) {
      this.rejected(session, kind, answer.error);
      return;
    }
    if (kind === 'heartbeat') this.counts.heartbeats++;
    this.acknowledged(kind, answer.instance ?? {});
  }

  private acknowledged(kind: SessionRequestKind, instance: WireInstance): void {
    this.emit('ack', kind, instance);
    if (this.draining && (instance.reported_health ?? instance.health) === 'DRAINING') {
      for (const w of [...this.drainWaits]) w.resolve();
    }
  }

  /** The hub answered with an error: log it naming the field, then back off like any loss. */
  private rejected(session: HubSession, kind: SessionRequestKind, err: WireError): void {
    const error: HubRequestError = {
      request: kind,
      hub: session.target,
      grpcCode: err.grpc_code ?? grpc.status.UNKNOWN,
      code: err.code ?? 'unknown',
      message: err.message ?? '',
      ...(err.field !== undefined && err.field !== '' ? { field: err.field } : {}),
    };
    this.logger.warn('the hub rejected a session request', {
      request: kind,
      hub: error.hub,
      code: error.code,
      message: error.message,
      ...(error.field !== undefined ? { field: error.field } : {}),
    });
    this.emit('hubError', error);
    if (error.code === 'unauthenticated' || error.code === 'permission_denied') this.noteRefusal({ code: error.code, message: error.message });
    const where = error.field !== undefined ? ` (field ${error.field})` : '';
    this.lost(session, `the hub rejected ${kind}: ${error.code}${where}: ${error.message}`);
  }

  private noteRefusal(refusal: HubRefusal): void {
    this.refusal = refusal;
    this.logger.error('the hub refused this sidecar: check its identity (hub_token_file, hub_tls) and the role and scopes the hub gives it', {
      code: refusal.code,
      message: refusal.message,
    });
    this.emit('refused', refusal);
  }

  private lost(session: HubSession, reason: string): void {
    if (session !== this.session) return;
    this.dropSession();
    this.retry(reason);
  }

  private retry(reason: string): void {
    if (this.current === 'stopped') return;
    this.lastError = reason;
    const delay = this.backoff.schedule(() => this.connect());
    this.setState('backoff');
    this.logger.warn('no hub session; trying the next hub after a backoff', { reason, retry_in_ms: delay, attempt: this.backoff.attempts });
    this.emit('disconnected', reason, delay);
  }

  /** drain() or deregister() in backoff (or before start) try a hub now rather than later. */
  private connectNow(): void {
    if (this.current !== 'backoff' && this.current !== 'idle') return;
    this.backoff.cancel();
    this.connect();
  }

  private dropSession(): void {
    this.stopHeartbeats();
    this.session?.close();
    this.session = undefined;
    this.registeredAt = undefined;
  }

  private setState(next: RegistrarState): void {
    const previous = this.current;
    if (previous === next) return;
    this.current = next;
    this.emit('state', next, previous);
  }
}

function stoppedError(what: 'drain' | 'deregister'): OutriggerError {
  return new OutriggerError('unavailable', `the registrar is stopped; no hub confirmed the ${what}`);
}
