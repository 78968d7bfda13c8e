/**
 * Fuzzing the hub's DNS server over UDP: random bytes, valid queries with bytes changed, cut short
 * or with their counts and flags scrambled. Every packet is either answered (with a response
 * dns-packet can read, carrying the query's id) or dropped and counted, exactly one of the two;
 * and after each case the server still answers a real query correctly.
 */
import dgram from 'node:dgram';
import test from 'ava';
import * as dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { startAuthHubFor, type AuthHub } from '../helpers/auth-hub.js';
import { check, fuzz, Tally } from '../helpers/fuzz.js';
import { eventually } from '../helpers/wait.js';

const NS = 'fuzz.local';

const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

const QTYPES = ['A', 'AAAA', 'SRV', 'SOA', 'TXT', 'ANY', 'CNAME', 'MX'] as const;

/** A well-formed query, the seed of the mutations. */
const validQuery = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    name: fc.constantFrom(`api.${NS}`, `_api._tcp.${NS}`, `nope.${NS}`, NS, 'example.com', `10-0-0-1.api.${NS}`, ''),
    type: fc.constantFrom(...QTYPES),
    edns: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
  })
  .map(({ id, name, type, edns }) =>
    dnsPacket.encode({
      id,
      type: 'query',
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name, type: type as dnsPacket.RecordType, class: 'IN' }],
      additionals: edns === undefined ? [] : [{ name: '.', type: 'OPT', udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    }),
  );

const mutated = fc.tuple(validQuery, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })).map(([q, edits]) => {
  const out = Buffer.from(q);
  for (const [at, byte] of edits) out[at % out.length] = byte;
  return out;
});

const cut = fc.tuple(validQuery, fc.nat()).map(([q, n]) => q.subarray(0, n % q.length));

/** A valid header's counts and flags scrambled: questions that are not there, responses, other opcodes. */
const scrambledHeader = fc.tuple(validQuery, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([q, flags, count]) => {
  const out = Buffer.from(q);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(count, 4 + 2 * (count % 4));
  return out;
});

const packets = fc.oneof(fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)), mutated, cut, scrambledHeader, validQuery);

async function counted(hub: AuthHub): Promise<{ answers: number; dropped: Map<string, number> }> {
  const read = async (name: string, label: string): Promise<Map<string, number>> => {
    const m = await hub.hub.metrics.register.getSingleMetric(name)!.get();
    const out = new Map<string, number>();
    for (const v of m.values) {
      const key = String(v.labels[label]);
      out.set(key, (out.get(key) ?? 0) + v.value);
    }
    return out;
  };
  const answers = [...(await read('outrigger_hub_dns_answers_total', 'result')).values()].reduce((a, b) => a + b, 0);
  return { answers, dropped: await read('outrigger_hub_dns_dropped_total', 'reason') };
}

const total = (c: { answers: number; dropped: Map<string, number> }): number => c.answers + [...c.dropped.values()].reduce((a, b) => a + b, 0);

test('fuzzed packets are answered or dropped and counted, and the server keeps answering', async (t) => {
  const hub = await startAuthHubFor(t, { auth: { anonymous: { enabled: true, scopes: [NS] } }, dns: { listen: '127.0.0.1:0', rate_limit: 10_000_000, rate_burst: 10_000_000 } }, { logLevel: 'warn' });
  hub.hub.registry.register({ id: 'api-1', service: 'api', namespace: NS, address: '10.0.0.1', port: 80, ttl: 0, health: 'HEALTHY' });
  const port = hub.addresses.dnsPort!;
  const fuzzSocket = dgram.createSocket('udp4');
  const probeSocket = dgram.createSocket('udp4');
  t.teardown(() => {
    fuzzSocket.close();
    probeSocket.close();
  });
  const replies: Buffer[] = [];
  fuzzSocket.on('message', (msg) => replies.push(msg));
  const probes = new Map<number, Buffer>();
  probeSocket.on('message', (msg) => probes.set(msg.readUInt16BE(0), msg));
  await Promise.all([fuzzSocket, probeSocket].map((s) => new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))));
  const tally = new Tally();
  let probeId = 0;
  await fuzz(
    t,
    fc.asyncProperty(packets, async (packet) => {
      replies.length = 0;
      const before = await counted(hub);
      fuzzSocket.send(packet, port, '127.0.0.1');
      const after = await eventually('the packet to be answered or dropped', async () => {
        const now = await counted(hub);
        return total(now) > total(before) ? now : undefined;
      }, 5000, 2);
      check(total(after) === total(before) + 1, () => `one packet counted ${total(after) - total(before)} times`);
      if (after.answers > before.answers) {
        const reply = await eventually('the answer to arrive', () => replies[0], 5000, 2);
        const decoded = dnsPacket.decode(reply);
        check(decoded.type === 'response' && decoded.id === packet.readUInt16BE(0), () => `the answer ${reply.toString('hex')} does not answer ${packet.toString('hex')}`);
        tally.add(`answered ${RCODE_NAMES[(decoded.flags ?? 0) & 0xf] ?? 'other'}`);
      } else {
        for (const [reason, n] of after.dropped) if (n > (before.dropped.get(reason) ?? 0)) tally.add(`dropped ${reason}`);
      }
      // The server still answers a real query, correctly.
      const id = ++probeId % 0x10000;
      probeSocket.send(dnsPacket.encode({ id, type: 'query', flags: 0, questions: [{ name: `api.${NS}`, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
      const probe = dnsPacket.decode(await eventually('the probe to be answered', () => probes.get(id), 5000, 2));
      const first = (probe.answers ?? [])[0] as { data?: unknown } | undefined;
      check(((probe.flags ?? 0) & 0xf) === 0 && first?.data === '10.0.0.1', () => `the probe got ${JSON.stringify(probe)}`);
      if (after.answers === before.answers) check(replies.length === 0, () => 'a dropped packet was answered');
    }),
    { averageCaseMs: 30 },
  );
  t.log(tally.toString());
  t.true(tally.get('dropped malformed') > 0, 'some packets were malformed');
  t.true(['NOERROR', 'NXDOMAIN', 'REFUSED', 'FORMERR'].some((r) => tally.get(`answered ${r}`) > 0), 'some packets were answered');
});
