import test from 'ava';
import { createPolicyRegistry } from '../../src/balancers/builtin-policies.js';
import { OutriggerError } from '../../src/common/errors.js';
import { dnsListenAddress, dnsUpstream } from '../../src/config/dns-config.js';
import { hubConfigSchema } from '../../src/config/hub-config.js';
import { loadConfig } from '../../src/config/layered-config.js';
import { sidecarConfigSchema } from '../../src/config/sidecar-config.js';
import { parseServiceConfig } from '../../src/model/service-config.js';

const hub = (args: string[]) => loadConfig(hubConfigSchema, { args, env: {} }).config;
const sidecar = (args: string[]) => loadConfig(sidecarConfigSchema, { args: ['--service', 'web', '--app.port', '8080', ...args], env: {} }).config;

test('DNS defaults: the hub on port 15053 of its bind address, the sidecar on 127.0.0.1:15053', (t) => {
  const h = hub([]);
  t.deepEqual(dnsListenAddress(h.dns, h.bind), { host: '0.0.0.0', port: 15053 });
  t.deepEqual(dnsListenAddress(hub(['--bind', '127.0.0.1']).dns, '127.0.0.1'), { host: '127.0.0.1', port: 15053 });
  t.deepEqual(dnsListenAddress(sidecar([]).dns, '127.0.0.1'), { host: '127.0.0.1', port: 15053 });
  t.is(dnsListenAddress(hub(['--dns.listen', 'off']).dns, '0.0.0.0'), undefined);
  t.deepEqual(dnsListenAddress(sidecar(['--dns.listen', '[::1]:53']).dns, '127.0.0.1'), { host: '::1', port: 53 });
  t.deepEqual(dnsUpstream(hub(['--dns.upstream', '10.96.0.10']).dns), { host: '10.96.0.10', port: 53 });
  t.deepEqual(dnsUpstream(hub(['--dns.upstream', '[fd00::a]:5353']).dns), { host: 'fd00::a', port: 5353 });
});

test('bad DNS config values are refused naming the key and what is allowed', (t) => {
  const cases: Array<[() => unknown, string, RegExp]> = [
    [() => hub(['--dns.listen', 'localhost:53']), 'dns.listen', /<IP>:<port>/],
    [() => hub(['--dns.listen', '127.0.0.1:70000']), 'dns.listen', /<IP>:<port>/],
    [() => hub(['--dns.upstream', 'kube-dns:53']), 'dns.upstream', /IP address of a resolver/],
    [() => hub(['--dns.upstream', '10.0.0.1:99999']), 'dns.upstream', /IP address of a resolver/],
    [() => hub(['--dns.max-answers', '0']), 'dns.max_answers', /integer from 1 to 64/],
    [() => sidecar(['--dns.rate-limit', '0']), 'dns.rate_limit', /integer from 1/],
    [() => sidecar(['--dns.zones', '["Not A Name"]']), 'dns.zones[0]', /must be a DNS name/],
  ];
  for (const [fn, field, allowed] of cases) {
    const err = t.throws(fn, { instanceOf: OutriggerError });
    t.is(err?.code, 'config_invalid');
    t.true(err?.message.includes(field), `${err?.message} names ${field}`);
    t.regex(err?.message ?? '', allowed);
  }
});

test('the service config has dns.ttl: 5 s by default, refused outside 0 to 2147483647 naming the field', (t) => {
  const policies = createPolicyRegistry();
  t.is(parseServiceConfig({}, policies).dns.ttl, 5);
  t.is(parseServiceConfig({ dns: { ttl: 60 } }, policies).dns.ttl, 60);
  for (const bad of [-1, 1.5, 2 ** 31, 'ten']) {
    const err = t.throws(() => parseServiceConfig({ dns: { ttl: bad } }, policies), { instanceOf: OutriggerError });
    t.is(err?.field, 'config.dns.ttl');
    t.regex(err?.message ?? '', /^config\.dns\.ttl: must be an integer from 0 to 2147483647/);
  }
  const unknown = t.throws(() => parseServiceConfig({ dns: { ttl: 5, records: [] } }, policies), { instanceOf: OutriggerError });
  t.regex(unknown?.message ?? '', /dns\.records/);
});
