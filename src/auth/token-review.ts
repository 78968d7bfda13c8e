/**
 * Kubernetes ServiceAccount tokens (projected, made for the audience `auth.kubernetes.audience`),
 * verified with a TokenReview (authentication.k8s.io/v1) against the API server. The hub tries
 * this verifier after the JWT verifier: it claims the JWTs whose subject is a ServiceAccount.
 *
 * An authenticated review must name the audience and a user `system:serviceaccount:<ns>:<sa>`;
 * Bindings gives it its role (by default, the service role for the service named like its
 * ServiceAccount). Answers are cached by the token's SHA-256 until shortly before the token
 * expires and at most `auth.kubernetes.cache_ttl`; refusals briefly, so a bad token repeated
 * cannot make the hub hammer the API server; concurrent calls with one token share one review,
 * and at most `maxInFlight` reviews wait at once. A token that cannot be a projected token for
 * this hub by its own (unverified) header and claims (not RS256 or ES256, no numeric `exp`, expired,
 * no `aud` naming the audience) is refused without asking.
 * An API server that cannot be reached, or that refuses the hub itself, is `unavailable`: the
 * caller's token may be fine, so it is not told it is not.
 *
 * The KubeConfig comes from the hub: auth sits below config and k8s in the layers (config
 * imports auth for its schemas), so it cannot load one itself. This module imports
 * @kubernetes/client-node, about a third of the hub's memory, so the hub loads it only when
 * `auth.kubernetes.enabled` is true.
 */
import { ApiException, AuthenticationV1Api, Observable, type KubeConfig, type V1TokenReview } from '@kubernetes/client-node';
import type { Clock } from '../common/clock.js';
import { OutriggerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { unauthenticated, unverifiedHeader, type BearerVerifier } from './authenticator.js';
import type { Bindings } from './bindings.js';
import type { Identity } from './identity.js';
import { TokenCache } from './token-cache.js';
import { serviceAccountWorkload } from '../model/workload-names.js';

export interface TokenReviewOptions {
  kubeConfig: KubeConfig;
  /** The audience the tokens must be made for. */
  audience: string;
  /** Longest an authenticated answer is reused. */
  cacheTtlMs: number;
  bindings: Bindings;
  clock: Clock;
  logger: Logger;
  /** How long the API server may take to answer one review. */
  timeoutMs?: number;
  /** Most reviews waiting for the API server at once; calls beyond are `unavailable`. */
  maxInFlight?: number;
}

/** An answer is dropped this long before the token expires, so no call rides on a token about to lapse. */
export const EXPIRY_MARGIN_MS = 30_000;
/** How long a refused token is refused without asking again. */
export const REFUSAL_TTL_MS = 10_000;
/** Refusals remembered at once. */
export const REFUSAL_CACHE_ENTRIES = 2_000;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_IN_FLIGHT = 64;
const SERVICE_ACCOUNT_SUBJECT = 'system:serviceaccount:';

type Answer = { identity: Identity } | { refusal: OutriggerError };

const refused = (why: string) => unauthenticated(`ServiceAccount token refused: ${why}`);
const clip = (text: string, max = 200): string => (text.length > max ? `${text.slice(0, max - 3)}...` : text);
const notForAudience = (audience: string) => refused(`it is not made for the audience ${JSON.stringify(audience)} (auth.kubernetes.audience); project it with that audience`);

export class TokenReviewVerifier implements BearerVerifier {
  private readonly api: AuthenticationV1Api;
  private readonly answers: TokenCache<Answer>;
  /** Refusals apart and fewer: many bad tokens must not push the good answers out. */
  private readonly refusals: TokenCache<Answer>;
  private readonly inflight = new Map<string, Promise<Answer>>();

  constructor(private readonly options: TokenReviewOptions) {
    this.api = options.kubeConfig.makeApiClient(AuthenticationV1Api);
    this.answers = new TokenCache(options.clock);
    this.refusals = new TokenCache(options.clock, REFUSAL_CACHE_ENTRIES);
  }

  /** JWTs whose subject is a ServiceAccount, whatever their issuer: it varies by cluster. */
  claims(payload: Record<string, unknown>): boolean {
    return typeof payload.sub === 'string' && payload.sub.startsWith(SERVICE_ACCOUNT_SUBJECT);
  }

  async verify(token: string, payload: Record<string, unknown>): Promise<Identity> {
    const { clock, audience, maxInFlight = DEFAULT_MAX_IN_FLIGHT } = this.options;
    // Unverified, but only ever used to refuse: a token that cannot be a projected one for this
    // hub needs no round trip, so forged tokens cost the API server nothing.
    const alg = unverifiedHeader(token)?.alg;
    if (alg !== 'RS256' && alg !== 'ES256') throw refused(`its header names the algorithm ${JSON.stringify(alg) ?? 'none'}; Kubernetes signs ServiceAccount tokens with RS256 or ES256`);
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) throw refused('it has no numeric "exp": project the token (a volume with serviceAccountToken) so it expires');
    const exp = payload.exp * 1000;
    if (exp <= clock.now()) throw refused(`token expired at ${new Date(exp).toISOString()}`);
    const aud = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    if (!aud.includes(audience)) throw notForAudience(audience);
    const key = TokenCache.key(token);
    let answer: Answer | undefined = this.answers.get(key) ?? this.refusals.get(key);
    if (answer === undefined) {
      let pending = this.inflight.get(key);
      if (pending === undefined) {
        if (this.inflight.size >= maxInFlight) {
          throw new OutriggerError('unavailable', `cannot verify the ServiceAccount token now: ${maxInFlight} TokenReviews are already waiting for the Kubernetes API server; retry later`);
        }
        pending = this.review(token, key, exp).finally(() => this.inflight.delete(key));
        this.inflight.set(key, pending);
      }
      answer = await pending;
    }
    if ('refusal' in answer) throw answer.refusal;
    return answer.identity;
  }

  /** Asks the API server once, caches the answer, and resolves with it; throws `unavailable` when it cannot be asked. */
  private async review(token: string, key: string, exp: number): Promise<Answer> {
    const { clock, cacheTtlMs } = this.options;
    const status = (await this.send(token)).status ?? {};
    const now = clock.now();
    const answer = this.judge(status, exp);
    if ('refusal' in answer) this.refusals.set(key, answer, now + Math.min(REFUSAL_TTL_MS, cacheTtlMs));
    else this.answers.set(key, answer, Math.min(now + cacheTtlMs, exp - EXPIRY_MARGIN_MS));
    return answer;
  }

  private judge(status: NonNullable<V1TokenReview['status']>, exp: number): Answer {
    const { audience, bindings } = this.options;
    if (status.authenticated !== true) return { refusal: refused(`the Kubernetes API server did not authenticate it${status.error ? `: ${clip(status.error)}` : ''}`) };
    // An empty list means the API server's own audience: a token not made for Outrigger.
    if (!(status.audiences ?? []).includes(audience)) return { refusal: notForAudience(audience) };
    const username = status.user?.username ?? '';
    const workload = serviceAccountWorkload(username);
    if (workload === undefined) return { refusal: refused(`it authenticates ${JSON.stringify(clip(username, 100))}, which is not a ServiceAccount (system:serviceaccount:<namespace>:<name>)`) };
    return { identity: bindings.workload(username, 'service-account', 'kubernetes', workload, exp) };
  }

  private async send(token: string): Promise<V1TokenReview> {
    const { clock, timeoutMs = DEFAULT_TIMEOUT_MS, logger } = this.options;
    const abort = new AbortController();
    const timer = clock.setTimeout(() => abort.abort(), timeoutMs);
    try {
      return await this.api.createTokenReview(
        { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.options.audience] } } },
        {
          middleware: [{ pre: (ctx) => (ctx.setSignal(abort.signal), new Observable(Promise.resolve(ctx))), post: (res) => new Observable(Promise.resolve(res)) }],
          middlewareMergeStrategy: 'append',
        },
      );
    } catch (err) {
      // Never the error's message or body: they may carry the request, and so the token.
      const why = abort.signal.aborted
        ? `it did not answer within ${timeoutMs} ms`
        : err instanceof ApiException
          ? `it answered HTTP ${err.code}${err.code === 401 || err.code === 403 ? ' to the hub itself: the hub may not create tokenreviews (authentication.k8s.io); grant it that, e.g. with the ClusterRole system:auth-delegator' : ''}`
          : `${(err as NodeJS.ErrnoException).code ?? (err as Error).name ?? 'error'}`;
      logger.error('auth: cannot review a ServiceAccount token with the Kubernetes API server', { reason: why });
      throw new OutriggerError('unavailable', `cannot verify the ServiceAccount token now: the Kubernetes API server cannot be asked (${why}); retry later`);
    } finally {
      clock.clearTimeout(timer);
    }
  }
}
