/**
 * The hub's DNS server, asked by real clients (`dig` and Node's dns.Resolver) over loopback:
 * names, healthy-only multivalue answers, SRV, TTLs, NXDOMAIN / REFUSED, truncation and TCP,
 * forwarding, and the anonymous policy deciding which namespaces are answered.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import test from 'ava';
import * as dnsPacket from 'dns-packet';
import { OutriggerError } from '../../src/common/errors.js';
import { ManualClock } from '../../src/common/manual-clock.js';
import { MAX_TCP_PER_SOURCE } from '../../src/dns/dns-server.js';
import { startAuthHub, startAuthHubFor, type AuthHub } from '../helpers/auth-hub.js';
import { dig } from '../helpers/dig.js';
import { eventually } from '../helpers/wait.js';

const NS = 'shop.local';
const ANONYMOUS_SHOP = { auth: { anonymous: { enabled: true, scopes: [NS] } } };

function resolver(port: number): Resolver {
  const r = new Resolver({ timeout: 5000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

function register(hub: AuthHub, service: string, n: number, extra: Record<string, unknown> = {}): void {
  for (let i = 1; i <= n; i++) {
    hub.hub.registry.register({ id: `${service}-${i}`, service, namespace: NS, address: `10.0.0.${i}`, port: 8000 + i, ttl: 0, health: 'HEALTHY', weight: 10 * i, ...extra });
  }
}

async function metric(hub: AuthHub, name: string, labels: string): Promise<number> {
  const text = await hub.hub.metrics.register.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('A answers carry only healthy instances, at most 8, a random subset each time, with the service TTL', async (t) => {
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP);
  hub.hub.registry.putService(NS, 'api', { dns: { ttl: 30 } });
  register(hub, 'api', 12);
  hub.hub.registry.reportHealth('api-3', 'UNHEALTHY');
  hub.hub.registry.reportHealth('api-4', 'DRAINING');
  const port = hub.addresses.dnsPort!;
  const healthy = new Set([1, 2, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => `10.0.0.${i}`));
  const seen = new Set<string>();
  await eventually('answers to cover every healthy instance', async () => {
    const a = await dig(port, `api.${NS}`, 'A');
    t.is(a.status, 'NOERROR');
    t.true(a.flags.includes('aa'), 'authoritative');
    t.is(a.answer.length, 8);
    for (const r of a.answer) {
      t.is(r.type, 'A');
      t.is(r.ttl, 30);
      t.true(healthy.has(r.data[0]!), `${r.data[0]} is a healthy instance`);
      seen.add(r.data[0]!);
    }
    return seen.size === healthy.size ? true : undefined;
  });
  const viaNode = await resolver(port).resolve4(`api.${NS}`, { ttl: true });
  t.is(viaNode.length, 8);
  t.true(viaNode.every((r) => healthy.has(r.address) && r.ttl === 30));
});

test('an instance reported unhealthy drops out of the next answer, and the default TTL is 5 s', async (t) => {
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP);
  register(hub, 'web', 2);
  const port = hub.addresses.dnsPort!;
  const before = await resolver(port).resolve4(`web.${NS}`, { ttl: true });
  t.deepEqual(before.map((r) => r.address).sort(), ['10.0.0.1', '10.0.0.2']);
  t.true(before.every((r) => r.ttl === 5));
  hub.hub.registry.reportHealth('web-2', 'UNHEALTHY');
  t.deepEqual((await dig(port, `web.${NS}`, 'A')).answer.map((r) => r.data[0]), ['10.0.0.1']);
  hub.hub.registry.reportHealth('web-1', 'UNHEALTHY');
  const none = await dig(port, `web.${NS}`, 'A');
  t.is(none.status, 'NOERROR', 'the service exists: no data, not NXDOMAIN');
  t.is(none.answer.length, 0);
  t.is(none.authority[0]?.type, 'SOA');
});

const dataText = (r: dnsPacket.Answer): string => String((r as { data?: unknown }).data);

/** Sends each query over UDP from one socket and returns the decoded answers, by query ID. */
async function askUdp(port: number, queries: Buffer[]): Promise<Map<number, dnsPacket.Packet>> {
  const socket = dgram.createSocket('udp4');
  const answers = new Map<number, dnsPacket.Packet>();
  socket.on('message', (msg) => {
    const decoded = dnsPacket.decode(msg);
    answers.set(decoded.id!, decoded);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    for (const q of queries) socket.send(q, port, '127.0.0.1');
    await eventually('every query answered', () => (answers.size === queries.length ? true : undefined));
  } finally {
    socket.close();
  }
  return answers;
}

test('repeated questions reused from stored answers keep their own IDs and varying order, and a registry change is answered at once', async (t) => {
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP);
  register(hub, 'web', 4);
  const port = hub.addresses.dnsPort!;
  const ask = (name: string, ids: number[]): Promise<Map<number, dnsPacket.Packet>> =>
    askUdp(port, ids.map((id) => dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] })));
  const ids = Array.from({ length: 40 }, (_, i) => 1000 + i);
  const first = await ask(`web.${NS}`, ids);
  const orders = new Set<string>();
  for (const id of ids) {
    const a = first.get(id)!;
    t.is(a.id, id, 'each answer carries its own query ID');
    t.is(a.flags! & 0xf, 0, 'NOERROR');
    const addresses = (a.answers ?? []).map(dataText);
    t.deepEqual([...addresses].sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
    orders.add(addresses.join(','));
  }
  t.true(orders.size > 1, `answers in more than one order: ${[...orders].join(' | ')}`);
  // A change is seen by the very next question, however recently the same one was answered.
  hub.hub.registry.reportHealth('web-1', 'UNHEALTHY');
  for (const a of (await ask(`web.${NS}`, ids.slice(0, 10))).values()) {
    t.deepEqual((a.answers ?? []).map(dataText).sort(), ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  }
  // So is a new service, after its name was answered NXDOMAIN many times.
  for (const a of (await ask(`api.${NS}`, ids.slice(0, 20))).values()) t.is(a.flags! & 0xf, 3, 'NXDOMAIN');
  register(hub, 'api', 1);
  for (const a of (await ask(`api.${NS}`, ids.slice(20))).values()) t.deepEqual((a.answers ?? []).map(dataText), ['10.0.0.1']);
});

test('EDNS: more than one OPT record is a FORMERR, an EDNS version above 0 gets BADVERS with version 0, as RFC 6891 says', async (t) => {
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP);
  register(hub, 'web', 1);
  const port = hub.addresses.dnsPort!;
  const opt = (version: number): dnsPacket.Answer => ({ name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: version, flags: 0, options: [] }) as unknown as dnsPacket.Answer;
  const query = (id: number, additionals: dnsPacket.Answer[]): Buffer => dnsPacket.encode({ id, type: 'query', flags: 0, questions: [{ name: `web.${NS}`, type: 'A', class: 'IN' }], additionals });
  const answers = await askUdp(port, [query(1, [opt(0), opt(0)]), query(2, [opt(1)]), query(3, [opt(0)])]);
  const twoOpts = answers.get(1)!;
  t.is(twoOpts.flags! & 0xf, 1, 'FORMERR');
  t.deepEqual(twoOpts.answers, []);
  const badvers = answers.get(2)!;
  t.is(badvers.flags! & 0xf, 0, 'the lower bits of BADVERS (16) are 0');
  t.deepEqual(badvers.answers, []);
  const badOpt = badvers.additionals?.find((a) => a.type === 'OPT') as { extendedRcode?: number; ednsVersion?: number } | undefined;
  t.like(badOpt, { extendedRcode: 1, ednsVersion: 0 });
  t.deepEqual((answers.get(3)!.answers ?? []).map(dataText), ['10.0.0.1'], 'version 0 is answered');
  t.is(await metric(hub, 'outrigger_hub_dns_answers_total', 'result="BADVERS"'), 1);
  t.is(await metric(hub, 'outrigger_hub_dns_answers_total', 'result="FORMERR"'), 1);
});

test('SRV at <svc>.<ns> and _<svc>._tcp.<ns>: priority, weight, port and target, with the target addresses', async (t) => {
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP);
  register(hub, 'pay', 2);
  const port = hub.addresses.dnsPort!;
  for (const name of [`pay.${NS}`, `_pay._tcp.${NS}`]) {
    const a = await dig(port, name, 'SRV');
    t.is(a.status, 'NOERROR');
    const records = a.answer.map((r) => r.data.join(' ')).sort();
    t.deepEqual(records, [`1 10 8001 10-0-0-1.pay.${NS}.`, `1 20 8002 10-0-0-2.pay.${NS}.`], name);
    t.deepEqual(a.additional.map((r) => `${r.name} ${r.type} ${r.data[0]}`).sort(), [`10-0-0-1.pay.${NS}. A 10.0.0.1`, `10-0-0-2.pay.${NS}. A 10.0.0.2`]);
    const viaNode = (await resolver(port).resolveSrv(name)).sort((x, y) => x.port - y.port);
    t.deepEqual(viaNode, [
      { name: `10-0-0-1.pay.${NS}`, port: 8001, priority: 1, weight: 10 },
      { name: `10-0-0-2.pay.${NS}`, port: 8002, priority: 1, weight: 20 },
    ]);
  }
  t.deepEqual((await dig(port, `10-0-0-2.pay.${NS}`, 'A')).answer.map((r) => r.data[0]), ['10.0.0.2']);
  t.is((await dig(port, `10-0-0-9.pay.${NS}`, 'A')).status, 'NXDOMAIN', 'no instance has that address');
});

test('a host-name address is a CNAME, an IPv6 one an AAAA, and ANY gets RFC 8482 HINFO', async (t) => {
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP);
  hub.hub.registry.register({ id: 'db-1', service: 'db', namespace: NS, address: 'db-1.example.com', port: 5432, ttl: 0, health: 'HEALTHY' });
  hub.hub.registry.register({ id: 'v6-1', service: 'v6', namespace: NS, address: 'fd00::7', port: 80, ttl: 0, health: 'HEALTHY' });
  const port = hub.addresses.dnsPort!;
  const cname = await dig(port, `db.${NS}`, 'A');
  t.deepEqual(cname.answer.map((r) => `${r.type} ${r.data[0]}`), ['CNAME db-1.example.com.']);
  // A name with a CNAME holds nothing else (RFC 1034 3.6.2): SRV at it is the CNAME too; RFC 2782's name keeps its SRV.
  t.deepEqual((await dig(port, `db.${NS}`, 'SRV')).answer.map((r) => `${r.type} ${r.data[0]}`), ['CNAME db-1.example.com.']);
  t.deepEqual((await dig(port, `_db._tcp.${NS}`, 'SRV')).answer.map((r) => r.data.join(' ')), ['1 100 5432 db-1.example.com.']);
  t.deepEqual(await resolver(port).resolve6(`v6.${NS}`), ['fd00::7']);
  t.deepEqual((await dig(port, `_v6._tcp.${NS}`, 'SRV')).answer.map((r) => r.data.join(' ')), [`1 100 80 fd00--7.v6.${NS}.`]);
  const any = await dig(port, `v6.${NS}`, 'ANY');
  t.deepEqual(any.answer.map((r) => `${r.type} ${r.data.join(' ')}`), ['HINFO "RFC8482" ""']);
});

test('NXDOMAIN with the SOA inside a served namespace; REFUSED outside every one', async (t) => {
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP);
  register(hub, 'api', 1);
  const port = hub.addresses.dnsPort!;
  const nx = await dig(port, `nope.${NS}`, 'A');
  t.is(nx.status, 'NXDOMAIN');
  t.deepEqual(nx.authority.map((r) => `${r.name} ${r.type} ${r.data.slice(0, 2).join(' ')}`), [`${NS}. SOA ${NS}. hostmaster.${NS}.`]);
  t.is((await dig(port, `a.b.c.${NS}`, 'A')).status, 'NXDOMAIN');
  const soa = await dig(port, NS, 'SOA');
  t.is(soa.answer[0]?.type, 'SOA');
  t.is((await dig(port, 'example.com', 'A')).status, 'REFUSED');
  await t.throwsAsync(resolver(port).resolve4(`nope.${NS}`), { code: 'ENOTFOUND' });
  await t.throwsAsync(resolver(port).resolve4('example.com'), { code: 'EREFUSED' });
  t.is(await metric(hub, 'outrigger_hub_dns_answers_total', 'result="NXDOMAIN"'), 3);
});

test('a namespace or service the anonymous policy may not read is answered exactly as one that does not exist, and no query writes an audit line', async (t) => {
  const hub = await startAuthHubFor(t, { auth: { anonymous: { enabled: true, scopes: [NS, 'open.local/web'] } } });
  register(hub, 'api', 1);
  const reg = (id: string, service: string, namespace: string) => hub.hub.registry.register({ id, service, namespace, address: '10.9.9.9', port: 8200, ttl: 0, health: 'HEALTHY' });
  reg('vault-1', 'vault', 'secret.local');
  reg('inner-1', 'db', `hidden.${NS}`);
  reg('web-1', 'web', 'open.local');
  reg('admin-1', 'admin', 'open.local');
  const port = hub.addresses.dnsPort!;
  t.is((await dig(port, `api.${NS}`, 'A')).status, 'NOERROR');
  t.is((await dig(port, 'web.open.local', 'A')).status, 'NOERROR');
  // [hidden, missing]: each pair must get the same answer.
  for (const [hidden, missing, status] of [
    ['vault.secret.local', 'vault.nosuch.local', 'REFUSED'],
    ['nope.secret.local', 'nope.nosuch.local', 'REFUSED'],
    [`db.hidden.${NS}`, `db.notthere.${NS}`, 'NXDOMAIN'],
    ['admin.open.local', 'nope.open.local', 'NXDOMAIN'],
  ] as const) {
    const a = await dig(port, hidden, 'A');
    const b = await dig(port, missing, 'A');
    t.is(a.status, status, hidden);
    t.is(b.status, status, missing);
    t.deepEqual(a.answer, []);
    t.deepEqual(a.authority.map((r) => r.data.slice(0, 2)), b.authority.map((r) => r.data.slice(0, 2)), `${hidden}: the same SOA as ${missing}`);
  }
  await t.throwsAsync(resolver(port).resolve4('vault.secret.local'), { code: 'EREFUSED' });
  // A change in a hidden namespace leaves the readable one's SOA serial alone.
  const serial = async () => (await dig(port, NS, 'SOA')).answer[0]!.data[2];
  const before = await serial();
  hub.hub.registry.reportHealth('inner-1', 'UNHEALTHY');
  hub.hub.registry.reportHealth('vault-1', 'UNHEALTHY');
  t.is(await serial(), before);
  hub.hub.registry.reportHealth('api-1', 'UNHEALTHY');
  t.not(await serial(), before, 'a change in the namespace itself moves its serial');
  t.deepEqual(hub.logs.filter((l) => l.msg === 'audit' && l.api === 'dns'), []);
});

test('with the anonymous policy off, DNS serves no namespace, and writes no audit line per query', async (t) => {
  const hub = await startAuthHubFor(t);
  register(hub, 'api', 1);
  const port = hub.addresses.dnsPort!;
  t.is((await dig(port, `api.${NS}`, 'A')).status, 'REFUSED');
  t.is((await dig(port, 'nope.nosuch.local', 'A')).status, 'REFUSED');
  t.deepEqual(hub.logs.filter((l) => l.msg === 'audit' && l.api === 'dns'), []);
});

test('an answer over 512 bytes is truncated without EDNS0 and whole over TCP; the EDNS0 size is honoured, additional records dropped first', async (t) => {
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP);
  // Names long enough for eight SRV records and their addresses to pass 512 bytes, but not 1232.
  const big = 'truncation-test';
  register(hub, big, 8);
  const port = hub.addresses.dnsPort!;
  const tcp = await dig(port, `${big}.${NS}`, 'SRV', ['+tcp']);
  t.is(tcp.answer.length, 8);
  t.true(tcp.size > 512 && tcp.size <= 1232, `the whole answer is ${tcp.size} bytes`);
  const truncated = await dig(port, `${big}.${NS}`, 'SRV', ['+noedns', '+ignore']);
  t.true(truncated.flags.includes('tc'));
  t.is(truncated.answer.length, 0);
  const retried = await dig(port, `${big}.${NS}`, 'SRV', ['+noedns']);
  t.true(retried.retriedTcp, 'dig asked again over TCP');
  t.is(retried.answer.length, 8);
  // dig sends EDNS0 over TCP too, so the TCP answer has the size of the same answer over UDP.
  const fits = await dig(port, `${big}.${NS}`, 'SRV', [`+bufsize=${tcp.size}`, '+ignore']);
  t.false(fits.flags.includes('tc'));
  t.is(fits.answer.length, 8);
  t.is(fits.additional.length, 8);
  // One byte short: the additional records go first, without TC (RFC 2181 9); the answers stay.
  const smaller = await dig(port, `${big}.${NS}`, 'SRV', [`+bufsize=${tcp.size - 1}`, '+ignore']);
  t.false(smaller.flags.includes('tc'));
  t.is(smaller.answer.length, 8);
  t.is(smaller.additional.length, 0);
  const viaNode = await resolver(port).resolveSrv(`${big}.${NS}`);
  t.is(viaNode.length, 8, "Node's resolver falls back to TCP too");
});

test('names outside every served zone are forwarded to the upstream resolver', async (t) => {
  const upstream = await startAuthHubFor(t, { auth: { anonymous: { enabled: true, scopes: ['*'] } } });
  upstream.hub.registry.register({ id: 'x-1', service: 'x', namespace: 'elsewhere.local', address: '10.7.7.7', port: 80, ttl: 0, health: 'HEALTHY' });
  const hub = await startAuthHubFor(t, { ...ANONYMOUS_SHOP, dns: { listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstream.addresses.dnsPort!}` } });
  register(hub, 'api', 1);
  const port = hub.addresses.dnsPort!;
  const forwarded = await dig(port, 'x.elsewhere.local', 'A');
  t.is(forwarded.status, 'NOERROR');
  t.deepEqual(forwarded.answer.map((r) => r.data[0]), ['10.7.7.7']);
  t.true(forwarded.flags.includes('ra'), 'recursion is available');
  t.deepEqual(await resolver(port).resolve4(`api.${NS}`), ['10.0.0.1'], 'served names are still answered here');
  t.is(await metric(hub, 'outrigger_hub_dns_answers_total', 'result="FORWARDED"'), 1);
});

test('forwarding is no open amplifier: only for dns.forward_from, never ANY, and an upstream answer obeys the size limits', async (t) => {
  const upstream = await startAuthHubFor(t, { auth: { anonymous: { enabled: true, scopes: ['*'] } } });
  for (let i = 1; i <= 8; i++) {
    upstream.hub.registry.register({ id: `big-${i}`, service: 'a-rather-long-service-name', namespace: 'elsewhere.local', address: `10.7.7.${i}`, port: 80, ttl: 0, health: 'HEALTHY' });
  }
  const name = 'a-rather-long-service-name.elsewhere.local';
  const dns = (forwardFrom: string[]) => ({ ...ANONYMOUS_SHOP, dns: { listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstream.addresses.dnsPort!}`, forward_from: forwardFrom } });
  const open = await startAuthHubFor(t, dns(['127.0.0.1']));
  const port = open.addresses.dnsPort!;
  const whole = await dig(port, name, 'SRV', ['+tcp']);
  t.is(whole.answer.length, 8);
  t.true(whole.size > 512, `the upstream's answer is ${whole.size} bytes`);
  // Without EDNS0 the upstream truncates over UDP: a TCP client's query is asked again over TCP.
  const viaTcp = await dig(port, name, 'SRV', ['+tcp', '+noedns']);
  t.is(viaTcp.answer.length, 8, 'the whole answer, fetched from the upstream over TCP');
  t.false(viaTcp.flags.includes('tc'));
  const capped = await dig(port, name, 'SRV', ['+noedns', '+ignore']);
  t.true(capped.flags.includes('tc'), 'over 512 bytes without EDNS0: truncated, as the server\'s own answers are');
  t.deepEqual(capped.answer, []);
  t.is((await dig(port, name, 'ANY', ['+notcp'])).status, 'REFUSED', 'ANY is not forwarded');

  const closed = await startAuthHubFor(t, dns(['10.0.0.0/8', 'fd00::/8']));
  t.is((await dig(closed.addresses.dnsPort!, name, 'A')).status, 'REFUSED', 'a peer outside dns.forward_from is not forwarded for');
  t.is(await metric(closed, 'outrigger_hub_dns_answers_total', 'result="FORWARDED"'), 0);
  const bad = await t.throwsAsync(startAuthHubFor(t, dns(['10.0.0.0/33'])));
  t.regex(bad?.message ?? '', /dns\.forward_from\[0\]: must be an IP address or a network in CIDR form/);
});

test('a source over its rate is dropped and counted; it is answered again once its bucket refills', async (t) => {
  const clock = new ManualClock(Date.now());
  const hub = await startAuthHubFor(t, { ...ANONYMOUS_SHOP, dns: { listen: '127.0.0.1:0', rate_limit: 1, rate_burst: 3 } }, { clock });
  register(hub, 'api', 1);
  const port = hub.addresses.dnsPort!;
  const socket = dgram.createSocket('udp4');
  t.teardown(() => socket.close());
  const replies = new Set<number>();
  socket.on('message', (msg) => replies.add(dnsPacket.decode(msg).id!));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const ask = (id: number): void => {
    socket.send(dnsPacket.encode({ id, type: 'query', flags: 0, questions: [{ name: `api.${NS}`, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
  };
  for (let id = 1; id <= 5; id++) ask(id);
  await eventually('three answers and two drops', async () =>
    replies.size === 3 && (await metric(hub, 'outrigger_hub_dns_dropped_total', 'reason="rate_limited"')) === 2 ? true : undefined,
  );
  t.deepEqual([...replies].sort(), [1, 2, 3]);
  clock.advance(1000);
  ask(6);
  await eventually('the query after the refill to be answered', () => (replies.has(6) ? true : undefined));
});

test('over TCP, pipelined queries are each answered and a malformed one is dropped and counted, on the same connection', async (t) => {
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP);
  register(hub, 'api', 1);
  const port = hub.addresses.dnsPort!;
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  const frame = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);
  const query = (id: number): Buffer => dnsPacket.encode({ id, type: 'query', flags: 0, questions: [{ name: `api.${NS}`, type: 'A', class: 'IN' }] });
  const ids: number[] = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      buffered = buffered.subarray(2 + msg.length);
      const decoded = dnsPacket.decode(msg);
      t.deepEqual((decoded.answers ?? []).map((a) => (a as { data?: unknown }).data), ['10.0.0.1']);
      ids.push(decoded.id!);
    }
  });
  // Two queries and a malformed message in one write, then a third query in two halves.
  socket.write(Buffer.concat([frame(query(1)), frame(query(2)), frame(Buffer.from([1, 2, 3]))]));
  await eventually('the first two answers', () => (ids.length === 2 ? true : undefined));
  // Apart in time, so the server reads them apart: the frame must wait for its second half.
  socket.setNoDelay(true);
  const third = frame(query(3));
  socket.write(third.subarray(0, 5));
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(ids.length, 2, 'half a query is not answered');
  socket.write(third.subarray(5));
  await eventually('three answers', () => (ids.length === 3 ? true : undefined));
  t.deepEqual([...ids].sort(), [1, 2, 3]);
  t.is(await metric(hub, 'outrigger_hub_dns_dropped_total', 'reason="malformed"'), 1);
  t.is(await metric(hub, 'outrigger_hub_dns_answers_total', 'transport="tcp"'), 3);
});

test('over TCP a source holds at most 16 connections, and a trickle of bytes does not keep one open past the idle time', async (t) => {
  const clock = new ManualClock(Date.now());
  const hub = await startAuthHubFor(t, ANONYMOUS_SHOP, { clock });
  const port = hub.addresses.dnsPort!;
  const open = (): Promise<{ socket: net.Socket; closed: Promise<void> }> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve({ socket, closed: new Promise((done) => socket.once('close', () => done())) }));
      socket.once('error', reject);
      t.teardown(() => socket.destroy());
    });
  const held = await Promise.all(Array.from({ length: MAX_TCP_PER_SOURCE }, open));
  const extra = await open();
  await extra.closed;
  t.true(extra.socket.destroyed, 'the connection beyond the limit was closed at once');

  // The slow one trickles a length prefix, a byte at a time, never a whole query; the busy one
  // sends a whole query at the same moment. Only a whole query buys another idle period.
  const [slow, busy] = [held[0]!, held[1]!];
  slow.socket.write(Buffer.from([0]));
  clock.advance(6_000);
  slow.socket.write(Buffer.from([40]));
  const query = dnsPacket.encode({ id: 7, type: 'query', flags: 0, questions: [{ name: `api.${NS}`, type: 'A', class: 'IN' }] });
  const answered = new Promise((resolve) => busy.socket.once('data', resolve));
  busy.socket.write(Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]));
  await answered;
  clock.advance(5_000);
  await slow.closed;
  t.false(busy.socket.destroyed, 'the connection that sent a whole query is still open');
});

test('a DNS port already in use fails the start, naming dns.listen', async (t) => {
  const first = await startAuthHubFor(t, ANONYMOUS_SHOP);
  const err = await t.throwsAsync(startAuthHub({ dns: { listen: `127.0.0.1:${first.addresses.dnsPort!}` } }), { instanceOf: OutriggerError });
  t.is(err?.code, 'config_invalid');
  t.is(err?.field, 'dns.listen');
  t.regex(err?.message ?? '', /^dns\.listen: port \d+ is already in use; choose another with --dns\.listen/);
});
