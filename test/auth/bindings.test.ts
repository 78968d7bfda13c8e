import test from 'ava';
import { Bindings, bindingSchema } from '../../src/auth/bindings.js';
import { OutriggerError } from '../../src/common/errors.js';
import { parseWith } from '../../src/model/parse-input.js';

const parse = (identity: string) => parseWith(bindingSchema, { identity, role: 'operator', scopes: ['shop.local'] });

test('a binding names a ServiceAccount, a SPIFFE id or a CN, or a prefix of one; anything else is refused naming the field', (t) => {
  for (const ok of ['system:serviceaccount:ops:deployer', 'system:serviceaccount:ops:*', 'spiffe://cluster.local/ns/ops/sa/admin', 'spiffe://cluster.local/ns/ops/*', 'cn:ops-console', 'cn:ops-*']) {
    t.is(parse(ok).identity, ok);
  }
  for (const [bad, why] of [
    ['ops-console', /identity.*system:serviceaccount:<namespace>:<name>, spiffe:\/\/.*cn:<common name>/],
    ['system:serviceaccount:Ops:deployer', /identity.*Kubernetes namespace and ServiceAccount name/],
    ['system:serviceaccount:ops:a:b', /identity.*Kubernetes namespace and ServiceAccount name/],
    ['spiffe://cluster.local/ns/ops/sa/', /identity.*SPIFFE id/],
    ['spiffe://cluster.local/ns/*/sa/admin', /identity.*only at its end/],
    ['cn:', /identity.*common name/],
    ['cn:ops\u0000', /identity.*control characters/],
  ] as const) {
    const err = t.throws(() => parse(bad), { instanceOf: OutriggerError }, bad);
    t.regex(err!.message, why, bad);
  }
});

test('a binding applies to names of its own source only', (t) => {
  const bindings = new Bindings([parse('cn:ops-*'), parse('spiffe://cluster.local/ops/*')], 'svc.cluster.local');
  t.like(bindings.bound('cn:ops-console', 'cn', 'certificate'), { role: 'operator' });
  t.is(bindings.bound('cn:ops-console', 'spiffe', 'certificate'), undefined);
  t.is(bindings.bound('spiffe://cluster.local/ops/admin', 'cn', 'certificate'), undefined);
  t.like(bindings.bound('spiffe://cluster.local/ops/admin', 'spiffe', 'certificate'), { role: 'operator' });
});

test("an unbound workload's scope is its own service exactly, built from the names and never parsed", (t) => {
  const id = new Bindings([], 'svc.cluster.local').workload('system:serviceaccount:shop:cart-v2', 'service-account', 'kubernetes', { namespace: 'shop', serviceAccount: 'cart-v2' });
  t.deepEqual(id.scopes, [{ namespace: { exact: 'shop.svc.cluster.local' }, service: { exact: 'cart-v2' }, text: 'shop.svc.cluster.local/cart-v2' }]);
});
