import type http from 'node:http';
import { OutriggerError } from '../common/errors.js';
import { findJsonSyntaxError } from './json-syntax.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Deeper than any API body or Kubernetes object. JSON.parse takes any depth, but code that walks
 * a value recursively (JSON.stringify of a value an error message shows, String() of a nested
 * list) overflows the stack on tens of thousands of levels: such a body is refused up front.
 */
export const MAX_JSON_DEPTH = 512;

/** Thrown when the client went away mid-body; there is nobody left to answer. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

/** True when the request announces a body (a non-zero Content-Length, or chunked encoding). */
export function hasBody(req: http.IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > 0;
}

/** Only JSON is accepted; a charset other than UTF-8 would be decoded wrongly, so it is refused too. */
function checkContentType(header: string | undefined): void {
  const [type = '', ...params] = (header ?? '').split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (type === 'application/json' && (charset === undefined || charset === 'utf-8' || charset === 'utf8')) return;
  const got = header === undefined ? 'none' : JSON.stringify(header);
  throw new OutriggerError('unsupported_media_type', `content-type: the body must be JSON sent as "application/json", got ${got}`, 'content-type');
}

function tooLarge(max: number): OutriggerError {
  return new OutriggerError('payload_too_large', `body: larger than the limit of ${max} bytes`, 'body');
}

/**
 * Reads a JSON request body of at most maxBytes. Returns undefined when there is no body.
 * Over the limit it stops keeping data at once (a declared Content-Length over it is refused
 * before reading a byte), so a large body never sits in memory; discarding the unread rest is
 * the caller's job (see http-drain.ts).
 */
export async function readJsonBody(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  if (!hasBody(req)) return undefined;
  checkContentType(req.headers['content-type']);
  const raw = await readRawBody(req, maxBytes);
  if (raw.length === 0) return undefined;
  return parseJson(raw);
}

/**
 * Reads a request body of at most maxBytes as bytes (empty when there is none), for callers that
 * need them as sent (a signature covers them). Over the limit it stops keeping data at once.
 */
export async function readRawBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (!hasBody(req)) return Buffer.alloc(0);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onGone);
      req.off('close', onGone);
      req.off('error', onGone);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        chunks.length = 0;
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onGone = (): void => {
      if (req.complete) return;
      cleanup();
      reject(new ClientGoneError('the client closed the connection before sending the whole body'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onGone);
    req.on('close', onGone);
    req.on('error', onGone);
  });
}

/** Decodes strict UTF-8 and parses JSON, naming the line and column of the first error. */
export function parseJson(raw: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(raw);
  } catch {
    throw new OutriggerError('malformed_json', 'body: is not valid UTF-8', 'body');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const where = findJsonSyntaxError(text);
    const at = where === undefined ? '' : ` at line ${where.line}, column ${where.column} (position ${where.position}): ${where.reason}`;
    throw new OutriggerError('malformed_json', `body: malformed JSON${at}`, 'body');
  }
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) throw new OutriggerError('invalid_argument', `body: JSON nested more than ${MAX_JSON_DEPTH} levels deep`, 'body');
  return value;
}

/** Whether valid JSON text opens more than `max` arrays and objects inside one another. */
function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}
