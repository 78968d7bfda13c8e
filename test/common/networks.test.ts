import test from 'ava';
import { sourceKey } from '../../src/common/networks.js';

test('sourceKey: IPv4 as it is, IPv6 by its /64 however it is written, IPv4-mapped as IPv4', (t) => {
  t.is(sourceKey('10.1.2.3'), '10.1.2.3');
  t.is(sourceKey('::ffff:10.1.2.3'), '10.1.2.3');
  t.is(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.is(sourceKey('2001:DB8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  t.is(sourceKey('2001:0db8:0001:0002::'), '2001:db8:1:2::/64');
  t.is(sourceKey('2001::1:2:3:4:5:6'), '2001:0:1:2::/64');
  t.is(sourceKey('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(sourceKey('::1'), '0:0:0:0::/64');
  t.is(sourceKey('::'), '0:0:0:0::/64');
  t.is(sourceKey('64:ff9b::10.1.2.3'), '64:ff9b:0:0::/64');
  t.not(sourceKey('2001:db8:1:3::1'), sourceKey('2001:db8:1:2::1'), 'another /64 is another source');
});
