/**
 * One Session stream to one hub, on a channel of its own. Requests go out with a nonce and their
 * answers (which the hub sends in order) are matched back to their callbacks. The session
 * reports itself lost, once, when the stream ends or fails, or when the hub leaves a request
 * unanswered for ackTimeoutMs: a hub that still holds the connection but no longer answers is as
 * gone as one that closed it.
 */
import * as grpc from '@grpc/grpc-js';
import type { Clock, TimerHandle } from '../common/clock.js';
import type { SessionRequest, SessionResponse } from '../wire/messages.js';
import { createRegistryClient, type RegistryClient } from '../wire/registry-client.js';

export type SessionRequestKind = NonNullable<SessionRequest['request']>;
/** A request without its nonce; exactly one of register, heartbeat, ... is set. */
export type SessionBody = Omit<SessionRequest, 'nonce' | 'request'>;

/**
 * Channel settings for a session. Keepalive pings make a hub that vanished without closing the
 * connection (a dead node, a dropped path) noticed within time + timeout instead of TCP's
 * minutes; the hub permits pings every 5 s, so 20 s is well inside its policy.
 */
export const REGISTRAR_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  // A subchannel pool of this channel's own: closing the channel closes its connection at once
  // instead of leaving it to grpc-js's process-wide pool, so stop() leaves no socket behind.
  'grpc.use_local_subchannel_pool': 1,
};

export interface HubSessionOptions {
  /** host:port of the hub's gRPC listener. */
  target: string;
  clock: Clock;
  ackTimeoutMs: number;
  channelOptions: grpc.ClientOptions;
  credentials: () => grpc.ChannelCredentials;
  /** Called once when the session is lost by itself, with the stream's status if it ended with one; never after close(). */
  onLost: (reason: string, code?: grpc.status) => void;
}

interface Pending {
  kind: SessionRequestKind;
  timer: TimerHandle;
  onAnswer: (answer: SessionResponse) => void;
}

export class HubSession {
  readonly target: string;
  private readonly client: RegistryClient;
  private readonly call: grpc.ClientDuplexStream<SessionRequest, SessionResponse>;
  private readonly pending = new Map<number, Pending>();
  private nonce = 0;
  private closed = false;

  constructor(private readonly options: HubSessionOptions) {
    this.target = options.target;
    this.client = createRegistryClient(options.target, options.credentials(), options.channelOptions);
    try {
      this.call = this.client.Session();
    } catch (err) {
      this.client.close();
      throw err;
    }
    this.call.on('data', (answer: SessionResponse) => this.onAnswer(answer));
    // 'error' comes first and carries the status; 'status' alone covers a clean end by the hub.
    this.call.on('error', (err: grpc.ServiceError) => this.lost(describeStatus(err.code, err.details), err.code));
    this.call.on('status', (s: grpc.StatusObject) =>
      this.lost(s.code === grpc.status.OK ? 'the hub ended the session' : describeStatus(s.code, s.details), s.code),
    );
  }

  /** Sends one request; `onAnswer` gets its answer unless the session is lost or closed first. */
  send(kind: SessionRequestKind, body: SessionBody, onAnswer: (answer: SessionResponse) => void): void {
    if (this.closed) return;
    const nonce = ++this.nonce;
    const timer = this.options.clock
      .setTimeout(() => this.lost(`the hub did not answer ${kind} within ${this.options.ackTimeoutMs} ms`), this.options.ackTimeoutMs)
      .unref();
    this.pending.set(nonce, { kind, timer, onAnswer });
    this.call.write({ ...body, nonce });
  }

  /** Ends the stream (the hub then starts the leases' TTL) and closes the channel. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) this.options.clock.clearTimeout(p.timer);
    this.pending.clear();
    this.call.cancel();
    this.client.close();
  }

  private onAnswer(answer: SessionResponse): void {
    const p = answer.nonce === undefined ? undefined : this.pending.get(answer.nonce);
    if (p === undefined || this.closed) return;
    this.options.clock.clearTimeout(p.timer);
    this.pending.delete(answer.nonce!);
    p.onAnswer(answer);
  }

  private lost(reason: string, code?: grpc.status): void {
    if (this.closed) return;
    this.close();
    this.options.onLost(reason, code);
  }
}

function describeStatus(code: grpc.status, details: string): string {
  return `${grpc.status[code] ?? code}: ${details}`;
}
