/** The host plan: what a set of ports asks of a host, before anything touches it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planHost, PlanError } from '../../../../src/compute/network/linux-bridge/host-plan.ts';
import { externalNetwork, network, vif } from '../../../helpers/network-lab.ts';

const mappings = new Map([
  ['physnet1', 'eth1'],
  ['public', 'eth2'],
]);
const ext = externalNetwork('ext-network-id', 'public');
const vlanNet = network({
  id: 'vlan-network-id',
  projectId: 'p1',
  cidr: '10.1.0.0/24',
  gateway: '10.1.0.1',
  type: 'vlan',
  physicalNetwork: 'physnet1',
  segmentationId: 101,
});

describe('host plan', () => {
  it('bridges a vlan network onto the VLAN sub-interface of its mapped interface', () => {
    const port = vif({ id: 'port-a', mac: 'fa:16:3e:00:00:01', network: vlanNet, ip: '10.1.0.5' });
    const plan = planHost([{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: {} }], mappings);
    assert.deepEqual(plan.networks[0]!.uplink, { physical: 'eth1', device: 'eth1.101', vlan: 101 });
    assert.deepEqual(plan.networks[0]!.addresses, ['10.1.0.1/24']);
    assert.deepEqual(plan.networks[0]!.dhcpHosts, [{ mac: 'fa:16:3e:00:00:01', ip: '10.1.0.5' }]);
    assert.deepEqual(plan.networks[0]!.dhcpSubnets[0]!.routes, [{ destination: '0.0.0.0/0', nexthop: '10.1.0.1' }]);
  });

  it('adds the external network of a floating IP, holding the floating address', () => {
    const port = vif({
      id: 'port-a',
      mac: 'fa:16:3e:00:00:01',
      network: vlanNet,
      ip: '10.1.0.5',
      floating: [{ address: '198.51.100.7', network: ext }],
    });
    const plan = planHost([{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: {} }], mappings);
    const external = plan.networks.find((n) => n.id === ext.id)!;
    assert.deepEqual(external.addresses, ['198.51.100.1/24', '198.51.100.7/32']);
    assert.deepEqual(external.uplink, { physical: 'eth2', device: 'eth2', vlan: null });
    assert.deepEqual(plan.floatingIps, [
      { floatingIp: '198.51.100.7', fixedIp: '10.1.0.5', portBridge: vlanNet.bridge, externalBridge: ext.bridge },
    ]);
  });

  it('refuses a physical network the host has no interface for, and a local network needs none', () => {
    const port = vif({ id: 'port-a', mac: 'fa:16:3e:00:00:01', network: vlanNet, ip: '10.1.0.5' });
    assert.throws(
      () => planHost([{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: {} }], new Map()),
      PlanError,
    );
    const local = network({ id: 'local-net', projectId: 'p', cidr: '10.2.0.0/24', gateway: '10.2.0.1' });
    const localPort = vif({ id: 'port-b', mac: 'fa:16:3e:00:00:02', network: local, ip: '10.2.0.5' });
    const plan = planHost([{ instanceUuid: 'vm', projectId: 'project', vifs: [localPort], extraSpecs: {} }], new Map());
    assert.equal(plan.networks[0]!.uplink, null);
  });

  it('serves no DHCP for a subnet without DHCP or without a gateway for the host to hold', () => {
    const noDhcp = network({ id: 'nodhcp-net', projectId: 'p', cidr: '10.3.0.0/24', gateway: '10.3.0.1' });
    noDhcp.subnets[0]!.enable_dhcp = false;
    const port = vif({ id: 'port-c', mac: 'fa:16:3e:00:00:03', network: noDhcp, ip: '10.3.0.5' });
    const plan = planHost([{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: {} }], mappings);
    assert.deepEqual(plan.networks[0]!.dhcpSubnets, []);
    assert.deepEqual(plan.networks[0]!.dhcpHosts, []);
  });

  it("carries the flavor's network limits to each port of the guest", () => {
    const port = vif({ id: 'port-a', mac: 'fa:16:3e:00:00:01', network: vlanNet, ip: '10.1.0.5' });
    const specs = { 'quota:vif_inbound_average': '100' };
    const plan = planHost([{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: specs }], mappings);
    assert.deepEqual(plan.ports[0]!.qos, {
      inbound: { averageKBps: 100, peakKBps: null, burstKB: null },
      outbound: null,
    });
  });
});
