/**
 * A whole hub with auth on (startAuthHub), the npm `consul` client (the Datapunk seed's) pointed
 * at its HTTP port, and curl for the raw answers: status, headers and plain-text errors.
 */
import { execFile } from 'node:child_process';
import Consul from 'consul';
import type { Clock } from '../../src/common/clock.js';
import { startAuthHubFor, type AuthHub } from './auth-hub.js';

export interface ConsulHub extends AuthHub {
  /** A Consul client sending `token` in X-Consul-Token (none when undefined). */
  consul(token: string | undefined): Consul;
  /** curl against the hub: the status, the headers (lower-case names) and the body. */
  curl(method: string, route: string, options?: { token?: string; body?: unknown; header?: string }): Promise<{ status: number; headers: Record<string, string>; body: string }>;
}

export async function startConsulHub(t: { teardown(fn: () => Promise<void>): void }, config: Record<string, unknown> = {}, options: { clock?: Clock } = {}): Promise<ConsulHub> {
  const hub = await startAuthHubFor(t, config, options);
  const port = hub.addresses.httpPort;
  return {
    ...hub,
    consul(token) {
      return new Consul({ host: '127.0.0.1', port, ...(token !== undefined ? { defaults: { token } } : {}) });
    },
    curl(method, route, { token, body, header } = {}) {
      const args = ['-s', '-i', '-X', method, `http://127.0.0.1:${port}${route}`];
      if (token !== undefined) args.push('-H', `X-Consul-Token: ${token}`);
      if (header !== undefined) args.push('-H', header);
      if (body !== undefined) args.push('--data-binary', typeof body === 'string' ? body : JSON.stringify(body));
      return new Promise((resolve, reject) => {
        execFile('curl', args, { timeout: 20_000 }, (err, stdout) => {
          if (err !== null) return reject(err);
          const cut = stdout.indexOf('\r\n\r\n');
          const head = stdout.slice(0, cut).split('\r\n');
          const headers: Record<string, string> = {};
          for (const line of head.slice(1)) {
            const i = line.indexOf(':');
            headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
          }
          resolve({ status: Number(head[0]!.split(' ')[1]), headers, body: stdout.slice(cut + 4) });
        });
      });
    },
  };
}
