/**
 * Node reports: several hosts' first reports at the same moment all end recorded (compute node,
 * provider, storage pool provider, inventories and their usage rows), on each engine. On MariaDB such
 * reports take gap locks on the same empty index ranges and one is picked as a deadlock victim; the
 * report is then run again rather than failing the compute host's start-up.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { registerService } from '../../src/objects/services.ts';
import { NodeReportShape, type NodeReport } from '../../src/wire/messages/node-report.ts';
import { upsertComputeNode } from '../../src/placement/providers.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { inventory } from '../helpers/scheduler-fixtures.ts';

function report(nodename: string): NodeReport {
  return NodeReportShape.build({
    nodename,
    hypervisor_type: 'fake',
    hypervisor_version: 1000,
    host_ip: null,
    cpu_info: '{}',
    vcpus: 8,
    memory_mb: 8192,
    local_gb: 100,
    running_vms: 0,
    inventories: { VCPU: inventory(8), MEMORY_MB: inventory(8192) },
    storage_pools: { hdd: inventory(100) },
    supported_instances: [['x86_64', 'fake', 'hvm']],
    stats: {},
  });
}

describeOnEachEngine('node reports', (database) => {
  it('records the first reports of several hosts sent at once, every one of them', async () => {
    const db = database().db;
    const hosts = ['race-a', 'race-b', 'race-c'];
    const services = await Promise.all(hosts.map((h) => registerService(db, h, 'stratus-compute', 'compute')));
    await Promise.all(
      hosts.flatMap((host, i) =>
        [1, 2, 3].map((n) => upsertComputeNode(db, host, services[i]!.id, report(`${host}-node${n}`))),
      ),
    );
    const nodes = await db.selectFrom('compute_nodes').select('hypervisor_hostname').execute();
    assert.equal(nodes.length, 9);
    // Each node: its provider (VCPU, MEMORY_MB) and its pool's provider (DISK_GB), each inventory counted.
    assert.equal((await db.selectFrom('resource_providers').select('id').execute()).length, 18);
    assert.equal((await db.selectFrom('inventories').select('id').execute()).length, 27);
    const usages = await db.selectFrom('resource_usages').select(['used', 'capacity']).execute();
    assert.equal(usages.length, 27);
    assert.ok(usages.every((u) => Number(u.used) === 0 && u.capacity !== null));
  });
});
