/**
 * Hypervisor uptime (the host's line from its resource report: the uptime route until 2.87, the detail
 * from 2.88) and the figures Nova's resource tracker gives: reserved memory counted as used, running_vms
 * counting the servers on the node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setInventories } from '../../../src/placement/providers.ts';
import { addComputeHost, client, fault, seedServer, startComputeApi, stopHeartbeat, type Harness } from './helpers.ts';

const LINE = ' 18:27:07 up 7 min,  0 user,  load average: 0.58, 0.63, 0.32';

let h: Harness;
let up: Awaited<ReturnType<typeof addComputeHost>>;
let down: Awaited<ReturnType<typeof addComputeHost>>;
let silent: Awaited<ReturnType<typeof addComputeHost>>;

async function reportStats(node: { id: number }, stats: Record<string, string>): Promise<void> {
  await h.database.db
    .updateTable('compute_nodes')
    .set({ stats: JSON.stringify(stats) })
    .where('id', '=', node.id)
    .execute();
}

before(async () => {
  h = await startComputeApi();
  up = await addComputeHost(h, 'host1', { memoryMb: 8192 });
  down = await addComputeHost(h, 'host2');
  silent = await addComputeHost(h, 'host3');
  await reportStats(up.node, { failed_builds: '0', uptime: LINE });
  await reportStats(down.node, { failed_builds: '0', uptime: LINE });
  await stopHeartbeat(h, 'host2');
  // host1 keeps 512 MB for itself, as `[DEFAULT] reserved_host_memory_mb` makes compute report it.
  const inventory = (total: number, reserved: number) => ({
    total,
    reserved,
    min_unit: 1,
    max_unit: total,
    step_size: 1,
    allocation_ratio: 1,
  });
  await setInventories(h.database.db, up.node.uuid, 'host1-node', {
    VCPU: inventory(16, 0),
    MEMORY_MB: inventory(8192, 512),
  });
  await seedServer(h, { host: 'host1', name: 'on' });
  await seedServer(h, { host: 'host1', name: 'off', state: { vm_state: 'stopped', power_state: 4 } });
  await seedServer(h, { host: 'host1', name: 'offloaded', state: { vm_state: 'shelved_offloaded' } });
});
after(async () => {
  await h.close();
});

describe('hypervisor uptime', () => {
  it('answers the uptime route until 2.87 with the reported line', async () => {
    const res = await client(h.app, 'admin').get(`/v2.1/os-hypervisors/${up.node.id}/uptime`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().hypervisor, {
      id: up.node.id,
      hypervisor_hostname: 'host1-node',
      state: 'up',
      status: 'enabled',
      uptime: LINE,
    });
    const v253 = await client(h.app, 'admin', '2.53').get(`/v2.1/os-hypervisors/${up.node.uuid}/uptime`);
    assert.equal(v253.statusCode, 200);
    assert.equal(v253.json().hypervisor.id, up.node.uuid);
    const gone = await client(h.app, 'admin', '2.88').get(`/v2.1/os-hypervisors/${up.node.uuid}/uptime`);
    assert.equal(gone.statusCode, 404);
  });

  it('is 400 for a down host, 501 for a host that never sent it, 404 for no node, 403 for members', async () => {
    const admin = client(h.app, 'admin');
    const downRes = await admin.get(`/v2.1/os-hypervisors/${down.node.id}/uptime`);
    assert.equal(downRes.statusCode, 400);
    assert.equal(fault(downRes).message, 'Compute service of host2 is unavailable at this time.');
    const silentRes = await admin.get(`/v2.1/os-hypervisors/${silent.node.id}/uptime`);
    assert.equal(silentRes.statusCode, 501);
    assert.deepEqual(silentRes.json(), {
      notImplemented: { code: 501, message: 'The requested functionality is not supported.' },
    });
    assert.equal((await admin.get('/v2.1/os-hypervisors/9999/uptime')).statusCode, 404);
    const member = await client(h.app, 'alice').get(`/v2.1/os-hypervisors/${up.node.id}/uptime`);
    assert.equal(member.statusCode, 403);
  });

  it('shows the reported line in the detail from 2.88, null when there is none', async () => {
    const admin = client(h.app, 'admin', '2.88');
    const shown = await admin.get(`/v2.1/os-hypervisors/${up.node.uuid}`);
    assert.equal(shown.json().hypervisor.uptime, LINE);
    // Nova's 2.88 detail reads the stats whatever the host's state.
    assert.equal((await admin.get(`/v2.1/os-hypervisors/${down.node.uuid}`)).json().hypervisor.uptime, LINE);
    assert.equal((await admin.get(`/v2.1/os-hypervisors/${silent.node.uuid}`)).json().hypervisor.uptime, null);
    const detail = await admin.get('/v2.1/os-hypervisors/detail');
    assert.deepEqual(
      detail.json().hypervisors.map((hv: { uptime: string | null }) => hv.uptime),
      [LINE, LINE, null],
    );
  });

  it('counts reserved memory as used and every server on the node as running', async () => {
    const res = await client(h.app, 'admin').get(`/v2.1/os-hypervisors/${up.node.id}`);
    const hv = res.json().hypervisor;
    // Nothing claimed in placement: used is the reserved 512 MB.
    assert.equal(hv.memory_mb_used, 512);
    assert.equal(hv.free_ram_mb, 8192 - 512);
    // The stopped server counts, the shelved-offloaded one holds nothing on the host.
    assert.equal(hv.running_vms, 2);
    const stats = await client(h.app, 'admin').get('/v2.1/os-hypervisors/statistics');
    assert.equal(stats.json().hypervisor_statistics.running_vms, 2);
    assert.equal(stats.json().hypervisor_statistics.memory_mb_used, 512);
  });
});
