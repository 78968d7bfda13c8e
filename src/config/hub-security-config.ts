/**
 * The hub's security settings: who may call it (`auth`), how its listeners are encrypted
 * (`tls`), and the limits that keep one caller from exhausting it (`limits`). Secure by default:
 * auth is on, and turning it off takes `auth.enabled: false`.
 */
import { z } from 'zod';
import { bindingSchema } from '../auth/bindings.js';
import { ROLES } from '../auth/roles.js';
import { scopeSchema } from '../auth/scope.js';
import { durationSchema } from '../common/duration.js';

const path = (what: string) => z.string({ error: `must be a path to ${what}, or empty` });
const bool = z.boolean({ error: 'must be true or false' });
const count = (min: number, max: number) =>
  z
    .number({ error: `must be an integer from ${min} to ${max}` })
    .int({ error: `must be an integer from ${min} to ${max}` })
    .min(min, { error: `must be an integer from ${min} to ${max}` })
    .max(max, { error: `must be an integer from ${min} to ${max}` });

export const CLIENT_AUTH_MODES = ['none', 'optional', 'require'] as const;

/** The audience of the projected ServiceAccount tokens injected sidecars present, and the hub's default. */
export const KUBERNETES_TOKEN_AUDIENCE = 'outrigger';

const jwtSchema = z
  .strictObject({
    enabled: bool.default(false).describe('Accept bearer JWTs (the AI-CORE seed\'s) signed with the keys below; each must carry exp, sub and the role claim'),
    issuer: z.string({ error: 'must be a string' }).default('').describe('Required "iss" claim; JWTs of any other issuer go to the ServiceAccount token check (auth.kubernetes), or are refused'),
    audience: z.string({ error: 'must be a string' }).default('').describe('Required "aud" claim: a JWT must name this hub, so one made for another service is refused (required with auth.jwt.enabled)'),
    hs256_secret_file: path('a file holding the HS256 secret').default('').describe('File holding the shared HS256 secret (at least 32 bytes; one trailing newline is ignored)'),
    public_key_files: z.array(path('a PEM public key')).default([]).describe('PEM public keys: RSA (2048 bits or more) for RS256, P-256 for ES256'),
    jwks_file: path('a JWKS (JSON Web Key Set) file').default('').describe('A JSON Web Key Set file of public keys; a JWT without kid is tried against every key of its type'),
    role_claim: z.string({ error: 'must be a claim name' }).min(1, { error: 'must be a claim name' }).default('role').describe(`Claim holding the role: ${ROLES.join(', ')}`),
    scopes_claim: z.string({ error: 'must be a claim name' }).min(1, { error: 'must be a claim name' }).default('scopes').describe('Claim holding the scopes: a list, or a space-separated string (a service JWT may add "reads" the same way)'),
    default_scopes: z.array(scopeSchema).default([]).describe('Scopes of a JWT without a scopes claim (the AI-CORE seed\'s tokens carry none); none by default'),
    clock_tolerance: durationSchema({ min: 0, max: 600_000 }).default(30_000).describe('Leeway on exp and nbf for clock skew (whole seconds count)'),
  })
  .superRefine((j, ctx) => {
    if (!j.enabled) return;
    if (j.issuer === '') ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'is required when auth.jwt.enabled is true' });
    // Without it, any token the issuer signed for any service would be good here.
    if (j.audience === '') ctx.addIssue({ code: 'custom', path: ['audience'], message: 'is required when auth.jwt.enabled is true: the "aud" claim the issuer puts in tokens made for this hub' });
    if (j.hs256_secret_file === '' && j.public_key_files.length === 0 && j.jwks_file === '') {
      ctx.addIssue({ code: 'custom', path: ['hs256_secret_file'], message: 'auth.jwt needs a key: set hs256_secret_file, public_key_files or jwks_file' });
    }
  });

export const authConfigSchema = z.strictObject({
  enabled: bool.default(true).describe('Require an identity on every hub API (off: anyone may do anything, and the hub warns)'),
  tokens_file: path('the tokens file').default('').describe('Static tokens (SHA-256 hashes), reloaded on change and written by the token API; empty: <data_dir>/tokens.yaml'),
  bootstrap_token_file: path('a file').default('').describe('Where a first start writes the bootstrap admin token (mode 0600); empty: <data_dir>/bootstrap-token'),
  reload_interval: durationSchema({ min: 100, max: 3_600_000 }).default(2000).describe('How often the tokens file is checked for changes'),
  anonymous: z
    .strictObject({
      enabled: bool.default(false).describe('Let callers without credentials read (role viewer) within anonymous.scopes; proxyless gRPC clients need it'),
      scopes: z.array(scopeSchema).prefault(['*']).describe('Where anonymous callers may read'),
    })
    .prefault({}),
  bindings: z.array(bindingSchema).default([]).describe('Roles for ServiceAccounts and certificates: [{identity, role, scopes, reads?}]'),
  trust_domain: z.string({ error: 'must be a SPIFFE trust domain' }).regex(/^[a-z0-9._-]+$/, { error: 'must be a SPIFFE trust domain: lowercase letters, digits, ".", "_" or "-"' }).default('cluster.local').describe('Trust domain of the SPIFFE ids in client certificates'),
  jwt: jwtSchema.prefault({}),
  kubernetes: z
    .strictObject({
      enabled: bool.default(false).describe('Accept Kubernetes ServiceAccount tokens (projected, audience below), checked with a TokenReview; the hub needs RBAC to create tokenreviews'),
      audience: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).default(KUBERNETES_TOKEN_AUDIENCE).describe('Audience the projected tokens must be made for; the sidecars the injector adds present tokens for "outrigger"'),
      kubeconfig: path('a kubeconfig file').default('').describe("Kubeconfig for the TokenReviews; empty: the pod's service account, else KUBECONFIG or ~/.kube/config"),
      cache_ttl: durationSchema({ min: 1000, max: 3_600_000 }).default(300_000).describe('Longest a TokenReview answer is reused (never within 30s of the token\'s expiry; refusals are reused 10s)'),
    })
    .prefault({}),
});

export const tlsConfigSchema = z
  .strictObject({
    cert_file: path('a PEM certificate (chain)').default('').describe('Serve both listeners over TLS with this certificate; empty: plaintext'),
    key_file: path('a PEM private key').default('').describe('Private key of tls.cert_file'),
    client_ca_file: path('a PEM CA bundle').default('').describe('CA bundle client certificates must chain to (mTLS)'),
    client_auth: z.enum(CLIENT_AUTH_MODES, { error: `must be one of ${CLIENT_AUTH_MODES.join(', ')}` }).default('none').describe('Client certificates: none, optional (verified when sent) or require (refused at the handshake without one)'),
    reload_interval: durationSchema({ min: 100, max: 3_600_000 }).default(10_000).describe('How often the certificate, key and CA files are checked for changes'),
  })
  .superRefine((t, ctx) => {
    if ((t.cert_file === '') !== (t.key_file === '')) ctx.addIssue({ code: 'custom', path: [t.cert_file === '' ? 'cert_file' : 'key_file'], message: 'set tls.cert_file and tls.key_file together' });
    if (t.client_auth !== 'none' && t.client_ca_file === '') ctx.addIssue({ code: 'custom', path: ['client_ca_file'], message: `is required with client_auth: ${t.client_auth}` });
    if (t.client_auth === 'none' && t.client_ca_file !== '') ctx.addIssue({ code: 'custom', path: ['client_auth'], message: 'is none, so tls.client_ca_file would be ignored: set client_auth to optional or require, or remove client_ca_file' });
    if (t.client_auth !== 'none' && t.cert_file === '') ctx.addIssue({ code: 'custom', path: ['client_auth'], message: 'needs TLS: set tls.cert_file and tls.key_file' });
  });

export const limitsConfigSchema = z.strictObject({
  writes_per_second: z.number({ error: 'must be a number of writes per second, 0 to turn the limit off' }).min(0, { error: 'must be a number of writes per second, 0 to turn the limit off' }).default(200).describe('Writes (REST, gRPC, Session, Cloud Map and Consul) per second allowed per identity; 0 turns the limit off'),
  write_burst: count(1, 1_000_000).default(1000).describe('Writes an identity may make at once above the rate'),
  max_instances_per_service: count(1, 10_000_000).default(10_000).describe('Most instances one service may hold'),
  max_instances_per_namespace: count(1, 10_000_000).default(100_000).describe('Most instances one namespace may hold'),
  max_streams_per_connection: count(1, 1_000_000).default(1000).describe('Concurrent gRPC streams per client connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS)'),
  max_streams_per_identity: count(1, 10_000_000).default(10_000).describe('Open Session, Watch and xDS streams per identity'),
  max_grpc_message_bytes: count(1024, 256 * 1024 * 1024).default(4 * 1024 * 1024).describe('Largest gRPC message the hub accepts'),
  http_headers_timeout: durationSchema({ min: 100, max: 600_000 }).default(10_000).describe('A REST client must send its request headers within this (slow-loris)'),
  http_request_timeout: durationSchema({ min: 100, max: 3_600_000 }).default(30_000).describe('A REST client must send its whole request within this'),
});
