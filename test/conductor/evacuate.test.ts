/**
 * Evacuate through the conductor, the scheduler and fake-driver compute hosts on an in-process bus, the
 * API's records made as the API makes them: the server rebuilt on another host while its own is down,
 * the allocations (the source's under the migration until the source cleans up at its restart), a
 * failed rebuild putting everything back on the source in ERROR, and no host at all leaving it as it was.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { latestFaults } from '../../src/objects/instance-faults.ts';
import { startAction } from '../../src/objects/instance-actions.ts';
import { getInstance, updateInstance, type Instance } from '../../src/objects/instances.ts';
import type { Flavor } from '../../src/objects/flavors.ts';
import { createMigration, getMigration, MigrationStatus } from '../../src/objects/migrations.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { vcpuHolders } from '../helpers/allocation-holders.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';

const settled = (i: Instance) => i.task_state === null && i.vm_state !== VmState.BUILDING;

/** The source's compute goes away and is marked down (`openstack compute service set --down`). */
async function killHost(cloud: TestCloud, host: string): Promise<void> {
  await cloud.stopComputeHost(host);
  await cloud.database.db.updateTable('services').set({ forced_down: 1 }).where('host', '=', host).execute();
}

async function reviveHost(cloud: TestCloud, host: string, overrides = {}): Promise<void> {
  await cloud.database.db.updateTable('services').set({ forced_down: 0 }).where('host', '=', host).execute();
  await cloud.startComputeHost(host, overrides);
}

/** What the API does for evacuate: task rebuilding, the migration (accepted), the action, the cast. */
async function evacuateAsApi(cloud: TestCloud, uuid: string, host?: string) {
  const instance = await updateInstance(
    cloud.database.db,
    uuid,
    { task_state: TaskState.REBUILDING },
    { taskState: [null] },
  );
  const migration = await createMigration(cloud.database.db, {
    instance_uuid: uuid,
    migration_type: 'evacuation',
    status: MigrationStatus.ACCEPTED,
    source_compute: instance.host!,
    source_node: instance.node,
    old_flavor: instance.flavor,
    new_flavor: instance.flavor,
    user_id: instance.user_id,
    project_id: instance.project_id,
  });
  const ctx = adminContext();
  await startAction(cloud.database.db, ctx, uuid, 'evacuate');
  await cloud.conductor.evacuateServer(ctx, { uuid, migration_uuid: migration.uuid, ...(host ? { host } : {}) });
  return migration;
}

describe('evacuate (api -> conductor -> scheduler -> computes)', () => {
  let cloud: TestCloud;
  let flavor: Flavor;
  before(async () => {
    cloud = await startTestCloud({
      computeHosts: ['host-a'],
      overrides: { scheduler: { host_state_refresh_interval: '0' } },
    });
    flavor = await smallFlavor(cloud.database, 'm1.small', { vcpus: 1, root_gb: 1 });
  });
  after(() => cloud.stop());

  it('rebuilds the server on another host; the source frees its share when it comes back', async () => {
    const [uuid] = await cloud.boot(flavor);
    const booted = await cloud.waitFor(uuid!, settled);
    assert.equal(booted.host, 'host-a');
    await cloud.startComputeHost('host-b');
    await killHost(cloud, 'host-a');
    const migration = await evacuateAsApi(cloud, uuid!);
    const evacuated = await cloud.waitFor(uuid!, settled);
    assert.equal(evacuated.vm_state, VmState.ACTIVE);
    assert.equal(evacuated.host, 'host-b');
    const done = await getMigration(cloud.database.db, migration.uuid);
    assert.equal(done.status, MigrationStatus.DONE);
    assert.equal(done.dest_compute, 'host-b');
    // Both held while the source is down: its disks may still hold the guest.
    let held = await vcpuHolders(cloud);
    assert.equal(held.get(uuid!), 'host-b');
    assert.equal(held.get(migration.uuid), 'host-a');

    await reviveHost(cloud, 'host-a');
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.COMPLETED);
    held = await vcpuHolders(cloud);
    assert.equal(held.get(migration.uuid), undefined);
    assert.equal(held.get(uuid!), 'host-b');
    assert.equal((await getInstance(cloud.database.db, uuid!)).host, 'host-b');
  });

  it('a rebuild that fails on the destination puts the server back on its source, in ERROR', async () => {
    // host-b now holds a server; host-a is where the new one goes, and dies; host-c cannot spawn.
    await cloud.database.db.updateTable('services').set({ disabled: 1 }).where('host', '=', 'host-b').execute();
    const [uuid] = await cloud.boot(flavor);
    const booted = await cloud.waitFor(uuid!, settled);
    assert.equal(booted.host, 'host-a');
    await cloud.startComputeHost('host-c', { fake_driver: { spawn_failure_rate: '1' } });
    await killHost(cloud, 'host-a');
    const before = await vcpuHolders(cloud);
    const migration = await evacuateAsApi(cloud, uuid!, 'host-c');
    const failed = await cloud.waitFor(uuid!, settled);
    assert.equal(failed.vm_state, VmState.ERROR);
    assert.equal(failed.host, 'host-a');
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.FAILED);
    assert.deepEqual(await vcpuHolders(cloud), before);
    const fault = (await latestFaults(cloud.database.db, [uuid!])).get(uuid!);
    assert.match(fault?.message ?? '', /injected spawn failure/);
  });

  it('with no host to go to, the server stays as it was with a fault', async () => {
    await cloud.stopComputeHost('host-c');
    await cloud.database.db.updateTable('services').set({ disabled: 1 }).where('host', '=', 'host-c').execute();
    const [uuid] = await cloud.database.db
      .selectFrom('instances')
      .select('uuid')
      .where('host', '=', 'host-a')
      .where('vm_state', '=', VmState.ERROR)
      .execute()
      .then((rows) => rows.map((r) => r.uuid));
    const before = await vcpuHolders(cloud);
    const migration = await evacuateAsApi(cloud, uuid!);
    const stayed = await cloud.waitFor(uuid!, (i) => i.task_state === null);
    assert.equal(stayed.host, 'host-a');
    assert.equal(stayed.vm_state, VmState.ERROR);
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.ERROR);
    assert.deepEqual(await vcpuHolders(cloud), before);
    const fault = (await latestFaults(cloud.database.db, [uuid!])).get(uuid!);
    assert.match(fault?.message ?? '', /No valid host/);
  });
});
