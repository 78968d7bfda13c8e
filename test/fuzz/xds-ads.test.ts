/**
 * Fuzzing the hub's ADS server (state-of-the-world StreamAggregatedResources) on a whole hub
 * with auth on, with a raw stream driven by hand: type URLs that are wrong or almost right,
 * thousands of resource names, over-long names, ACKs and NACKs with stale or forged nonces,
 * random version_info and node ids, error_detail on a first request, and credentials of each
 * kind (the anonymous policy reads demo.local).
 *
 * A stream either keeps serving (a fresh request on it is answered) or is ended with a status
 * the client caused: UNAUTHENTICATED for credentials the hub does not accept, INVALID_ARGUMENT
 * for a request over REQUEST_LIMITS (too many names, a name too long), RESOURCE_EXHAUSTED for
 * the streams limit. Every response carries a served type URL, a version and a nonce. ADS never
 * writes, so the registry is unchanged by every case.
 */
import { isDeepStrictEqual } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import fc from 'fast-check';
import { REQUEST_LIMITS } from '../../src/xds/server/sotw-stream.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, XDS_TYPE_URLS, isXdsTypeUrl } from '../../src/xds/type-urls.js';
import { startAuthHub, type AuthHub } from '../helpers/auth-hub.js';
import { check, fuzz, nastyString, Tally } from '../helpers/fuzz.js';
import { reseed } from '../helpers/fuzz-registry.js';
import { registrySnapshot } from '../helpers/http-registry-snapshot.js';
import { AdsTestStream, type Response } from '../helpers/xds-ads-client.js';

const ANSWER_BOUND_MS = 5000;

let hub: AuthHub;
let tokens: Record<'admin' | 'viewer' | 'service' | 'other', string>;

test.before(async () => {
  hub = await startAuthHub({ auth: { anonymous: { enabled: true, scopes: ['demo.local'] } } }, { logLevel: 'warn' });
  hub.hub.registry.stop();
  reseed(hub.hub.registry);
  tokens = {
    admin: hub.admin,
    viewer: await hub.token('viewer', ['demo.local']),
    service: await hub.token('service', ['demo.local/echo']),
    other: await hub.token('viewer', ['other.local']),
  };
});

test.after.always(async () => {
  await hub?.close();
});

type Credential = 'anonymous' | keyof typeof tokens | 'unknown';
const credential = fc.constantFrom<Credential>('anonymous', 'admin', 'viewer', 'service', 'other', 'unknown');
const tokenOf = (c: Credential): string | undefined => (c === 'anonymous' ? undefined : c === 'unknown' ? 'ort_nobody-issued-this' : tokens[c]);

/** Almost the served type URLs: other versions, other hosts, case, whitespace, v2. */
const nearTypeUrls = XDS_TYPE_URLS.flatMap((u) => [u.replace('v3', 'v2'), u.toUpperCase(), ` ${u}`, `${u}/`, u.replace('type.googleapis.com/', ''), u.replace('type.googleapis.com', 'example.com')]);
const typeUrl = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...XDS_TYPE_URLS) },
  { weight: 2, arbitrary: fc.constantFrom(...nearTypeUrls, '', 'type.googleapis.com/envoy.config.core.v3.Secret', 'type.googleapis.com/envoy.service.runtime.v3.Runtime') },
  { weight: 1, arbitrary: nastyString },
);

const KNOWN_NAMES = ['echo.demo.local', 'idle.demo.local', 'api.other.local', 'nope.demo.local', '*', 'echo', 'demo.local', '.demo.local', 'echo.', 'ECHO.DEMO.LOCAL'];

interface NameList {
  names: string[];
  /** What the hub must refuse the whole stream for, when anything. */
  overLimit: boolean;
}

const nameList: fc.Arbitrary<NameList> = fc.oneof(
  { weight: 16, arbitrary: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...KNOWN_NAMES) }, { weight: 1, arbitrary: nastyString }), { maxLength: 8 }) },
  // Thousands of names, sometimes over the limit: built, not generated one by one.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1000, max: REQUEST_LIMITS.resourceNames + 2000 }), fc.boolean())
      .map(([n, repeat]) => Array.from({ length: n }, (_, i) => (repeat ? 'echo.demo.local' : `svc-${i}.demo.local`))),
  },
  // A name just over the length limit, or just under it.
  { weight: 1, arbitrary: fc.integer({ min: REQUEST_LIMITS.nameLength - 2, max: REQUEST_LIMITS.nameLength + 2 }).map((n) => ['echo.demo.local', `${'a'.repeat(n - 6)}.local`]) },
).map((names) => ({ names, overLimit: names.length > REQUEST_LIMITS.resourceNames || names.some((n) => n.length > REQUEST_LIMITS.nameLength) }));

/** How a request answers what the stream was sent: first request, the last nonce, an older one, or a made-up one. */
const nonceKind = fc.constantFrom('none', 'last', 'stale', 'forged-number', 'forged-text');

const fuzzedRequest = fc.record({
  typeUrl,
  names: nameList,
  nonce: nonceKind,
  forged: nastyString,
  version: fc.oneof(fc.constant(''), fc.constant('last'), nastyString),
  errorDetail: fc.option(fc.record({ code: fc.integer({ min: -1, max: 20 }), message: nastyString }), { freq: 3 }),
  node: fc.option(fc.record({ id: nastyString, cluster: nastyString, user_agent_name: nastyString }), { freq: 4 }),
});

const nodeId = fc.oneof(fc.constantFrom('sidecar-1', ''), nastyString);

test.serial('ADS requests of any shape: responses of served types, or a stream ended with a status the client caused; nothing changes', async (t) => {
  const tally = new Tally();
  await fuzz(
    t,
    fc.asyncProperty(credential, nodeId, fc.constantFrom(CLUSTER_TYPE_URL, LISTENER_TYPE_URL), fc.array(fuzzedRequest, { minLength: 1, maxLength: 4 }), async (cred, node, firstType, requests) => {
      const before = registrySnapshot(hub.hub.registry);
      const stream = AdsTestStream.open(hub.addresses.grpc, node, tokenOf(cred));
      const nonces = new Map<string, string[]>();
      const versions = new Map<string, string>();
      const take = (r: Response): void => {
        check(isXdsTypeUrl(r.type_url), () => `a response of type ${JSON.stringify(r.type_url)}`);
        check(r.nonce !== '' && r.version_info !== '', () => `a response without nonce or version: ${JSON.stringify({ ...r, resources: r.resources.length })}`);
        nonces.set(r.type_url, [...(nonces.get(r.type_url) ?? []), r.nonce]);
        versions.set(r.type_url, r.version_info);
      };
      const drain = (): void => stream.readAll().forEach(take);
      try {
        // A first request that is always answered, so there are real nonces to ACK, go stale and forge.
        stream.request(firstType, [], {});
        const first = await stream.nextOrEnd(ANSWER_BOUND_MS);
        if ('code' in first) {
          tally.add(`refused ${grpc.status[first.code]}`);
          check(cred === 'unknown' && first.code === grpc.status.UNAUTHENTICATED, () => `stream of ${cred} refused with ${grpc.status[first.code]}: ${first.details}`);
          return;
        }
        take(first);
        let overLimit = false;
        for (const r of requests) {
          drain();
          const sent = nonces.get(r.typeUrl) ?? [];
          const nonce =
            r.nonce === 'none' ? '' : r.nonce === 'last' ? (sent[sent.length - 1] ?? '') : r.nonce === 'stale' ? (sent[0] ?? '0') : r.nonce === 'forged-number' ? String(sent.length + 7) : r.forged;
          stream.call.write({
            version_info: r.version === 'last' ? (versions.get(r.typeUrl) ?? '') : r.version,
            node: r.node,
            resource_names: r.names.names,
            type_url: r.typeUrl,
            response_nonce: nonce,
            error_detail: r.errorDetail,
          });
          overLimit ||= r.names.overLimit;
          tally.add(`${isXdsTypeUrl(r.typeUrl) ? r.typeUrl.split('.').pop()! : 'other'} ${r.nonce}${r.names.overLimit ? ' over-limit' : ''}`);
          if (overLimit) break;
        }
        // Still serving: a fresh request for every cluster is answered. Or ended, for a reason the client gave.
        if (!overLimit) stream.request(CLUSTER_TYPE_URL, ['*'], {});
        const end = await untilAnswered(stream, take, overLimit);
        if (end !== undefined) {
          tally.add(`ended ${grpc.status[end.code]}`);
          check(overLimit && end.code === grpc.status.INVALID_ARGUMENT, () => `the stream ended with ${grpc.status[end.code]} (${end.details}); over the limits: ${overLimit}`);
          check(/resource_names/.test(end.details), () => `the ending names no field: ${end.details}`);
        } else tally.add('served');
      } finally {
        stream.closeClient();
      }
      check(isDeepStrictEqual(registrySnapshot(hub.hub.registry), before), () => 'an ADS stream changed the registry');
    }),
    { averageCaseMs: 40 },
  );
  t.log(tally.toString());
  t.deepEqual(hub.logs.filter((l) => l.level === 'error'), [], 'nothing failed inside the hub');
  const after = AdsTestStream.open(hub.addresses.grpc, 'after-the-run', tokens.admin);
  t.teardown(() => after.closeClient());
  after.request(ENDPOINT_TYPE_URL, ['echo.demo.local'], {});
  const r = await after.next(ANSWER_BOUND_MS);
  t.deepEqual(r.names, ['echo.demo.local'], 'the hub still serves ADS after the run');
  t.true(tally.get('served') > 0 && tally.get('ended INVALID_ARGUMENT') + tally.get('refused UNAUTHENTICATED') > 0, tally.toString());
});

/**
 * Waits for the stream to prove it is alive (a CDS response) or to end. An over-limit stream must
 * end; any other must answer. Returns the status when it ended.
 */
async function untilAnswered(stream: AdsTestStream, take: (r: Response) => void, overLimit: boolean): Promise<grpc.StatusObject | undefined> {
  if (overLimit) return stream.status(ANSWER_BOUND_MS);
  for (;;) {
    const next = await stream.nextOrEnd(ANSWER_BOUND_MS);
    if ('code' in next) return next;
    take(next);
    if (next.type_url === CLUSTER_TYPE_URL && stream.unread === 0) return undefined;
  }
}
