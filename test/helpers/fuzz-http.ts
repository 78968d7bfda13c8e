/**
 * One HTTP exchange for the fuzzers, with node:http's client (so the method, target, headers and
 * body bytes are exactly the generated ones, as far as a valid HTTP/1.1 request allows), bounded,
 * and a percent-encoder that takes any string, even one with a lone surrogate.
 */
import http from 'node:http';
import https from 'node:https';

export interface Exchange {
  method: string;
  /** The request target as sent: `/path?query`, `*`, or an absolute URL. */
  target: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Send the body chunked instead of with a Content-Length. */
  chunked?: boolean;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Endpoint {
  port: number;
  agent: http.Agent;
  /** Set for an HTTPS server: the CA to trust. */
  tls?: { ca: string };
}

/**
 * Sends one request; rejects when no answer arrives within `timeoutMs` or the connection fails
 * first. A kept-alive connection the server closed after its last answer (it may: it cut a body
 * it would not read) is retried once on a new one, as node's documentation advises.
 */
export async function exchange(to: Endpoint, x: Exchange, timeoutMs: number): Promise<Answer> {
  try {
    return await exchangeOnce(to, x, timeoutMs);
  } catch (err) {
    if (!(err instanceof StaleConnectionError)) throw err;
    return exchangeOnce(to, x, timeoutMs);
  }
}

class StaleConnectionError extends Error {}

function exchangeOnce(to: Endpoint, x: Exchange, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...x.headers };
    if (x.body !== undefined) {
      if (x.chunked === true) headers['transfer-encoding'] = 'chunked';
      else headers['content-length'] = String(x.body.length);
    }
    const options: https.RequestOptions = {
      host: '127.0.0.1',
      port: to.port,
      method: x.method,
      path: x.target,
      headers,
      agent: to.agent,
      signal: AbortSignal.timeout(timeoutMs),
      ...(to.tls !== undefined ? { ca: to.tls.ca } : {}),
    };
    let answered: Answer | undefined;
    const req = (to.tls !== undefined ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        answered = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
        resolve(answered);
      });
      res.on('error', (err) => reject(err));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A server may answer before reading the whole body and close; the answer is what counts.
      if (answered !== undefined) return;
      const stale = req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      reject(stale ? new StaleConnectionError(err.message) : new Error(`no answer to ${x.method} ${x.target.slice(0, 120)}: ${err.message}`));
    });
    if (x.body === undefined) req.end();
    else if (x.chunked === true) {
      req.write(x.body);
      req.end();
    } else req.end(x.body);
  });
}

/** RFC 3986 percent-encoding of the UTF-8 bytes (a lone surrogate becomes U+FFFD, as Buffer writes it). */
export function percentEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A string as raw target bytes, as far as node:http lets a client send them: characters from
 * 0x21 to 0xFF go as they are (bytes above 0x7F included), everything else, and `/ ? #`, is
 * percent-encoded.
 */
export function rawTargetText(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    out += code >= 0x21 && code <= 0xff && ch !== '/' && ch !== '?' && ch !== '#' ? ch : percentEncode(ch);
  }
  return out;
}

/** Percent sequences that do not decode: truncated, not hex, overlong and surrogate UTF-8, NUL. */
export const BAD_PERCENT = ['%', '%2', '%zz', '%%', '%C0%AF', '%ED%A0%80', '%FF', '%E2%82', 'a%00b', '%2e%2e', '%2F', '..', '.'] as const;
