/** The fake virt driver's network driver: it records what it was asked and touches nothing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoopNetworkDriver } from '../../../src/compute/network/noop-driver.ts';
import { network, vif } from '../../helpers/network-lab.ts';

const net = network({ id: 'tenant-network', projectId: 'p1', cidr: '10.1.0.0/24', gateway: '10.1.0.1' });
const a = vif({ id: 'port-a', mac: 'fa:16:3e:00:00:01', network: net, ip: '10.1.0.5' });
const b = vif({ id: 'port-b', mac: 'fa:16:3e:00:00:02', network: net, ip: '10.1.0.6' });

describe('noop network driver', () => {
  it('keeps the ports plugged, unplugged and reconciled per guest', async () => {
    const driver = new NoopNetworkDriver();
    await driver.plug('vm-1', [a, b], {}, 'project');
    assert.deepEqual(driver.pluggedPorts('vm-1'), ['port-a', 'port-b']);
    await driver.unplug('vm-1', [a]);
    assert.deepEqual(driver.pluggedPorts('vm-1'), ['port-b']);
    await driver.reconcile([{ instanceUuid: 'vm-2', projectId: 'project', vifs: [a], extraSpecs: {} }]);
    assert.deepEqual(driver.pluggedPorts('vm-1'), []);
    assert.deepEqual(driver.pluggedPorts('vm-2'), ['port-a']);
  });
});
