import { BrokenCircuitError, ConsecutiveBreaker, ExponentialBackoff, TimeoutStrategy, circuitBreaker, handleWhen, retry, timeout, wrap } from 'cockatiel';
import { isRecoverableError, type IOptions } from 'etcd3';

export interface EtcdFaultHandlingOptions {
  /** How long one attempt of a call on one member may take before it is tried again, on the next member. */
  attemptTimeoutMs: number;
  /** How long a call is tried again, member after member, before it fails. */
  budgetMs: number;
}

/** A member whose calls failed this many times in a row is skipped... */
const FAILURES_TO_SKIP = 3;
/** ...for this long, then tried with one call again. */
const SKIP_MS = 1000;

/**
 * How the etcd client rides out a member that dies. etcd3's defaults do not: a call carries one
 * deadline for all its attempts, so a transaction a follower forwarded to a leader that then died
 * (etcd drops it and answers only at its own request timeout) uses up the whole deadline and is
 * never tried again; and a member's circuit, once open, refuses calls for 5 s even after the
 * cluster is whole, while a probe through another member already says it is.
 *
 * Here every unary call has a deadline per attempt, and is tried again on the next member, a short
 * pause apart, until the budget is spent; a call finding every member's circuit open waits for one
 * to half-open rather than failing. The probe goes through the same policies, so when it answers,
 * so do writes. Streams (watch, lease keep-alive) are re-attached by etcd3 itself, on a short
 * backoff; keep-alive pings find a member that vanished without closing its connections.
 */
export function etcdFaultHandling(options: EtcdFaultHandlingOptions): Pick<IOptions, 'faultHandling' | 'defaultCallOptions' | 'grpcOptions'> {
  const retryable = handleWhen((err) => isRecoverableError(err) || err instanceof BrokenCircuitError);
  return {
    faultHandling: {
      global: wrap(
        timeout(options.budgetMs, TimeoutStrategy.Cooperative),
        retry(retryable, { maxAttempts: Number.POSITIVE_INFINITY, backoff: new ExponentialBackoff({ initialDelay: 25, maxDelay: 250 }) }),
      ),
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: SKIP_MS, breaker: new ConsecutiveBreaker(FAILURES_TO_SKIP) }),
      // etcd3 takes the backoff's first step (duration 0) and steps it on each failed re-attach.
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }).next(),
    },
    // A call that names its own deadline (a relist of everything) keeps it for all its attempts.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + options.attemptTimeoutMs }),
    // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time).
    grpcOptions: { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 },
  };
}
