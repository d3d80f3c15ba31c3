/** The nftables rules the datapath loads: rendered from a plan, checked by nft itself. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { planHost, PlanError } from '../../../../src/compute/network/linux-bridge/host-plan.ts';
import { renderRuleset } from '../../../../src/compute/network/linux-bridge/nft-ruleset.ts';
import type { VifSecurityRule } from '../../../../src/wire/messages/network-info.ts';
import { externalNetwork, network, rule, vif } from '../../../helpers/network-lab.ts';

const run = promisify(execFile);
const net = network({ id: 'tenant-network', projectId: 'p1', cidr: '10.1.0.0/24', gateway: '10.1.0.1' });

function render(rules: VifSecurityRule[], portSecurity = true): string {
  const port = vif({ id: 'port-a', mac: 'fa:16:3e:00:00:01', network: net, ip: '10.1.0.5', rules, portSecurity });
  return renderRuleset(
    planHost([{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: {} }], new Map()),
  );
}

/** nft's own parser and kernel checks, without loading anything (`-c`). */
async function nftAccepts(script: string): Promise<void> {
  const child = run('nft', ['-c', '-f', '-']);
  child.child.stdin?.end(script);
  await child;
}

describe('nftables rule set', () => {
  it("expands a rule naming a remote group to the host's set of the group, of the rule's family", async () => {
    const named = (ethertype: 'IPv4' | 'IPv6'): VifSecurityRule => ({
      ...rule('ingress', 'tcp', [], [22, 22]),
      ethertype,
      remote_group_id: 'group-1',
    });
    const port = vif({
      id: 'port-a',
      mac: 'fa:16:3e:00:00:01',
      network: net,
      ip: '10.1.0.5',
      rules: [named('IPv4'), named('IPv6')],
    });
    const guests = [{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: {} }];
    const sets = new Map([
      ['group-1', { id: 'group-1', ipv4: ['10.1.0.5/32', '10.1.0.6/32'], ipv6: ['2001:db8::6/128'] }],
    ]);
    const script = renderRuleset(planHost(guests, new Map(), sets));
    assert.match(script, /ip saddr \{ 10\.1\.0\.5\/32, 10\.1\.0\.6\/32 \} meta l4proto 6 th dport 22 return/);
    assert.match(script, /ip6 saddr \{ 2001:db8::6\/128 \} meta l4proto 6 th dport 22 return/);
    await nftAccepts(script);
    // Without the group's set the rule admits what it came with: here nobody.
    assert.doesNotMatch(renderRuleset(planHost(guests, new Map())), /th dport 22 return/);
  });

  it('turns security group rules into returns of the port chains, by direction', async () => {
    const script = render([
      rule('ingress', 'tcp', ['192.0.2.0/24', '2001:db8::/32'], [22, 23]),
      rule('ingress', 'icmp', null, [8, 0]),
      rule('ingress', 'udp', null, [53, 53]),
      rule('egress', '132'),
      { ...rule('ingress', 'ipv6-icmp'), ethertype: 'IPv6' },
    ]);
    assert.match(
      script,
      /chain ingress_tapport_a \{\n {4}meta nfproto ipv4 ip saddr \{ 192\.0\.2\.0\/24 \} meta l4proto 6 th dport 22-23 return/,
    );
    assert.match(script, /meta nfproto ipv4 meta l4proto 1 icmp type 8 icmp code 0 return/);
    assert.match(script, /meta nfproto ipv4 meta l4proto 17 th dport 53 return/);
    assert.match(script, /chain egress_tapport_a \{\n {4}meta nfproto ipv4 meta l4proto 132 return\n {4}drop/);
    assert.match(script, /meta nfproto ipv6 meta l4proto 58 return/);
    await nftAccepts(script);
  });

  it('drops a rule whose remote group has no members, and a protocol it does not know', () => {
    const script = render([rule('ingress', null, []), rule('ingress', 'nonsense')]);
    assert.match(script, /chain ingress_tapport_a \{\n {4}drop\n/);
  });

  it('guards a port with port security only', () => {
    assert.match(render([]), /chain from_tapport_a/);
    const open = render([], false);
    assert.doesNotMatch(open, /from_tapport_a|ingress_tapport_a/);
  });

  it('deletes both tables when the host has no ports', () => {
    const script = renderRuleset({ networks: [], ports: [], floatingIps: [] });
    assert.equal(
      script,
      'table bridge stratus\ndelete table bridge stratus\ntable inet stratus\ndelete table inet stratus\n',
    );
  });

  it('refuses an address that would not be one in the rule set', () => {
    assert.throws(() => render([rule('ingress', null, ['10.0.0.0/24 } accept'])]), PlanError);
  });

  it("redirects a network's metadata requests to its proxy listener, reachable only that way", async () => {
    const port = vif({ id: 'port-a', mac: 'fa:16:3e:00:00:01', network: net, ip: '10.1.0.5', rules: [] });
    const plan = planHost([{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: {} }], new Map());
    const script = renderRuleset(plan, [{ bridge: net.bridge, address: '10.1.0.1', port: 40123 }]);
    assert.ok(
      script.includes(`iifname "${net.bridge}" ip daddr 169.254.169.254 tcp dport 80 dnat ip to 10.1.0.1:40123`),
    );
    const input = script.slice(script.indexOf('chain input'));
    const accept = input.indexOf(
      `iifname . ip daddr . tcp dport { "${net.bridge}" . 10.1.0.1 . 40123 } ct original ip daddr 169.254.169.254 accept`,
    );
    const drop = input.indexOf('tcp dport { 40123 } drop');
    assert.ok(accept > 0 && drop > accept && input.indexOf('jump egress_') > drop, input);
    await nftAccepts(script);
    assert.throws(() => renderRuleset(plan, [{ bridge: net.bridge, address: '10.1.0.1', port: 70000 }]), PlanError);
  });

  it("sends a guest's packets to its own floating IP back to it from that address, and never its floods", async () => {
    const floating = [{ address: '198.51.100.7', network: externalNetwork('external', 'public') }];
    const port = vif({ id: 'port-a', mac: 'fa:16:3e:00:00:01', network: net, ip: '10.1.0.5', floating });
    const plan = planHost(
      [{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: {} }],
      new Map([['public', 'eth9']]),
    );
    const script = renderRuleset(plan);
    assert.ok(
      script.includes(`oifname "${net.bridge}" ip saddr 10.1.0.5 ip daddr 10.1.0.5 snat ip to 198.51.100.7`),
      script,
    );
    assert.ok(
      script.includes(
        `oifname . ether saddr { "${port.devname}" . fa:16:3e:00:00:01 } meta pkttype { broadcast, multicast } drop`,
      ),
    );
    await nftAccepts(script);
  });
});
