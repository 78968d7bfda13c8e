/**
 * The bearer verifiers `auth` turns on, in the order the Authenticator tries them: JWTs whose
 * `iss` is `auth.jwt.issuer` go to the JWT verifier, every other JWT to the TokenReview verifier
 * (Kubernetes ServiceAccount tokens, whose issuer varies by cluster). Built at start, before the
 * listeners open, so a key file or kubeconfig that cannot be used stops the start with a config
 * error naming it.
 */
import type { BearerVerifier } from '../auth/authenticator.js';
import type { Bindings } from '../auth/bindings.js';
import { JwtVerifier } from '../auth/jwt-verifier.js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { HubConfig } from '../config/hub-config.js';

export interface HubVerifiers {
  readonly verifiers: readonly BearerVerifier[];
  close(): void;
}

export async function createBearerVerifiers(
  auth: HubConfig['auth'],
  deps: { clock: Clock; logger: Logger; bindings: Bindings; resolvePath: (p: string) => string },
): Promise<HubVerifiers> {
  const { clock, logger, bindings, resolvePath } = deps;
  const verifiers: BearerVerifier[] = [];
  let jwt: JwtVerifier | undefined;
  const j = auth.jwt;
  if (j.enabled) {
    const file = (p: string): string => (p === '' ? '' : resolvePath(p));
    jwt = await JwtVerifier.create({
      issuer: j.issuer,
      audience: j.audience,
      keyFiles: { hs256SecretFile: file(j.hs256_secret_file), publicKeyFiles: j.public_key_files.map(file), jwksFile: file(j.jwks_file) },
      roleClaim: j.role_claim,
      scopesClaim: j.scopes_claim,
      defaultScopes: j.default_scopes,
      clockToleranceMs: j.clock_tolerance,
      reloadIntervalMs: auth.reload_interval,
      clock,
      logger,
    });
    jwt.watch();
    verifiers.push(jwt);
  }
  const k = auth.kubernetes;
  if (k.enabled) {
    // Loaded only when enabled: the Kubernetes client is about a third of the hub's memory.
    const [{ TokenReviewVerifier }, { loadKubeConfig }] = await Promise.all([import('../auth/token-review.js'), import('../k8s/endpoint-slice/kube-config.js')]);
    const kubeConfig = loadKubeConfig(k.kubeconfig === '' ? '' : resolvePath(k.kubeconfig), process.env, 'auth.kubernetes.kubeconfig');
    verifiers.push(new TokenReviewVerifier({ kubeConfig, audience: k.audience, cacheTtlMs: k.cache_ttl, bindings, clock, logger }));
  }
  return {
    verifiers,
    close: () => jwt?.close(),
  };
}
