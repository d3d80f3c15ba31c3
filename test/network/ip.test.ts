/** Address arithmetic: canonical forms, CIDRs, overlap and Neutron's default pools. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canonicalIp,
  cidrsOverlap,
  defaultPools,
  formatCidr,
  formatRange,
  parseCidr,
  parseIp,
} from '../../src/network/ip.ts';

test('canonical forms of IPv4 and IPv6 addresses', () => {
  assert.equal(canonicalIp('10.0.0.5'), '10.0.0.5');
  assert.equal(canonicalIp('10.0.0.05'), null);
  assert.equal(canonicalIp('10.0.0.256'), null);
  assert.equal(canonicalIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalIp('2001:db8:0:1:0:0:0:0'), '2001:db8:0:1::');
  assert.equal(canonicalIp('::'), '::');
  assert.equal(canonicalIp('2001:db8::0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIp('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  assert.equal(canonicalIp('::ffff:10.0.0.1'), '::ffff:a00:1');
  assert.equal(canonicalIp('nonsense'), null);
  assert.equal(parseIp('255.255.255.255')!.value, 0xffffffffn);
});

test('CIDRs: host bits, prefix bounds, overlap', () => {
  const c = parseCidr('10.0.0.0/24')!;
  assert.equal(formatCidr(c), '10.0.0.0/24');
  assert.equal(c.hostBitsSet, false);
  assert.equal(parseCidr('10.0.0.7/24')!.hostBitsSet, true);
  assert.equal(parseCidr('10.0.0.0/33'), null);
  assert.equal(parseCidr('10.0.0.0/x'), null);
  assert.equal(formatCidr(parseCidr('2001:DB8::/64')!), '2001:db8::/64');
  assert.ok(cidrsOverlap(c, parseCidr('10.0.0.128/25')!));
  assert.ok(cidrsOverlap(c, parseCidr('10.0.0.0/16')!));
  assert.ok(!cidrsOverlap(c, parseCidr('10.0.1.0/24')!));
  assert.ok(!cidrsOverlap(c, parseCidr('::/0')!));
});

test("Neutron's default pools leave out network, broadcast and gateway", () => {
  const pools = (cidr: string, gw: string | null) =>
    defaultPools(parseCidr(cidr)!, gw === null ? null : parseIp(gw)!.value).map(formatRange);
  assert.deepEqual(pools('10.0.0.0/24', '10.0.0.1'), ['10.0.0.2-10.0.0.254']);
  assert.deepEqual(pools('10.0.0.0/24', null), ['10.0.0.1-10.0.0.254']);
  assert.deepEqual(pools('10.0.0.0/24', '10.0.0.100'), ['10.0.0.1-10.0.0.99', '10.0.0.101-10.0.0.254']);
  assert.deepEqual(pools('10.0.0.0/24', '10.0.0.254'), ['10.0.0.1-10.0.0.253']);
  assert.deepEqual(pools('10.0.0.0/30', '10.0.0.1'), ['10.0.0.2-10.0.0.2']);
  assert.deepEqual(pools('2001:db8::/64', '2001:db8::1'), ['2001:db8::2-2001:db8::ffff:ffff:ffff:fffe']);
  assert.deepEqual(pools('2001:db8::/127', null), ['2001:db8::1-2001:db8::1']);
});
