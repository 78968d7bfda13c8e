/**
 * How the CLI asks a hub's (or a sidecar's) HTTP API: a bearer token, TLS files for an https
 * hub, a 5 s bound, and errors that say what to give when a certificate is not trusted or a
 * token is missing or refused.
 */
import { readFileSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import { OutriggerError } from '../common/errors.js';

/** TLS to an https hub: the CA its certificate chains to, and a client certificate when it requires one. */
export interface HubTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface HubClient {
  token?: string;
  dispatcher?: Dispatcher;
  /** Says what to add when a certificate is not trusted. */
  hasCa: boolean;
}

function readFor(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new OutriggerError('config_invalid', `${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, flag);
  }
}

/** An undici agent that trusts the given CA and presents the client certificate; undefined without TLS files. */
export async function tlsDispatcher(tls: HubTlsFiles | undefined): Promise<Dispatcher | undefined> {
  if (tls === undefined || (tls.caFile === undefined && tls.certFile === undefined && tls.keyFile === undefined)) return undefined;
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new OutriggerError('config_invalid', `${tls.certFile === undefined ? '--cert-file' : '--key-file'}: give --cert-file and --key-file together`, tls.certFile === undefined ? '--cert-file' : '--key-file');
  }
  const connect = {
    ...(tls.caFile !== undefined ? { ca: readFor('--ca-file', tls.caFile) } : {}),
    ...(tls.certFile !== undefined ? { cert: readFor('--cert-file', tls.certFile), key: readFor('--key-file', tls.keyFile!) } : {}),
  };
  const { Agent } = await import('undici');
  return new Agent({ connect });
}

const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

export async function fetchJson(url: string, what: string, client: HubClient = { hasCa: false }): Promise<{ status: number; body: unknown }> {
  const { token, dispatcher } = client;
  let res: Awaited<ReturnType<typeof import('undici').fetch>>;
  try {
    // undici's own fetch: Node's global one may not take a dispatcher of another undici version.
    const { fetch } = await import('undici');
    res = await fetch(url, {
      signal: AbortSignal.timeout(5000),
      ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}),
      ...(dispatcher !== undefined ? { dispatcher } : {}),
    });
  } catch (err) {
    const cause = (err as Error).cause as (Error & { code?: string }) | undefined;
    const hint = !client.hasCa && UNTRUSTED.test(cause?.code ?? '') ? " (give the hub's CA with --ca-file)" : '';
    throw new OutriggerError('unavailable', `cannot reach the ${what} at ${url}: ${cause instanceof Error ? cause.message : (err as Error).message}${hint}`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (res.status === 401 || res.status === 403) {
    const message = (body as { error?: { message?: string } } | undefined)?.error?.message ?? `status ${res.status}`;
    const hint = token === undefined ? ' (give a token with --token-file or OUTRIGGER_TOKEN)' : '';
    throw new OutriggerError(res.status === 401 ? 'unauthenticated' : 'permission_denied', `the ${what} at ${url} refused the request: ${message}${hint}`);
  }
  return { status: res.status, body };
}

export async function getJson(url: string, what: string, client?: HubClient): Promise<unknown> {
  const { status, body } = await fetchJson(url, what, client);
  if (status < 200 || status > 299) throw new OutriggerError('unavailable', `the ${what} answered ${status} for ${url}`);
  return body;
}
