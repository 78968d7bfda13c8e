/**
 * An `outrigger hub` process as a user runs it: auth on, its first start writing the bootstrap
 * admin token into its data dir, which the test reads as the user would (`cat`).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, type CliProcess } from './cli-process.js';

export interface HubProcess {
  proc: CliProcess;
  http: string;
  grpc: string;
  dataDir: string;
  /** The bootstrap admin token. */
  token: string;
  /** Makes a token through the token API and writes it to a file (mode 0600), as a sidecar reads it. */
  tokenFile(role: string, scopes: string[], name?: string): Promise<string>;
}

export async function startHubProcess(options: { grpcPort?: number; dataDir?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<HubProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'outrigger-hub-data-'));
  const proc = runCli(
    ['hub', '--bind', '127.0.0.1', '--grpc-port', String(options.grpcPort ?? 0), '--http-port', '0', '--dns.listen', '127.0.0.1:0', '--log-level', 'warn', ...(options.args ?? [])],
    { OUTRIGGER_DATA_DIR: dataDir, ...options.env },
  );
  const [, http] = await proc.waitForOutput(/REST \+ metrics\s+(http:\/\/\S+)/);
  const [, grpc] = await proc.waitForOutput(/gRPC \+ xDS\s+(\S+)/);
  const token = readFileSync(path.join(dataDir, 'bootstrap-token'), 'utf8').trim();
  let made = 0;
  return {
    proc,
    http: http!,
    grpc: grpc!,
    dataDir,
    token,
    async tokenFile(role, scopes, name = `${role} ${++made}`) {
      const res = await fetch(`${http}/api/v1/auth/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, role, scopes }),
      });
      const body = (await res.json()) as { data?: { secret: string }; error?: unknown };
      if (res.status !== 201 || body.data === undefined) throw new Error(`token API answered ${res.status}: ${JSON.stringify(body)}`);
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'outrigger-token-')), 'token');
      writeFileSync(file, `${body.data.secret}\n`, { mode: 0o600 });
      return file;
    },
  };
}
