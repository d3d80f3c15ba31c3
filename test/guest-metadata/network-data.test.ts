/** network_data.json against Nova's get_network_metadata (nova/virt/netutils.py) and its documented example. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ec2Addresses, networkData } from '../../src/guest-metadata/network-data.ts';
import { testVif } from '../helpers/vif.ts';
import { staticVif } from './fixtures.ts';

describe('networkData', () => {
  it('is null without any VIF', () => {
    assert.equal(networkData([]), null);
  });

  it('describes a static IPv4 subnet with its routes and DNS servers', () => {
    const vif = staticVif();
    assert.deepEqual(networkData([vif]), {
      links: [
        {
          id: vif.devname,
          vif_id: vif.id,
          type: 'bridge',
          mtu: 1450,
          ethernet_mac_address: 'fa:16:3e:00:00:05',
        },
      ],
      networks: [
        {
          id: 'network0',
          type: 'ipv4',
          link: vif.devname,
          ip_address: '10.0.0.5',
          netmask: '255.255.255.0',
          routes: [
            { network: '0.0.0.0', netmask: '0.0.0.0', gateway: '10.0.0.1' },
            { network: '192.168.7.0', netmask: '255.255.255.0', gateway: '10.0.0.254' },
          ],
          network_id: vif.network.id,
          services: [
            { type: 'dns', address: '10.0.0.2' },
            { type: 'dns', address: '8.8.8.8' },
          ],
        },
      ],
      services: [
        { type: 'dns', address: '10.0.0.2' },
        { type: 'dns', address: '8.8.8.8' },
      ],
    });
  });

  it('gives a DHCP subnet as ipv4_dhcp and leaves the MTU to DHCP', () => {
    const vif = testVif({ mac: 'fa:16:3e:aa:bb:cc' });
    const data = networkData([vif])!;
    assert.equal(data.links[0]!.mtu, null);
    assert.deepEqual(data.networks, [
      { id: 'network0', type: 'ipv4_dhcp', link: vif.devname, network_id: vif.network.id },
    ]);
    assert.deepEqual(data.services, []);
  });

  it('numbers links and networks across VIFs, first IPv4 then first IPv6, and skips VIFs without addresses', () => {
    const first = staticVif();
    const v6SubnetId = 'c0ffee00-0000-4000-8000-000000000006';
    first.network.subnets.push({
      id: v6SubnetId,
      cidr: '2001:db8:1::/64',
      ip_version: 6,
      gateway_ip: '2001:db8:1::1',
      dns_nameservers: ['8.8.8.8'],
      host_routes: [],
      enable_dhcp: false,
    });
    first.fixed_ips.push({ subnet_id: v6SubnetId, ip_address: '2001:db8:1::5' });
    const bare = testVif();
    bare.fixed_ips = [];
    const second = testVif({ cidr: '10.1.0.0/24', ip: '10.1.0.7' });
    const data = networkData([first, bare, second])!;
    assert.deepEqual(
      data.links.map((l) => l.vif_id),
      [first.id, second.id],
    );
    assert.deepEqual(
      data.networks.map((n) => [n.id, n.type, n.link]),
      [
        ['network0', 'ipv4', first.devname],
        ['network1', 'ipv6', first.devname],
        ['network2', 'ipv4_dhcp', second.devname],
      ],
    );
    const v6 = data.networks[1] as { netmask: string; routes: unknown[]; ip_address: string };
    assert.equal(v6.netmask, 'ffff:ffff:ffff:ffff::');
    assert.equal(v6.ip_address, '2001:db8:1::5');
    assert.deepEqual(v6.routes, [{ network: '::', netmask: '::', gateway: '2001:db8:1::1' }]);
    // DNS servers are listed once.
    assert.deepEqual(
      data.services.map((s) => s.address),
      ['10.0.0.2', '8.8.8.8'],
    );
  });

  it('gives EC2 the IPv4 fixed addresses and the floating ones in NIC order', () => {
    const vif = staticVif();
    assert.deepEqual(ec2Addresses([vif, testVif({ ip: '10.0.0.9' })]), {
      fixedIpv4: ['10.0.0.5', '10.0.0.9'],
      floating: ['203.0.113.9'],
    });
  });
});
