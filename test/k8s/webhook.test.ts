import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import fjp from 'fast-json-patch';
import selfsigned from 'selfsigned';
import { PACKAGE_ROOT } from '../../src/common/paths.js';
import { injectorConfigSchema } from '../../src/config/injector-config.js';
import { InjectorServer, type InjectorAddress } from '../../src/k8s/inject/webhook-server.js';
import { parseWith } from '../../src/model/parse-input.js';
import type { Container, Pod } from './helpers/injected-pod.js';

const FIXTURES = path.join(PACKAGE_ROOT, 'test', 'k8s', 'fixtures');

interface Review {
  apiVersion: string;
  kind: string;
  request: { uid: string; namespace?: string; operation?: string; kind?: { kind: string }; object: Pod };
}
interface ReviewAnswer {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; patchType?: string; patch?: string; status?: { code: number; message: string }; warnings?: string[] };
}

/** The AdmissionReview the API server sends for a Deployment's pod, as recorded from a cluster. */
const baseReview = (): Review => JSON.parse(readFileSync(path.join(FIXTURES, 'admission-review-pod.json'), 'utf8')) as Review;

function reviewOf(mutate: (pod: Pod) => void, uid = 'uid-1'): Review {
  const r = baseReview();
  r.request.uid = uid;
  mutate(r.request.object);
  return r;
}

let server: InjectorServer;
let at: InjectorAddress;

test.before(async () => {
  server = new InjectorServer(parseWith(injectorConfigSchema, { bind: '127.0.0.1', port: 0 }, '', 'config_invalid'));
  at = await server.start();
});

test.after.always(async () => {
  await server?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request, verifying the server against the certificate it serves (self-signed here). */
function request(url: string, ca: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? 'GET', ca, headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const post = (pathname: string, body: unknown): Promise<Answer> =>
  request(`${at.url}${pathname}`, at.certificate, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });

async function review(pathname: string, r: Review): Promise<ReviewAnswer> {
  const res = await post(pathname, r);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body}`);
  return JSON.parse(res.body) as ReviewAnswer;
}

function patched(pod: Pod, answer: ReviewAnswer): Pod {
  if (answer.response.patch === undefined) return pod;
  const ops = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8')) as fjp.Operation[];
  return fjp.applyPatch(structuredClone(pod), ops, true, false).newDocument;
}

const envOf = (c: Container | undefined): Record<string, string | undefined> =>
  Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef.fieldPath}`]));

test('a bare annotated Pod gets a native sidecar first, with its env, probes and the status annotation', async (t) => {
  const r = reviewOf((pod) => {
    pod.metadata.labels = { 'pod-template-hash': '7d9f8b6c5' };
    pod.metadata.annotations = { 'outrigger.io/inject': 'true', 'outrigger.io/upstreams': 'worker.secure-api.local:9001,billing' };
  }, 'bare-1');
  const answer = await review('/mutate/annotated', r);
  t.is(answer.apiVersion, 'admission.k8s.io/v1');
  t.is(answer.kind, 'AdmissionReview');
  t.is(answer.response.uid, 'bare-1');
  t.true(answer.response.allowed);
  t.is(answer.response.patchType, 'JSONPatch');
  const pod = patched(r.request.object, answer);
  t.is(pod.spec.initContainers?.length, 1);
  const sidecar = pod.spec.initContainers![0]!;
  t.is(sidecar.name, 'outrigger-sidecar');
  t.is(sidecar.restartPolicy, 'Always');
  t.deepEqual(sidecar.readinessProbe?.httpGet, { path: '/ready', port: 15000 });
  t.deepEqual(sidecar.livenessProbe?.httpGet, { path: '/live', port: 15000 });
  t.deepEqual(sidecar.startupProbe?.httpGet, { path: '/ready/proxy', port: 15000 });
  t.like(envOf(sidecar), {
    POD_UID: 'fieldRef:metadata.uid',
    POD_IP: 'fieldRef:status.podIP',
    NODE_NAME: 'fieldRef:spec.nodeName',
    // No app labels: the service name is the generateName stem without the pod-template-hash.
    OUTRIGGER_SERVICE: 'web',
    OUTRIGGER_NAMESPACE: 'shop.svc.cluster.local',
    OUTRIGGER_APP__PORT: '8080',
  });
  t.deepEqual(JSON.parse(envOf(sidecar).OUTRIGGER_UPSTREAMS ?? ''), [{ service: 'worker.secure-api.local', local_port: 9001 }, { service: 'billing' }]);
  t.is(pod.metadata.annotations?.['outrigger.io/status'], 'injected');
  t.deepEqual(pod.spec.volumes?.map((v) => v.name), ['kube-api-access-7xk2p', 'outrigger-tmp', 'outrigger-token']);
  t.deepEqual(pod.spec.containers.map((c) => c.name), ['web']);
});

test('the sidecar presents a projected ServiceAccount token; a pod whose ServiceAccount is not named like its service gets a warning kubectl shows', async (t) => {
  const asDefault = reviewOf((pod) => {
    pod.metadata.annotations = { 'outrigger.io/inject': 'true' };
  }, 'sa-1');
  const answer = await review('/mutate/annotated', asDefault);
  const pod = patched(asDefault.request.object, answer);
  const sidecar = pod.spec.initContainers![0]!;
  t.is(envOf(sidecar).OUTRIGGER_HUB_TOKEN_FILE, '/var/run/secrets/outrigger/token');
  t.deepEqual((sidecar as { volumeMounts?: unknown }).volumeMounts, [
    { name: 'outrigger-tmp', mountPath: '/tmp' },
    { name: 'outrigger-token', mountPath: '/var/run/secrets/outrigger', readOnly: true },
  ]);
  t.deepEqual(
    pod.spec.volumes?.find((v) => v.name === 'outrigger-token'),
    { name: 'outrigger-token', projected: { sources: [{ serviceAccountToken: { audience: 'outrigger', expirationSeconds: 3600, path: 'token' } }] } },
  );
  t.deepEqual(answer.response.warnings, [
    'outrigger: ServiceAccount "default" is not "web", the service the sidecar registers; the hub lets an account write only the service of its name: set serviceAccountName: web, or bind system:serviceaccount:shop:default in the hub\'s auth.bindings',
  ]);
  t.true(answer.response.warnings!.every((w) => w.length <= 256), 'the API server may cut warnings over 256 characters');

  const asWeb = reviewOf((p) => {
    p.metadata.annotations = { 'outrigger.io/inject': 'true' };
    (p.spec as Record<string, unknown>).serviceAccountName = 'web';
    (p.spec as Record<string, unknown>).serviceAccount = 'web';
  }, 'sa-2');
  const quiet = await review('/mutate/annotated', asWeb);
  t.is(typeof quiet.response.patch, 'string');
  t.is(quiet.response.warnings, undefined);
});

test('a pod with init containers and its own env: the sidecar goes before them and the proxy env is appended', async (t) => {
  const r = reviewOf((pod) => {
    pod.metadata.annotations = { 'outrigger.io/inject': 'true', 'outrigger.io/proxy-env': 'true' };
    pod.spec.initContainers = [{ name: 'migrate' }, { name: 'warm-cache' }];
    pod.spec.containers[0]!.env = [{ name: 'LOG_LEVEL', value: 'debug' }];
    pod.spec.containers.push({ name: 'log-shipper' });
  });
  const pod = patched(r.request.object, await review('/mutate/annotated', r));
  t.deepEqual(pod.spec.initContainers?.map((c) => c.name), ['outrigger-sidecar', 'migrate', 'warm-cache']);
  t.deepEqual(envOf(pod.spec.containers[0]), {
    LOG_LEVEL: 'debug',
    HTTP_PROXY: 'http://127.0.0.1:15001',
    http_proxy: 'http://127.0.0.1:15001',
    NO_PROXY: 'localhost,127.0.0.1,::1',
    no_proxy: 'localhost,127.0.0.1,::1',
  });
  t.is(envOf(pod.spec.containers[1]).HTTP_PROXY, 'http://127.0.0.1:15001');
});

test('the regular-container fallback: the sidecar first in containers with a postStart wait-ready', async (t) => {
  const r = reviewOf((pod) => {
    pod.metadata.annotations = { 'outrigger.io/inject': 'true', 'outrigger.io/native-sidecar': 'false' };
  });
  const pod = patched(r.request.object, await review('/mutate/annotated', r));
  t.is(pod.spec.initContainers, undefined);
  t.deepEqual(pod.spec.containers.map((c) => c.name), ['outrigger-sidecar', 'web']);
  t.is(pod.spec.containers[0]!.restartPolicy, undefined);
  t.deepEqual(pod.spec.containers[0]!.lifecycle?.postStart.exec.command, ['outrigger', 'sidecar', 'wait-ready', '--proxy', '--admin', 'http://127.0.0.1:15000', '--timeout', '60s']);
});

test('a pod that opts out is allowed unchanged, even in an opted-in namespace', async (t) => {
  const r = reviewOf((pod) => {
    pod.metadata.annotations = { 'outrigger.io/inject': 'false' };
  }, 'out-1');
  const answer = await review('/mutate', r);
  t.deepEqual(answer.response, { uid: 'out-1', allowed: true });
});

test('namespace opt-in: /mutate injects a pod without annotations, /mutate/annotated does not', async (t) => {
  const r = reviewOf((pod) => {
    delete pod.metadata.annotations;
  });
  const viaNamespace = await review('/mutate', r);
  t.true(viaNamespace.response.allowed);
  const pod = patched(r.request.object, viaNamespace);
  t.is(pod.spec.initContainers?.[0]?.name, 'outrigger-sidecar');
  // The pod had no annotations: the whole map is added, the slash of the key stays a slash.
  t.deepEqual(pod.metadata.annotations, { 'outrigger.io/status': 'injected' });
  const viaAnnotation = await review('/mutate/annotated', r);
  t.deepEqual(viaAnnotation.response, { uid: 'uid-1', allowed: true });
});

test('the status annotation key is escaped as a JSON Pointer (~1 for the slash)', async (t) => {
  const answer = await review('/mutate', reviewOf(() => undefined));
  const ops = JSON.parse(Buffer.from(answer.response.patch ?? '', 'base64').toString('utf8')) as Array<{ op: string; path: string; value: unknown }>;
  t.deepEqual(ops[0], { op: 'add', path: '/metadata/annotations/outrigger.io~1status', value: 'injected' });
});

test('a second injection of an injected pod is a no-op', async (t) => {
  const r = reviewOf(() => undefined);
  const once = patched(r.request.object, await review('/mutate', r));
  const again = await review('/mutate', reviewOf((pod) => Object.assign(pod, once)));
  t.deepEqual(again.response, { uid: 'uid-1', allowed: true });
});

test('a pod with an invalid annotation is refused with a 400 naming the annotation and what is allowed', async (t) => {
  const r = reviewOf((pod) => {
    pod.metadata.annotations = { 'outrigger.io/inject': 'true', 'outrigger.io/protocol': 'udp' };
  }, 'bad-1');
  const answer = await review('/mutate', r);
  t.is(answer.response.uid, 'bad-1');
  t.false(answer.response.allowed);
  t.is(answer.response.patch, undefined);
  t.is(answer.response.status?.code, 400);
  t.regex(answer.response.status?.message ?? '', /outrigger\.io\/protocol: must be one of http, http2, grpc, tcp, got "udp"/);

  const noPort = reviewOf((pod) => {
    delete pod.spec.containers[0]!.ports;
  });
  const refused = await review('/mutate', noPort);
  t.false(refused.response.allowed);
  t.regex(refused.response.status?.message ?? '', /outrigger\.io\/app-port/);
});

test('requests that are not a pod CREATE are allowed unchanged', async (t) => {
  const update = reviewOf(() => undefined);
  update.request.operation = 'UPDATE';
  t.deepEqual((await review('/mutate', update)).response, { uid: 'uid-1', allowed: true });
  const service = reviewOf(() => undefined);
  service.request.kind = { kind: 'Service' };
  t.deepEqual((await review('/mutate', service)).response, { uid: 'uid-1', allowed: true });
});

test('a malformed review gets HTTP 400 with a JSON error naming the field', async (t) => {
  const cases: Array<[unknown, string, RegExp]> = [
    [{ ...baseReview(), apiVersion: 'admission.k8s.io/v1beta1' }, 'apiVersion', /must be "admission\.k8s\.io\/v1"/],
    [{ ...baseReview(), kind: 'Pod' }, 'kind', /must be "AdmissionReview"/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request', /must be an object/],
    [{ ...baseReview(), request: { ...baseReview().request, uid: '' } }, 'request.uid', /non-empty string/],
    [{ ...baseReview(), request: { uid: 'x', object: 'pod' } }, 'request.object', /must be the object/],
    ['[1, 2', 'body', /malformed JSON/],
  ];
  for (const [body, field, message] of cases) {
    const res = await post('/mutate', body);
    t.is(res.status, 400, field);
    t.regex(res.headers['content-type'] as string, /application\/json/);
    const err = (JSON.parse(res.body) as { error: { field: string; message: string } }).error;
    t.is(err.field, field);
    t.regex(err.message, message);
  }
});

test('healthz, unknown paths, wrong methods, wrong content type and oversized bodies', async (t) => {
  const health = await request(`${at.url}/healthz`, at.certificate);
  t.is(health.status, 200);
  t.deepEqual(JSON.parse(health.body), { ok: true });
  t.is((await request(`${at.url}/nope`, at.certificate)).status, 404);
  const wrong = await request(`${at.url}/mutate`, at.certificate);
  t.is(wrong.status, 405);
  t.is(wrong.headers.allow, 'POST');
  const text = await request(`${at.url}/mutate`, at.certificate, { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } });
  t.is(text.status, 415);
  const big = await request(`${at.url}/mutate`, at.certificate, { method: 'POST', body: `"${'x'.repeat(7 * 1024 * 1024)}"`, headers: { 'content-type': 'application/json' } });
  t.is(big.status, 413);
});

test('with tls_cert_file and tls_key_file the webhook serves that certificate', async (t) => {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'outrigger-injector.outrigger.svc' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'outrigger-injector-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'tls.crt'), pems.cert);
  writeFileSync(path.join(dir, 'tls.key'), pems.private);
  const own = new InjectorServer(parseWith(injectorConfigSchema, { bind: '127.0.0.1', port: 0, tls_cert_file: path.join(dir, 'tls.crt'), tls_key_file: path.join(dir, 'tls.key') }, '', 'config_invalid'));
  const ownAt = await own.start();
  t.teardown(() => own.stop());
  t.false(ownAt.selfSigned);
  // Trusting only the given certificate proves it is the one served.
  t.is((await request(`${ownAt.url}/healthz`, pems.cert)).status, 200);
  await t.throwsAsync(request(`${ownAt.url}/healthz`, at.certificate));

  const missing = new InjectorServer(parseWith(injectorConfigSchema, { port: 0, tls_cert_file: path.join(dir, 'none.crt'), tls_key_file: path.join(dir, 'tls.key') }, '', 'config_invalid'));
  await t.throwsAsync(missing.start(), { message: /tls_cert_file: .*none\.crt cannot be read: ENOENT/ });
});
