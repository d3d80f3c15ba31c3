/**
 * A resize or cold migration whose destination refuses at prep_resize is rescheduled to the next
 * alternate the scheduler gave (the refused host's claim released); only when none is left does the
 * move fail, with a fault and everything as it was. The refusing host is a fake driver told to fail
 * every prep ([fake_driver] move_failure_rates = prep:1).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { latestFaults } from '../../src/objects/instance-faults.ts';
import { listActions, startAction } from '../../src/objects/instance-actions.ts';
import { updateInstance, type Instance } from '../../src/objects/instances.ts';
import type { Flavor } from '../../src/objects/flavors.ts';
import { createMigration, getMigration, MigrationStatus } from '../../src/objects/migrations.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { vcpuHolders } from '../helpers/allocation-holders.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';

const settled = (i: Instance) => i.task_state === null && i.vm_state !== VmState.BUILDING;

async function migrateAsApi(cloud: TestCloud, uuid: string, flavor: Flavor) {
  const instance = await updateInstance(
    cloud.database.db,
    uuid,
    { task_state: TaskState.RESIZE_PREP },
    { vmState: [VmState.ACTIVE], taskState: [null] },
  );
  const migration = await createMigration(cloud.database.db, {
    instance_uuid: uuid,
    migration_type: 'migration',
    source_compute: instance.host!,
    source_node: instance.node,
    old_flavor: flavor,
    new_flavor: flavor,
    user_id: instance.user_id,
    project_id: instance.project_id,
  });
  const ctx = adminContext();
  await startAction(cloud.database.db, ctx, uuid, 'migrate');
  await cloud.conductor.migrateServer(ctx, uuid, migration.uuid);
  return migration;
}

describe('rescheduling a move to the alternates', () => {
  let cloud: TestCloud;
  let flavor: Flavor;
  before(async () => {
    cloud = await startTestCloud({
      computeHosts: ['src'],
      overrides: { scheduler: { host_state_refresh_interval: '0' } },
    });
    flavor = await smallFlavor(cloud.database);
  });
  after(() => cloud.stop());

  it('goes to the next alternate when the chosen destination refuses, never back to it', async () => {
    const [uuid] = await cloud.boot(flavor);
    assert.equal((await cloud.waitFor(uuid!, settled)).host, 'src');
    // The RAM weigher ranks the refusing host first.
    await cloud.startComputeHost('bad', { fake_driver: { memory_mb: '400000', move_failure_rates: 'prep:1' } });
    await cloud.startComputeHost('good');
    const migration = await migrateAsApi(cloud, uuid!, flavor);
    const moved = await cloud.waitFor(uuid!, (i) => i.vm_state === VmState.RESIZED && i.task_state === null);
    assert.equal(moved.host, 'good');
    const record = await getMigration(cloud.database.db, migration.uuid);
    assert.equal(record.status, MigrationStatus.FINISHED);
    assert.equal(record.dest_compute, 'good');
    const held = await vcpuHolders(cloud);
    assert.equal(held.get(uuid!), 'good');
    assert.equal(held.get(migration.uuid), 'src');
    assert.ok(![...held.values()].includes('bad'), 'nothing is held on the refusing host');
    const events = (await listActions(cloud.database.db, uuid!)).find((a) => a.action === 'migrate')!.events;
    assert.ok(events.some((e) => e.event === 'compute_prep_resize' && e.result === 'Error'));
    assert.equal((await latestFaults(cloud.database.db, [uuid!])).get(uuid!), undefined);
  });

  it('fails with a fault, the server where it was, once every alternate refused too', async () => {
    await cloud.stopComputeHost('good');
    const [uuid] = await cloud.boot(flavor, 1, 'second');
    const booted = await cloud.waitFor(uuid!, settled);
    assert.equal(booted.host, 'bad', 'built on the host with the most RAM (it only refuses moves)');
    for (const host of ['good', 'src']) {
      await cloud.database.db.updateTable('services').set({ disabled: 1 }).where('host', '=', host).execute();
    }
    for (const host of ['bad2', 'bad3']) {
      await cloud.startComputeHost(host, { fake_driver: { move_failure_rates: 'prep:1' } });
    }
    const before = await vcpuHolders(cloud);
    const migration = await migrateAsApi(cloud, uuid!, flavor);
    const stayed = await cloud.waitFor(uuid!, settled);
    assert.equal(stayed.host, 'bad');
    assert.equal(stayed.vm_state, VmState.ACTIVE);
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.ERROR);
    assert.deepEqual(await vcpuHolders(cloud), before);
    assert.match((await latestFaults(cloud.database.db, [uuid!])).get(uuid!)?.message ?? '', /injected prep failure/);
    const events = (await listActions(cloud.database.db, uuid!)).find((a) => a.action === 'migrate')!.events;
    assert.equal(events.filter((e) => e.event === 'compute_prep_resize' && e.result === 'Error').length, 2);
  });
});
