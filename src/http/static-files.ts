/**
 * A fixed set of static files served by name (the dashboards' pages, scripts and styles): only
 * names in the table are served, so no request path reaches the file system. Files are read once.
 * HTML gets a Content-Security-Policy that allows scripts from this origin and the page's own
 * inline import map (by its hash), and nothing from elsewhere.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpReply } from './response.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export class StaticFiles {
  private readonly cache = new Map<string, HttpReply>();

  /** `files`: the name a request uses → the file's absolute path. */
  constructor(private readonly files: ReadonlyMap<string, string>) {}

  has(name: string): boolean {
    return this.files.has(name);
  }

  /** The file's reply, or undefined for a name not in the table. */
  reply(name: string): HttpReply | undefined {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const file = this.files.get(name);
    if (file === undefined) return undefined;
    const body = readFileSync(file, 'utf8');
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    const headers: Record<string, string> = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-cache' };
    if (type.startsWith('text/html')) {
      headers['content-security-policy'] = contentSecurityPolicy(body);
      headers['x-frame-options'] = 'DENY';
    }
    const r: HttpReply = { status: 200, text: { body, contentType: type }, headers };
    this.cache.set(name, r);
    return r;
  }
}

function contentSecurityPolicy(html: string): string {
  const inline = [...html.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  return [`default-src 'self'`, `script-src 'self' ${inline.join(' ')}`.trim(), `style-src 'self'`, `img-src 'self' data:`, `connect-src 'self'`, `base-uri 'none'`, `form-action 'none'`, `frame-ancestors 'none'`].join('; ');
}
