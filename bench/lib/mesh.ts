/** Real processes for the benchmarks: `outrigger hub`, `outrigger sidecar`, nginx, HAProxy, backends. */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FatalWait, freePort, start, tempDir, until, type Proc } from './procs.js';
import { findTool } from './tools.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const HTTP_BACKEND = fileURLToPath(new URL('./http-backend.js', import.meta.url));
export const NAMESPACE = 'bench';

export interface HubProc {
  proc: Proc;
  /** host:port of the gRPC listener (registration API and ADS). */
  grpc: string;
  /** http://host:port of the REST API. */
  http: string;
  /**
   * The hub's bootstrap admin token and its file, when auth is on. The benchmarks' sidecars and
   * clients present it; a real mesh gives each service a `service` token of its own.
   */
  token?: string;
  tokenFile?: string;
}

export async function startHub(name: string, config: Record<string, unknown>, cpus?: string, nodeArgs: readonly string[] = []): Promise<HubProc> {
  const dir = tempDir(name);
  const file = path.join(dir, 'hub.yaml');
  // JSON is YAML. The hub keeps its tokens in a data dir of its own; DNS is off unless a bench
  // turns it on (several hubs and sidecars share this machine); auth stays on unless a bench
  // turns it off, and the write limit is off so bulk registration measures the hub, not the limit.
  writeFileSync(
    file,
    JSON.stringify({ bind: '127.0.0.1', grpc_port: 0, http_port: 0, dns: { listen: 'off' }, log_level: 'warn', data_dir: dir, limits: { writes_per_second: 0 }, ...config }),
  );
  const proc = start(name, process.execPath, [...nodeArgs, CLI, 'hub', '--config', file], { cpus });
  const [, rest] = (await proc.waitFor(/REST \+ metrics\s+(\S+)/, 120_000)) as unknown as [string, string];
  const [, grpc] = (await proc.waitFor(/gRPC \+ xDS\s+(\S+)/)) as unknown as [string, string];
  const tokenFile = path.join(dir, 'bootstrap-token');
  const auth = existsSync(tokenFile) ? { token: readFileSync(tokenFile, 'utf8').trim(), tokenFile } : {};
  return { proc, grpc: grpc.replace(/^[a-z]+:\/\//, ''), http: rest, ...auth };
}

/** The sidecar config keys that point it at the hub and give it the hub's token. */
export function hubOf(hub: HubProc): { hubs: string[]; hub_token_file?: string } {
  return { hubs: [hub.grpc], ...(hub.tokenFile !== undefined ? { hub_token_file: hub.tokenFile } : {}) };
}

export interface SidecarProc {
  proc: Proc;
  admin: string;
  outboundPort: number;
}

/** `cli`: another build's dist/src/cli/main.js (a before/after comparison); this build's by default. */
export async function startSidecar(name: string, config: Record<string, unknown>, cpus?: string, nodeArgs: readonly string[] = [], cli = CLI): Promise<SidecarProc> {
  const dir = tempDir(name);
  const file = path.join(dir, 'sidecar.yaml');
  writeFileSync(
    file,
    JSON.stringify({ namespace: NAMESPACE, outbound_port: 0, admin_port: 0, admin_bind: '127.0.0.1', dns: { listen: 'off' }, log_level: 'warn', cache_file: path.join(dir, 'peers.json'), ...config }),
  );
  const proc = start(name, process.execPath, [...nodeArgs, cli, 'sidecar', '--config', file], { cpus });
  const [, admin] = (await proc.waitFor(/admin\s+(http:\/\/\S+)/, 60_000)) as unknown as [string, string];
  const [, outbound] = (await proc.waitFor(/outbound\s+http:\/\/[^\s:]+:(\d+)/)) as unknown as [string, string];
  return { proc, admin, outboundPort: Number(outbound) };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const agent = new http.Agent({ keepAlive: false });

/** One GET to 127.0.0.1:port, optionally with a Host header or an absolute-form target. */
export function httpGet(port: number, target = '/', host?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, agent, headers: host !== undefined ? { host } : {}, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  return res.json();
}

/** Waits until something accepts connections on the port; fails at once when proc exits first. */
export function waitPort(port: number, proc?: Proc, ms = 30_000): Promise<void> {
  return until(
    `port ${port}`,
    () =>
      new Promise<boolean>((resolve, reject) => {
        if (proc !== undefined && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
          reject(new FatalWait(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}): ${proc.stderr().slice(-1500)}`));
          return;
        }
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    ms,
  );
}

/** Waits until the sidecar answers /ready with 200 and a request through it succeeds. */
export async function sidecarRoutes(sc: SidecarProc, probe: () => Promise<boolean>, ms = 60_000): Promise<void> {
  await until(`${sc.proc.name} /ready`, async () => (await fetch(`${sc.admin}/ready`)).status === 200, ms);
  await until(`${sc.proc.name} routing`, probe, ms);
}

export interface BackendProc {
  proc: Proc;
  port: number;
  id: string;
}

/** A small Node HTTP server that answers every request with a fixed body and `x-backend: <id>`. */
export async function startNodeBackend(id: string, cpus?: string, listen = 0): Promise<BackendProc> {
  const proc = start(`backend ${id}`, process.execPath, [HTTP_BACKEND, id, String(listen)], { cpus });
  const [, port] = (await proc.waitFor(/listening on (\d+)/)) as unknown as [string, string];
  return { proc, port: Number(port), id };
}

export const BODY = 'hello from a benchmark backend\n';

/** nginx serving BODY on each port (one worker), each server stamping its own x-backend id. */
export async function startNginxBackends(nginx: string, ports: number[], cpus?: string): Promise<Proc> {
  const servers = ports
    .map((p, i) => `server { listen 127.0.0.1:${p} reuseport backlog=4096; keepalive_requests 1000000; location / { add_header x-backend b${i + 1}; return 200 "${BODY.trim()}\\n"; } }`)
    .join('\n  ');
  const proc = await startNginx('nginx backends', nginx, `http {\n  access_log off;\n  default_type text/plain;\n  ${servers}\n}`, cpus);
  for (const p of ports) await waitPort(p, proc);
  return proc;
}

/** nginx with one worker and the given http block, in a temp prefix. */
export function startNginx(name: string, nginx: string, httpBlock: string, cpus?: string): Promise<Proc> {
  const dir = tempDir('nginx');
  chmodSync(dir, 0o755);
  const conf = path.join(dir, 'nginx.conf');
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${path.join(dir, t)};`).join(' ');
  writeFileSync(
    conf,
    `daemon off;\nmaster_process on;\nworker_processes 1;\npid ${path.join(dir, 'nginx.pid')};\nerror_log ${path.join(dir, 'error.log')} warn;\nevents { worker_connections 4096; }\n${httpBlock.replace('http {', `http {\n  ${temps}`)}\n`,
  );
  return Promise.resolve(start(name, nginx, ['-p', dir, '-c', conf], { cpus }));
}

/** The Node floor (floor-proxy.ts) over the backends on a free port, once it listens. */
export async function startFloorProxy(backends: readonly number[], cpus?: string): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = start('floor proxy', process.execPath, [fileURLToPath(new URL('./floor-proxy.js', import.meta.url)), String(port), ...backends.map(String)], { cpus });
  await waitPort(port, proc);
  return { proc, port };
}

export function startHaproxy(haproxy: string, config: string, cpus?: string): Proc {
  const dir = tempDir('haproxy');
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  return start('haproxy', haproxy, ['-db', '-f', file], { cpus });
}

/** The HAProxy row's config: one thread, round robin over the backends, connections reused. */
export function haproxyConfig(port: number, backends: readonly number[]): string {
  return [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  option http-keep-alive',
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    '  http-reuse always',
    ...backends.map((p, i) => `  server b${i + 1} 127.0.0.1:${p}`),
    '',
  ].join('\n');
}

/** The nginx proxy row's http block: one worker (startNginx), upstream keepalive, HTTP/1.1 to the backends. */
export function nginxProxyBlock(port: number, backends: readonly number[]): string {
  return `http {\n  access_log off;\n  upstream be {\n    ${backends.map((p) => `server 127.0.0.1:${p};`).join(' ')}\n    keepalive 64;\n    keepalive_requests 1000000;\n  }\n  server {\n    listen 127.0.0.1:${port} backlog=4096;\n    keepalive_requests 1000000;\n    location / {\n      proxy_pass http://be;\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";\n    }\n  }\n}`;
}

/** The http rows' two backends (nginx, or two Node servers without it) and a hub holding them as echo.bench. */
export async function startEchoMesh(cpus: string | undefined): Promise<{ ports: number[]; backends: Proc[]; hub: HubProc }> {
  const nginx = findTool('nginx');
  const ports = [await freePort(), await freePort()];
  const backends: Proc[] = [];
  if (nginx !== undefined) backends.push(await startNginxBackends(nginx, ports, cpus));
  else for (let i = 0; i < 2; i++) backends.push((await startNodeBackend(`b${i + 1}`, cpus, ports[i])).proc);
  const hub = await startHub('hub', { static_instances: ports.map((port, i) => ({ id: `b${i + 1}`, service: 'echo', namespace: NAMESPACE, address: '127.0.0.1', port, protocol: 'http' })) }, cpus);
  return { ports, backends, hub };
}
