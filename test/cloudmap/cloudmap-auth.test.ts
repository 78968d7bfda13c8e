/**
 * Signature V4 on the Cloud Map API: the AWS SDK's ordinary credentials work; a tampered
 * signature, a wrong secret, an unknown key id, a date beyond AWS's 5 minutes and an unsigned
 * request are refused, audited, and change nothing. A key whose scopes do not cover a namespace
 * it may read but not write gets AccessDeniedException, as its role and scopes would refuse it on
 * any other API; one it may not read is not found, as a missing one is.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  GetNamespaceCommand,
  ListNamespacesCommand,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient,
  type ServiceDiscoveryServiceException,
} from '@aws-sdk/client-servicediscovery';
import { ADMIN_KEY, DEMO_OPERATOR, OTHER_OPERATOR, REGION, startCloudMapHub, type CloudMapHub } from '../helpers/cloudmap-hub.js';
import { eventually } from '../helpers/wait.js';

/** Changes the request after the SDK signed it (the deserialize step runs just before sending). */
function tamper(client: ServiceDiscoveryClient, change: (request: { headers: Record<string, string>; body?: unknown }) => void): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      change(args.request as { headers: Record<string, string>; body?: unknown });
      return next(args);
    },
    { step: 'deserialize', name: 'tamperAfterSigning' },
  );
}

async function refusal(t: { throwsAsync: (p: Promise<unknown>) => Promise<unknown> }, p: Promise<unknown>): Promise<ServiceDiscoveryServiceException> {
  return (await t.throwsAsync(p)) as ServiceDiscoveryServiceException;
}

function createNs(client: ServiceDiscoveryClient, name = 'new.local'): Promise<unknown> {
  return client.send(new CreateHttpNamespaceCommand({ Name: name }));
}

function lastAudit(hub: CloudMapHub): Record<string, unknown> | undefined {
  return hub.logs.filter((l) => l.msg === 'audit' && l.api === 'cloudmap').at(-1);
}

test('the SDK with a configured key works; tampered, wrong-secret, unknown-key and stale requests are refused and change nothing', async (t) => {
  const hub = await startCloudMapHub(t);
  t.deepEqual((await hub.sdk().send(new ListNamespacesCommand({}))).Namespaces, []);

  const tampered = hub.sdk();
  tamper(tampered, (r) => {
    r.headers.authorization = r.headers.authorization!.replace(/Signature=[0-9a-f]{4}/, 'Signature=0000');
  });
  let e = await refusal(t, createNs(tampered));
  t.is(e.name, 'InvalidSignatureException');
  t.is(e.$metadata.httpStatusCode, 403);
  t.regex(e.message, /signature does not match/);

  const otherBody = hub.sdk();
  tamper(otherBody, (r) => {
    r.body = JSON.stringify({ Name: 'evil.local' });
    r.headers['content-length'] = String(Buffer.byteLength(r.body as string));
  });
  e = await refusal(t, createNs(otherBody));
  t.is(e.name, 'InvalidSignatureException', 'the body is covered by the signature');

  e = await refusal(t, createNs(hub.sdk({ id: ADMIN_KEY.id, secret: 'not-the-secret-0123456789abcdefghijklmno' })));
  t.is(e.name, 'InvalidSignatureException');

  e = await refusal(t, createNs(hub.sdk({ id: 'AKIAUNKNOWNKEY000000', secret: ADMIN_KEY.secret })));
  t.is(e.name, 'UnrecognizedClientException');
  t.regex(e.message, /AKIAUNKNOWNKEY000000 is not one the hub accepts/);

  e = await refusal(t, createNs(hub.sdk(ADMIN_KEY, { systemClockOffset: -6 * 60_000 })));
  t.is(e.name, 'InvalidSignatureException');
  t.regex(e.message, /signature expired/);
  e = await refusal(t, createNs(hub.sdk(ADMIN_KEY, { systemClockOffset: 6 * 60_000 })));
  t.regex(e.message, /not yet current/);
  // Within AWS's 5 minutes, a skewed clock is still fine.
  await hub.sdk(ADMIN_KEY, { systemClockOffset: -4 * 60_000 }).send(new ListNamespacesCommand({}));

  e = await refusal(t, createNs(hub.sdk({ id: ADMIN_KEY.id, secret: ADMIN_KEY.secret }, { region: 'us-west-2' })));
  t.regex(e.message, /scoped to region us-west-2; this hub is eu-west-1/);

  t.deepEqual(hub.hub.registry.listNamespaces(), [], 'no refused request created anything');
  t.like(lastAudit(hub), { op: 'CreateHttpNamespace', result: 'unauthenticated' });
  t.false(hub.logText().includes(ADMIN_KEY.secret), 'no secret in the logs');
  t.false(hub.logText().includes('not-the-secret'), 'not even a wrong one');
});

test('an unsigned request, or one without x-amz-target signed, is refused', async (t) => {
  const hub = await startCloudMapHub(t);
  const body = JSON.stringify({ Name: 'new.local' });
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Route53AutoNaming_v20170314.CreateHttpNamespace' };
  const unsigned = await fetch(`${hub.addresses.http}/`, { method: 'POST', headers, body });
  t.is(unsigned.status, 403);
  const json = (await unsigned.json()) as { __type: string; message: string };
  t.is(json.__type, 'MissingAuthenticationTokenException');

  // Signed by a real key, but without the target among the signed headers: it could be replayed as another operation.
  const url = new URL(hub.addresses.http);
  const signer = new SignatureV4({ credentials: { accessKeyId: ADMIN_KEY.id, secretAccessKey: ADMIN_KEY.secret }, region: REGION, service: 'servicediscovery', sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers: { host: url.host, 'content-type': headers['content-type'] }, body },
    {},
  );
  const partial = await fetch(`${hub.addresses.http}/`, { method: 'POST', headers: { ...(signed.headers as Record<string, string>), 'x-amz-target': headers['x-amz-target'] }, body });
  t.is(partial.status, 403);
  t.like(await partial.json(), { __type: 'IncompleteSignatureException' });

  // A payload hash header that is not the body's.
  const hashed = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers: { host: url.host, ...headers, 'x-amz-content-sha256': createHash('sha256').update('{}').digest('hex') }, body },
    {},
  );
  const wrongHash = await fetch(`${hub.addresses.http}/`, { method: 'POST', headers: hashed.headers as Record<string, string>, body });
  t.like(await wrongHash.json(), { __type: 'InvalidSignatureException', message: 'x-amz-content-sha256 is not the SHA-256 of the body' });
  t.deepEqual(hub.hub.registry.listNamespaces(), []);
});

test('a key that may read a namespace but not write it gets AccessDeniedException; one that may not read it gets what a missing id gets; nothing changes', async (t) => {
  const viewerKey = { id: 'AKIAOUTRIGGERVIEW001', secret: 'viewSecretKey0123456789abcdefghijklmnopq', role: 'viewer', scopes: ['demo.local'] };
  const hub = await startCloudMapHub(t, {}, [ADMIN_KEY, DEMO_OPERATOR, OTHER_OPERATOR, viewerKey]);
  const admin = hub.sdk();
  const nsOp = await admin.send(new CreateHttpNamespaceCommand({ Name: 'demo.local' }));
  t.truthy(nsOp.OperationId);
  const nsId = (await admin.send(new ListNamespacesCommand({}))).Namespaces![0]!.Id!;
  const svc = await admin.send(new CreateServiceCommand({ Name: 'backend', NamespaceId: nsId }));
  const attributes = { AWS_INSTANCE_IPV4: '10.1.0.9', AWS_INSTANCE_PORT: '80' };

  const viewer = hub.sdk(viewerKey);
  const denied = await refusal(t, viewer.send(new RegisterInstanceCommand({ ServiceId: svc.Service!.Id!, InstanceId: 'intruder', Attributes: attributes })));
  t.is(denied.name, 'AccessDeniedException');
  t.is(denied.$metadata.httpStatusCode, 403);
  t.regex(denied.message, /instance:write on backend\.demo\.local is not allowed for aws-sigv4 AKIAOUTRIGGERVIEW001 \(viewer; scopes demo\.local\)/);
  t.is(hub.hub.registry.getInstance('intruder'), undefined);
  t.like(lastAudit(hub), { op: 'RegisterInstance', who: viewerKey.id, via: 'aws-sigv4', action: 'instance:write', result: 'permission_denied' });

  // Ids are derived from names, so a key that may not read the service must not learn it exists.
  const other = hub.sdk(OTHER_OPERATOR);
  const hidden = await refusal(t, other.send(new RegisterInstanceCommand({ ServiceId: svc.Service!.Id!, InstanceId: 'intruder', Attributes: attributes })));
  const missing = await refusal(t, other.send(new RegisterInstanceCommand({ ServiceId: 'srv-doesnotexist0000', InstanceId: 'intruder', Attributes: attributes })));
  t.is(hidden.name, 'ServiceNotFound');
  t.is(missing.name, 'ServiceNotFound');
  t.is(hidden.message.replace(svc.Service!.Id!, 'ID'), missing.message.replace('srv-doesnotexist0000', 'ID'));
  const nsHidden = await refusal(t, other.send(new GetNamespaceCommand({ Id: nsId })));
  t.is(nsHidden.name, 'NamespaceNotFound');
  t.is(hub.hub.registry.getInstance('intruder'), undefined);
  t.deepEqual((await other.send(new ListNamespacesCommand({}))).Namespaces, [], 'a listing leaves out what the key may not read');

  // An operator of the namespace registers, but only an admin creates namespaces, as over REST.
  const demo = hub.sdk(DEMO_OPERATOR);
  await demo.send(new RegisterInstanceCommand({ ServiceId: svc.Service!.Id!, InstanceId: 'task-1', Attributes: attributes }));
  t.is(hub.hub.registry.getInstance('task-1')?.address, '10.1.0.9');
  const nsDenied = await refusal(t, demo.send(new CreateHttpNamespaceCommand({ Name: 'demo2.local' })));
  t.is(nsDenied.name, 'AccessDeniedException');
  t.is(hub.hub.registry.getNamespace('demo2.local'), undefined);
});

test('without access keys every Cloud Map call is refused with a clear reason', async (t) => {
  const hub = await startCloudMapHub(t, {}, []);
  const e = await refusal(t, hub.sdk().send(new ListNamespacesCommand({})));
  t.is(e.name, 'UnrecognizedClientException');
  t.regex(e.message, /not one the hub accepts \(cloudmap\.access_keys\)/);
});

test('Cloud Map writes count against the key\'s write allowance, as writes on every API do', async (t) => {
  const hub = await startCloudMapHub(t, { limits: { writes_per_second: 0.001, write_burst: 2 } });
  const sd = hub.sdk();
  await createNs(sd, 'a.local');
  await createNs(sd, 'b.local');
  const e = await refusal(t, createNs(sd, 'c.local'));
  t.is(e.name, 'RequestLimitExceeded');
  t.regex(e.message, /too many writes by AKIAOUTRIGGERADMIN01/);
  t.is(hub.hub.registry.getNamespace('c.local'), undefined);
  t.like(lastAudit(hub), { op: 'CreateHttpNamespace', who: ADMIN_KEY.id, result: 'rate_limited' });
  t.is((await sd.send(new ListNamespacesCommand({}))).Namespaces?.length, 2, 'reads are not limited');
});

test('a secret file rewritten is read again: the new secret signs, the old one is refused, and an unreadable file keeps the last secret', async (t) => {
  const hub = await startCloudMapHub(t, { auth: { reload_interval: '100ms' } });
  const file = path.join(hub.secrets, DEMO_OPERATOR.id);
  const rotated = { id: DEMO_OPERATOR.id, secret: 'rotatedSecretKey0123456789abcdefghijklmno' };
  t.truthy((await hub.sdk(DEMO_OPERATOR).send(new ListNamespacesCommand({}))).Namespaces);
  writeFileSync(file, `${rotated.secret}\n`);
  await eventually('the rotated secret to sign', async () => {
    try {
      await hub.sdk(rotated).send(new ListNamespacesCommand({}));
      return true;
    } catch {
      return undefined;
    }
  });
  const old = await refusal(t, hub.sdk(DEMO_OPERATOR).send(new ListNamespacesCommand({})));
  t.is(old.name, 'InvalidSignatureException');
  // A secret too short to be one: logged, and the rotated secret still works.
  writeFileSync(file, 'short\n');
  await eventually('the bad file to be reported', () => (hub.logs.some((l) => l.msg === 'cloudmap: access key secrets not reloaded; the ones read before stay') ? true : undefined));
  t.truthy((await hub.sdk(rotated).send(new ListNamespacesCommand({}))).Namespaces);
});
