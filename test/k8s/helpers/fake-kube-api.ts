import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** The two collections the fake serves. */
export type Resource = 'services' | 'endpointslices';

const KINDS: Record<Resource, { kind: string; apiVersion: string; prefix: string }> = {
  services: { kind: 'Service', apiVersion: 'v1', prefix: '/api/v1' },
  endpointslices: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', prefix: '/apis/discovery.k8s.io/v1' },
};

export type KubeObject = { metadata: { namespace: string; name: string; resourceVersion?: string } & Record<string, unknown> } & Record<string, unknown>;

/** One request the fake received, as the client sent it. */
export interface SeenRequest {
  resource: Resource;
  /** The namespace in the path, or undefined for the all-namespaces path. */
  namespace: string | undefined;
  watch: boolean;
  query: URLSearchParams;
}

interface OpenWatch {
  resource: Resource;
  namespace: string | undefined;
  bookmarks: boolean;
  res: http.ServerResponse;
}

interface LoggedEvent {
  rv: number;
  resource: Resource;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

/** A bearer token the fake's TokenReview knows: who it authenticates, and for which audiences. */
export interface KnownToken {
  username: string;
  audiences: string[];
}

const TOKEN_REVIEWS_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

/**
 * A loopback HTTP server that speaks the Kubernetes API's list/watch wire format for Services
 * and EndpointSlices: lists carry `metadata.resourceVersion`; `?watch=true&resourceVersion=N`
 * replays every event after N, then streams new ones as newline-delimited JSON over a chunked
 * response (with BOOKMARKs when `allowWatchBookmarks=true`). Compaction makes an old
 * resourceVersion answer with an ERROR event carrying a 410 Status, as the API server does.
 *
 * It also answers TokenReviews (POST authentication.k8s.io/v1 tokenreviews) as the API server's
 * token authenticator does: a known token is authenticated for the audiences it shares with
 * `spec.audiences`; an unknown one, or one for none of them, is not, with an `error`. The
 * answer echoes the spec, token included, as the API server does.
 */
export class FakeKubeApi {
  readonly requests: SeenRequest[] = [];
  private readonly server: http.Server;
  private readonly objects: Record<Resource, Map<string, KubeObject>> = { services: new Map(), endpointslices: new Map() };
  private readonly log: LoggedEvent[] = [];
  private readonly watches = new Set<OpenWatch>();
  private rv = 100;
  /** Watches from a resourceVersion below this get 410 Gone. */
  private compactedBelow = 0;
  private failures: Array<{ status: number; watch: boolean | undefined }> = [];
  private heldLists: Array<() => void> | undefined;
  private readonly knownTokens = new Map<string, KnownToken>();
  private reviewFailures: number[] = [];
  private heldReviews: Array<() => void> | undefined;
  /** TokenReviews received, with the audiences each asked for. */
  readonly reviews: Array<{ audiences: string[] | undefined }> = [];
  /** false: answer as an API server that ignores `spec.audiences` and names no audience in its answers. */
  audienceAware = true;
  private readonly tempDirs: string[] = [];
  port = 0;

  private constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(): Promise<FakeKubeApi> {
    const api = new FakeKubeApi();
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    api.port = (api.server.address() as AddressInfo).port;
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A KubeConfig pointing at this server, without credentials. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'nobody' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** The same kubeconfig as a YAML file in a fresh temporary directory (removed by close()); returns its path. */
  writeKubeconfig(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outrigger-kube-'));
    this.tempDirs.push(dir);
    const file = path.join(dir, 'kubeconfig.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: fake`,
        `  cluster: {server: "${this.url}", insecure-skip-tls-verify: true}`,
        'users:',
        '- name: nobody',
        '  user: {}',
        'contexts:',
        '- name: fake',
        '  context: {cluster: fake, user: nobody}',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return file;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Creates or replaces an object; open watches see ADDED or MODIFIED unless `silent` (an event lost in a gap). */
  upsert(resource: Resource, object: KubeObject, opts: { silent?: boolean } = {}): KubeObject {
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    const type = this.objects[resource].has(key) ? 'MODIFIED' : 'ADDED';
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.rv);
    this.objects[resource].set(key, stored);
    if (!opts.silent) this.publish({ rv: this.rv, resource, type, object: stored });
    return stored;
  }

  remove(resource: Resource, namespace: string, name: string, opts: { silent?: boolean } = {}): void {
    const key = `${namespace}/${name}`;
    const old = this.objects[resource].get(key);
    if (old === undefined) throw new Error(`no ${resource} ${key}`);
    this.objects[resource].delete(key);
    const object = structuredClone(old);
    object.metadata.resourceVersion = String(++this.rv);
    if (!opts.silent) this.publish({ rv: this.rv, resource, type: 'DELETED', object });
  }

  /** Sends a BOOKMARK at a new resourceVersion (something else in the cluster changed). */
  bookmark(resource: Resource): string {
    const rv = String(++this.rv);
    const { kind, apiVersion } = KINDS[resource];
    for (const w of this.watches) {
      if (w.resource === resource && w.bookmarks) write(w.res, { type: 'BOOKMARK', object: { kind, apiVersion, metadata: { resourceVersion: rv } } });
    }
    return rv;
  }

  /**
   * Compacts history up to now: open watches get an ERROR event with a 410 Status and end, and
   * a watch from any older resourceVersion is answered the same way.
   */
  expire(): void {
    this.compactedBelow = this.rv;
    this.log.length = 0;
    for (const w of [...this.watches]) this.gone(w);
  }

  /** Ends every open watch of a resource cleanly, as the server does when its timeout runs out. */
  endWatches(resource?: Resource): void {
    for (const w of [...this.watches]) {
      if (resource !== undefined && w.resource !== resource) continue;
      this.watches.delete(w);
      w.res.end();
    }
  }

  /** The next matching request (`watch` undefined: any) is answered with this HTTP status and a Status body. */
  failNext(status: number, watch?: boolean): void {
    this.failures.push({ status, watch });
  }

  /** Holds list requests until the returned function is called. */
  holdLists(): () => void {
    this.heldLists = [];
    return () => {
      const held = this.heldLists ?? [];
      this.heldLists = undefined;
      for (const release of held) release();
    };
  }

  /** A token a TokenReview authenticates as `username` for `audiences`. */
  addToken(token: string, known: KnownToken): void {
    this.knownTokens.set(token, known);
  }

  /** A projected ServiceAccount token of `namespace`/`name`, for `audiences` (default: outrigger). */
  addServiceAccountToken(token: string, namespace: string, name: string, audiences = ['outrigger']): void {
    this.addToken(token, { username: `system:serviceaccount:${namespace}:${name}`, audiences });
  }

  /** The next TokenReview is answered with this HTTP status and a Status body. */
  failNextReview(status: number): void {
    this.reviewFailures.push(status);
  }

  /** Holds TokenReviews until the returned function is called. */
  holdReviews(): () => void {
    this.heldReviews = [];
    return () => {
      const held = this.heldReviews ?? [];
      this.heldReviews = undefined;
      for (const release of held) release();
    };
  }

  /** TokenReviews waiting on holdReviews(). */
  get heldReviewCount(): number {
    return this.heldReviews?.length ?? 0;
  }

  openWatches(resource?: Resource): number {
    return [...this.watches].filter((w) => resource === undefined || w.resource === resource).length;
  }

  watchRequests(resource: Resource): SeenRequest[] {
    return this.requests.filter((r) => r.resource === resource && r.watch);
  }

  listRequests(resource: Resource): SeenRequest[] {
    return this.requests.filter((r) => r.resource === resource && !r.watch);
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
    for (const dir of this.tempDirs) rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    if (req.method === 'POST' && url.pathname === TOKEN_REVIEWS_PATH) {
      this.tokenReview(req, res);
      return;
    }
    const route = parsePath(url.pathname);
    if (req.method !== 'GET' || route === undefined) {
      status(res, 404, 'NotFound', `no route ${req.method} ${url.pathname}`);
      return;
    }
    const watch = url.searchParams.get('watch') === 'true';
    this.requests.push({ ...route, watch, query: url.searchParams });
    const failure = this.failures.findIndex((f) => f.watch === undefined || f.watch === watch);
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      status(res, f!.status, f!.status === 410 ? 'Expired' : 'InternalError', `scripted failure ${f!.status}`);
      return;
    }
    if (!watch) {
      const answer = (): void => this.list(route.resource, route.namespace, res);
      if (this.heldLists !== undefined) this.heldLists.push(answer);
      else answer();
      return;
    }
    this.watch(route.resource, route.namespace, url.searchParams, res);
  }

  private list(resource: Resource, namespace: string | undefined, res: http.ServerResponse): void {
    const { kind, apiVersion } = KINDS[resource];
    const items = [...this.objects[resource].values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: `${kind}List`, apiVersion, metadata: { resourceVersion: String(this.rv) }, items }));
  }

  private watch(resource: Resource, namespace: string | undefined, query: URLSearchParams, res: http.ServerResponse): void {
    const from = Number(query.get('resourceVersion') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: OpenWatch = { resource, namespace, bookmarks: query.get('allowWatchBookmarks') === 'true', res };
    this.watches.add(w);
    res.on('close', () => this.watches.delete(w));
    if (from !== 0 && from < this.compactedBelow) {
      this.gone(w);
      return;
    }
    for (const e of this.log) {
      if (e.rv > from && matches(w, e)) write(res, { type: e.type, object: e.object });
    }
  }

  private tokenReview(req: http.IncomingMessage, res: http.ServerResponse): void {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      const review = JSON.parse(text) as { spec?: { token?: string; audiences?: string[] } };
      this.reviews.push({ audiences: review.spec?.audiences });
      const failure = this.reviewFailures.shift();
      if (failure !== undefined) {
        status(res, failure, failure === 403 ? 'Forbidden' : 'InternalError', `scripted failure ${failure}`);
        return;
      }
      const answer = (): void => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: review.spec, status: this.reviewStatus(review.spec ?? {}) }));
      };
      if (this.heldReviews !== undefined) this.heldReviews.push(answer);
      else answer();
    });
  }

  private reviewStatus(spec: { token?: string; audiences?: string[] }): Record<string, unknown> {
    const known = spec.token === undefined ? undefined : this.knownTokens.get(spec.token);
    if (known === undefined) return { user: {}, error: '[invalid bearer token, square/go-jose: error in cryptographic primitive]' };
    const wanted = this.audienceAware ? (spec.audiences ?? []) : [];
    // No audiences asked, or an authenticator that ignores them: the answer names none.
    const shared = wanted.length === 0 ? [] : known.audiences.filter((a) => wanted.includes(a));
    if (wanted.length > 0 && shared.length === 0) return { user: {}, error: `[invalid bearer token, token audiences ${JSON.stringify(known.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}]` };
    const [, , namespace] = known.username.split(':');
    const groups = known.username.startsWith('system:serviceaccount:') ? ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] : ['system:authenticated'];
    return { authenticated: true, user: { username: known.username, uid: `uid-${known.username}`, groups }, audiences: shared };
  }

  private publish(e: LoggedEvent): void {
    this.log.push(e);
    for (const w of this.watches) if (matches(w, e)) write(w.res, { type: e.type, object: e.object });
  }

  private gone(w: OpenWatch): void {
    write(w.res, {
      type: 'ERROR',
      object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 },
    });
    this.watches.delete(w);
    w.res.end();
  }
}

function matches(w: OpenWatch, e: LoggedEvent): boolean {
  return w.resource === e.resource && (w.namespace === undefined || w.namespace === e.object.metadata.namespace);
}

function write(res: http.ServerResponse, event: unknown): void {
  res.write(`${JSON.stringify(event)}\n`);
}

function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

function parsePath(p: string): { resource: Resource; namespace: string | undefined } | undefined {
  for (const resource of ['services', 'endpointslices'] as const) {
    const prefix = KINDS[resource].prefix;
    if (p === `${prefix}/${resource}`) return { resource, namespace: undefined };
    const m = new RegExp(`^${prefix.replaceAll('.', '\\.')}/namespaces/([a-z0-9-]+)/${resource}$`).exec(p);
    if (m !== null) return { resource, namespace: m[1] };
  }
  return undefined;
}

/** An EndpointSlice as the EndpointSlice controller writes it. */
export interface SliceEndpoint {
  ip: string;
  pod?: { name: string; uid: string };
  node?: string;
  zone?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  hints?: string[];
}

export function endpointSlice(
  namespace: string,
  name: string,
  service: string,
  endpoints: SliceEndpoint[],
  ports: Array<{ name?: string; port: number; protocol?: string; appProtocol?: string }> = [{ name: 'http', port: 8080 }],
  addressType = 'IPv4',
): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType,
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      ...(e.pod !== undefined ? { targetRef: { kind: 'Pod', namespace, name: e.pod.name, uid: e.pod.uid } } : {}),
      ...(e.node !== undefined ? { nodeName: e.node } : {}),
      ...(e.zone !== undefined ? { zone: e.zone } : {}),
      ...(e.hints !== undefined ? { hints: { forZones: e.hints.map((z) => ({ name: z })) } } : {}),
    })),
    ports: ports.map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port, ...(p.name !== undefined ? { name: p.name } : {}), ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}) })),
  };
}

export function kubeService(namespace: string, name: string, type = 'ClusterIP'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec: { type, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
}

/**
 * A token shaped like a projected ServiceAccount token (a JWT of the cluster's issuer), for the
 * fake's TokenReview to know: only the API server can check its signature, here random bytes.
 */
export function serviceAccountTokenText(namespace: string, name: string, expMs: number, audiences = ['outrigger']): string {
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const exp = Math.floor(expMs / 1000);
  const claims = { aud: audiences, exp, iat: exp - 3600, iss: 'https://kubernetes.default.svc.cluster.local', sub: `system:serviceaccount:${namespace}:${name}`, jti: randomUUID() };
  return `${part({ alg: 'RS256', kid: 'cluster-key' })}.${part(claims)}.${randomBytes(64).toString('base64url')}`;
}
