/**
 * Fuzzing the sidecar injector's admission webhook (`outrigger injector`, HTTPS on loopback) with
 * AdmissionReview bodies: the recorded review of a Deployment's pod with its pod mutated where the
 * injector reads it (metadata, annotations and labels, containers, ports, env, volumes, init
 * containers, hostNetwork) and every outrigger.io/* annotation given good and bad values; the
 * envelope itself mutated; and bodies that are not JSON at all.
 *
 * A well-formed review always gets a 200 AdmissionReview for its uid: allowed without a patch,
 * allowed with a JSON Patch that applies to the pod and injects the sidecar once (the patched
 * pod, reviewed again, is left alone), or refused with a message. Anything else gets a 4xx with a
 * catalogue error. Never a 5xx, and the webhook still answers its health check after the run.
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { ERROR_KINDS } from '../../src/common/errors.js';
import { PACKAGE_ROOT } from '../../src/common/paths.js';
import { injectorConfigSchema } from '../../src/config/injector-config.js';
import { ANNOTATIONS } from '../../src/k8s/inject/annotations.js';
import { SIDECAR_NAME } from '../../src/k8s/inject/sidecar-container.js';
import { InjectorServer } from '../../src/k8s/inject/webhook-server.js';
import { parseWith } from '../../src/model/parse-input.js';
import { check, fuzz, mutatedObject, nastyJson, nastyString, rawBodies, Tally } from '../helpers/fuzz.js';
import { exchange, type Answer, type Endpoint } from '../helpers/fuzz-http.js';

const ANSWER_BOUND_MS = 5000;

let server: InjectorServer;
let endpoint: Endpoint;

/** The AdmissionReview the API server sends for a Deployment's pod, as recorded from a cluster. */
const RECORDED = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'test', 'k8s', 'fixtures', 'admission-review-pod.json'), 'utf8')) as {
  request: { uid: string; object: Record<string, unknown> } & Record<string, unknown>;
} & Record<string, unknown>;

test.before(async () => {
  server = new InjectorServer(parseWith(injectorConfigSchema, { bind: '127.0.0.1', port: 0 }, '', 'config_invalid'));
  const at = await server.start();
  endpoint = { port: at.port, agent: new https.Agent({ keepAlive: true, maxSockets: 4, ca: at.certificate }), tls: { ca: at.certificate } };
});

test.after.always(async () => {
  endpoint?.agent.destroy();
  await server?.stop();
});

// ---- pods ----

type Json = unknown;

/** Where in a pod the injector reads, as paths from the pod's root. */
const POD_PATHS: ReadonlyArray<readonly (string | number)[]> = [
  ['metadata'],
  ['metadata', 'annotations'],
  ['metadata', 'labels'],
  ['metadata', 'labels', 'app'],
  ['metadata', 'labels', 'app.kubernetes.io/name'],
  ['metadata', 'labels', 'pod-template-hash'],
  ['metadata', 'name'],
  ['metadata', 'generateName'],
  ['metadata', 'namespace'],
  ['spec'],
  ['spec', 'containers'],
  ['spec', 'containers', 0],
  ['spec', 'containers', 0, 'name'],
  ['spec', 'containers', 0, 'ports'],
  ['spec', 'containers', 0, 'ports', 0],
  ['spec', 'containers', 0, 'ports', 0, 'containerPort'],
  ['spec', 'containers', 0, 'env'],
  ['spec', 'containers', 0, 'env', 0],
  ['spec', 'initContainers'],
  ['spec', 'initContainers', 0],
  ['spec', 'volumes'],
  ['spec', 'volumes', 0],
  ['spec', 'hostNetwork'],
];

/** A copy of `doc` with the value at `at` set (creating objects on the way) or, for undefined, removed. */
function setAt(doc: Json, at: readonly (string | number)[], value: Json): Json {
  const root = structuredClone(doc) as Record<string | number, Json>;
  let cur = root;
  for (const [i, key] of at.entries()) {
    if (i === at.length - 1) {
      if (value === undefined) delete cur[key];
      else cur[key] = value;
      break;
    }
    const next = cur[key];
    if (next === null || typeof next !== 'object') cur[key] = typeof at[i + 1] === 'number' ? [] : {};
    cur = cur[key] as Record<string | number, Json>;
  }
  return root;
}

/** Annotation values: good ones for each annotation, bad ones, and values that are not strings. */
const ANNOTATION_VALUES: Record<string, readonly string[]> = {
  [ANNOTATIONS.inject]: ['true', 'false', 'yes'],
  [ANNOTATIONS.service]: ['web', 'Web', 'a'.repeat(64)],
  [ANNOTATIONS.appPort]: ['8080', '0', '65536', ' 80 ', '80x'],
  [ANNOTATIONS.protocol]: ['http', 'grpc', 'tcp', 'smtp'],
  [ANNOTATIONS.healthCheckType]: ['http', 'tcp', 'grpc', 'exec', 'ttl', 'icmp'],
  [ANNOTATIONS.healthCheckPath]: ['/healthz', 'healthz', ''],
  [ANNOTATIONS.healthCheckPort]: ['8081', '0'],
  [ANNOTATIONS.healthCheckCommand]: ['cat /tmp/ok', '', '   '],
  [ANNOTATIONS.healthCheckTtl]: ['30s', '0s', 'soon'],
  [ANNOTATIONS.upstreams]: ['worker.secure-api.local:9001,billing', 'a,a', ',', 'x:99999', 'a:1,b:1', 'Bad_Name'],
  [ANNOTATIONS.lbPolicy]: ['round_robin', 'consistent_hash', 'magic'],
  [ANNOTATIONS.nativeSidecar]: ['true', 'false', 'maybe'],
  [ANNOTATIONS.proxyEnv]: ['true', 'false', '1'],
  [ANNOTATIONS.status]: ['injected', 'other'],
};

const annotations: fc.Arbitrary<Record<string, Json>> = fc
  .array(
    fc.constantFrom(...Object.keys(ANNOTATION_VALUES)).chain((key) =>
      fc.tuple(fc.constant(key), fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ANNOTATION_VALUES[key]!) }, { weight: 1, arbitrary: nastyString }, { weight: 1, arbitrary: nastyJson })),
    ),
    { maxLength: 6 },
  )
  .map((entries) => Object.fromEntries([[ANNOTATIONS.inject, 'true'], ...entries]));

/**
 * The recorded pod with annotations set, then a few of the paths the injector reads replaced,
 * removed or mutated; `changes` says what was done, for a failure's message.
 */
const mutatedPod: fc.Arbitrary<{ object: Json; changes: string }> = fc
  .tuple(
    annotations,
    fc.array(
      fc.tuple(
        fc.constantFrom(...POD_PATHS),
        fc.oneof(
          { weight: 3, arbitrary: nastyJson },
          { weight: 1, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: fc.constantFrom<Json>([], {}, [null], [1], [{}], [{ name: 'outrigger-tmp' }], [{ name: SIDECAR_NAME }], [{ name: 'x', env: [null] }], 'web', 8080, true) },
        ),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([ann, changes]) => {
    let doc = setAt(RECORDED.request.object, ['metadata', 'annotations'], ann);
    for (const [at, value] of changes) doc = setAt(doc, at, value);
    const said = changes.map(([at, value]) => `${at.join('.')} = ${value === undefined ? '(removed)' : JSON.stringify(value)}`);
    return { object: doc, changes: `annotations ${JSON.stringify(ann)}; ${said.join('; ')}`.slice(0, 800) };
  });
const pod = mutatedPod.map((p) => p.object);

const review = (object: Json, uid: string): Record<string, Json> => ({ ...RECORDED, request: { ...RECORDED.request, uid, object } });

// ---- checks ----

interface ReviewAnswer {
  apiVersion?: unknown;
  kind?: unknown;
  response?: { uid?: unknown; allowed?: unknown; patchType?: unknown; patch?: unknown; status?: { code?: unknown; message?: unknown } };
}

/** A 4xx with a catalogue error. */
function checkRefusal(a: Answer, what: () => string): void {
  check(a.status >= 400 && a.status < 500, () => `status ${a.status} for ${what()}: ${a.body.toString('utf8', 0, 300)}`);
  const body = JSON.parse(a.body.toString('utf8')) as { error?: { code?: string; message?: string } };
  const code = body.error?.code;
  check(code !== undefined && code in ERROR_KINDS && ERROR_KINDS[code as keyof typeof ERROR_KINDS].http === a.status, () => `error ${JSON.stringify(body)} with status ${a.status}`);
}

/** A 200 AdmissionReview for `uid`; returns the patched pod when it was injected. */
function checkReview(a: Answer, uid: string, object: Json, what: () => string): Json | undefined {
  check(a.status === 200, () => `status ${a.status} for a well-formed review of ${what()}: ${a.body.toString('utf8', 0, 400)}`);
  const r = JSON.parse(a.body.toString('utf8')) as ReviewAnswer;
  check(r.apiVersion === 'admission.k8s.io/v1' && r.kind === 'AdmissionReview', () => `not an AdmissionReview: ${a.body.toString('utf8', 0, 300)}`);
  const res = r.response;
  check(res !== undefined && res.uid === uid && typeof res.allowed === 'boolean', () => `response ${JSON.stringify(res)} for uid ${uid}`);
  if (res.allowed === false) {
    check(typeof res.status?.message === 'string' && res.status.message !== '' && res.patch === undefined, () => `a refusal without a message: ${JSON.stringify(res)}`);
    return undefined;
  }
  if (res.patch === undefined) return undefined;
  check(res.patchType === 'JSONPatch' && typeof res.patch === 'string', () => `a patch that is not a JSONPatch: ${JSON.stringify(res)}`);
  const ops = JSON.parse(Buffer.from(res.patch, 'base64').toString('utf8')) as fjp.Operation[];
  let patched: Record<string, unknown>;
  try {
    patched = fjp.applyPatch(structuredClone(object), ops, true, false).newDocument as Record<string, unknown>;
  } catch (err) {
    throw new Error(`the patch does not apply to the pod: ${err instanceof Error ? err.message : String(err)}: ${JSON.stringify(ops).slice(0, 400)} on ${what()}`);
  }
  const spec = patched.spec as { containers?: Array<{ name?: unknown }>; initContainers?: Array<{ name?: unknown }> };
  const sidecars = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].filter((c) => c?.name === SIDECAR_NAME);
  check(sidecars.length === 1, () => `${sidecars.length} sidecars after the patch: ${what()}`);
  const status = (patched.metadata as { annotations?: Record<string, unknown> }).annotations?.[ANNOTATIONS.status];
  check(status === 'injected', () => `status annotation ${JSON.stringify(status)} after the patch`);
  return patched;
}

const post = (target: string, body: Buffer, contentType = 'application/json'): Promise<Answer> =>
  exchange(endpoint, { method: 'POST', target, headers: contentType === '' ? {} : { 'content-type': contentType }, body }, ANSWER_BOUND_MS);

const webhookPath = fc.constantFrom('/mutate', '/mutate/annotated');
const uid = fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: nastyString.filter((s) => s !== '') });

test.serial('well-formed reviews of any pod: a 200 AdmissionReview for the uid, allowed with a patch that applies once, or refused with a message', async (t) => {
  const tally = new Tally();
  await fuzz(
    t,
    fc.asyncProperty(webhookPath, uid, mutatedPod, async (target, id, { object, changes }) => {
      const what = (): string => `the recorded pod with ${changes}`;
      const a = await post(target, Buffer.from(JSON.stringify(review(object, id))));
      const patched = checkReview(a, id, object, what);
      const outcome = (JSON.parse(a.body.toString('utf8')) as ReviewAnswer).response!;
      tally.add(patched !== undefined ? 'injected' : outcome.allowed === true ? 'left alone' : 'refused');
      if (patched === undefined) return;
      // Injecting twice changes nothing.
      const again = checkReview(await post(target, Buffer.from(JSON.stringify(review(patched, id)))), id, patched, () => `the patched ${what()}`);
      check(again === undefined, () => `a patched pod was patched again: ${what()}`);
    }),
    { averageCaseMs: 30 },
  );
  t.log(tally.toString());
  t.true(tally.get('injected') > 0 && tally.get('refused') > 0, tally.toString());
  t.is((await exchange(endpoint, { method: 'GET', target: '/healthz' }, ANSWER_BOUND_MS)).status, 200, 'the webhook still answers');
});

/** The body as the webhook reads it (UTF-8, a BOM dropped), or undefined when it is not JSON. */
function parsed(raw: Buffer): Json {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    return undefined;
  }
}

test.serial('malformed reviews, bodies and requests: a 4xx with a catalogue error, or a review when it still is one; never a 5xx', async (t) => {
  const tally = new Tally();
  const envelope = fc.tuple(uid, pod).chain(([id, object]) => mutatedObject(review(object, id)).map((body) => ({ body })));
  const malformed = fc.oneof(
    { weight: 4, arbitrary: envelope.map((e) => ({ target: '/mutate', raw: Buffer.from(JSON.stringify(e.body) ?? 'null'), contentType: 'application/json' })) },
    {
      weight: 2,
      arbitrary: fc.tuple(uid, pod).chain(([id, object]) =>
        fc
          .record({ request: mutatedObject({ ...RECORDED.request, uid: id, object }), target: webhookPath })
          .map((r) => ({ target: r.target, raw: Buffer.from(JSON.stringify({ ...RECORDED, request: r.request })), contentType: 'application/json' })),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(rawBodies(RECORDED), fc.constantFrom('application/json', 'text/plain', '', 'application/json; charset=latin1'), fc.constantFrom('/mutate', '/mutate/annotated', '/mutate/', '/', '/healthz', '/mutate%2Fannotated'))
        .map(([raw, contentType, target]) => ({ target, raw, contentType })),
    },
  );
  await fuzz(
    t,
    fc.asyncProperty(malformed, async (m) => {
      const what = (): string => `${m.raw.length} bytes as ${JSON.stringify(m.contentType)} to ${m.target}: ${m.raw.toString('utf8', 0, 600)}`;
      const a = await post(m.target, m.raw, m.contentType).catch((err: Error) => {
        throw new Error(`${err.message}, for ${what()}`);
      });
      check(a.status < 500, () => `status ${a.status} for ${what()}: ${a.body.toString('utf8', 0, 300)}`);
      tally.add(String(a.status));
      if (a.status !== 200) return checkRefusal(a, what);
      // Still a review: then it is answered as one, for the uid it carries.
      const req = (parsed(m.raw) as { request?: { uid?: unknown; object?: unknown } } | undefined)?.request;
      check(typeof req?.uid === 'string', () => `200 for a body without a request uid: ${what()}`);
      checkReview(a, req.uid, req.object, what);
    }),
    { averageCaseMs: 30 },
  );
  t.log(tally.toString());
  t.true(tally.get('200') > 0 && tally.get('400') > 0, tally.toString());
  t.is((await exchange(endpoint, { method: 'GET', target: '/healthz' }, ANSWER_BOUND_MS)).status, 200, 'the webhook still answers');
});
