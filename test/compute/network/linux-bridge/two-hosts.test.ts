/**
 * Two compute hosts on one machine, each a network namespace with its own datapath instance
 * (`[linux_bridge] namespace`), joined by a veth that stands for the physical network: guests of one
 * network on different hosts reach each other over it, while each host stays the DHCP server and gateway
 * of its own guests (multi-host).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { LinuxBridgeDriver } from '../../../../src/compute/network/linux-bridge/linux-bridge-driver.ts';
import { NetworkLab, network, rule, sh, vif } from '../../../helpers/network-lab.ts';

describe('Linux bridge datapath on two hosts', () => {
  const lab = new NetworkLab();
  const net = network({
    id: lab.id('n'),
    projectId: 'project',
    cidr: '10.50.0.0/24',
    gateway: '10.50.0.1',
    type: 'flat',
    physicalNetwork: 'physnet1',
  });
  const rules = [rule('egress'), rule('ingress', null, ['10.50.0.0/24'])];
  const vif1 = vif({ id: lab.id('p1'), mac: 'fa:16:3e:00:01:01', network: net, ip: '10.50.0.11', rules });
  const vif2 = vif({ id: lab.id('p2'), mac: 'fa:16:3e:00:01:02', network: net, ip: '10.50.0.12', rules });
  let host1: string;
  let host2: string;
  let g1: string;
  let g2: string;
  let state: string;
  let driver1: LinuxBridgeDriver;
  let driver2: LinuxBridgeDriver;

  before(async () => {
    state = await lab.directory;
    host1 = await lab.namespace('h1');
    host2 = await lab.namespace('h2');
    await lab.wire(host1, 'wire1', host2, 'wire2');
    g1 = await lab.guest('g1', host1, vif1);
    g2 = await lab.guest('g2', host2, vif2);
    const driver = (ns: string, iface: string, dir: string) =>
      new LinuxBridgeDriver({
        physicalMappings: new Map([['physnet1', iface]]),
        namespace: ns,
        stateDirectory: join(state, dir),
        dhcpLeaseSeconds: 600,
        metadata: null,
      });
    driver1 = driver(host1, 'wire1', 'host1');
    driver2 = driver(host2, 'wire2', 'host2');
  });

  after(async () => {
    await driver1.reconcile([]).catch(() => undefined);
    await driver2.reconcile([]).catch(() => undefined);
    await lab.destroy();
  });

  it('serves each guest from its own host and joins them over the physical network', async () => {
    await driver1.plug('vm-1', [vif1], {}, 'project');
    await driver2.plug('vm-2', [vif2], {}, 'project');
    assert.equal((await lab.dhcp(g1))?.ip, '10.50.0.11');
    assert.equal((await lab.dhcp(g2))?.ip, '10.50.0.12');
    assert.ok(await lab.ping(g1, '10.50.0.12'));
    assert.ok(await lab.ping(g2, '10.50.0.11'));
  });

  it('keeps each guest on its own host as gateway, though both hosts hold the address', async () => {
    for (const [guest, host, bridge] of [
      [g1, host1, net.bridge],
      [g2, host2, net.bridge],
    ] as const) {
      assert.ok(await lab.ping(guest, '10.50.0.1'));
      const neighbour = await sh(['ip', '-n', guest, 'neigh', 'show', '10.50.0.1']);
      const hostMac = /link\/ether (\S+)/.exec(await sh(['ip', '-n', host, 'link', 'show', 'dev', bridge]))![1]!;
      assert.match(neighbour, new RegExp(`lladdr ${hostMac}`), `${guest} uses ${host} as its gateway`);
    }
    // The other host never heard the guests ask for the gateway: it would have learned their addresses.
    assert.equal((await sh(['ip', '-n', host2, 'neigh', 'show', '10.50.0.11'])).trim(), '');
    assert.equal((await sh(['ip', '-n', host1, 'neigh', 'show', '10.50.0.12'])).trim(), '');
  });

  it('removes everything from both hosts when their guests go', async () => {
    await driver1.unplug('vm-1', [vif1]);
    await driver2.reconcile([]);
    for (const host of [host1, host2]) {
      assert.equal((await sh(['ip', '-n', host, '-o', 'link', 'show', 'type', 'bridge'])).trim(), '');
      assert.doesNotMatch(await sh(['ip', 'netns', 'exec', host, 'nft', 'list', 'tables']), /stratus/);
    }
    assert.equal((await NetworkLab.processesMentioning(state)).length, 0);
    assert.equal(await lab.ping(g1, '10.50.0.12'), false);
  });
});
