/**
 * Resize and cold migration through the conductor, the scheduler and two fake-driver compute hosts on an
 * in-process bus, the API's records made as the API makes them: the states in Nova's order, the
 * allocations held on both hosts during the move (the source's under the migration's uuid) and exactly
 * one host's after confirm or revert, a disk that would shrink refused with the server left where it was,
 * same-host resize, and resize_confirm_window confirming by itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { latestFaults } from '../../src/objects/instance-faults.ts';
import { listActions, startAction } from '../../src/objects/instance-actions.ts';
import { instancePayload } from '../../src/objects/instance-payload.ts';
import { getInstance, updateInstance, type Instance } from '../../src/objects/instances.ts';
import type { Flavor } from '../../src/objects/flavors.ts';
import { createMigration, getMigration, MigrationStatus } from '../../src/objects/migrations.ts';
import { beginConfirmResize, beginRevertResize, moveOf } from '../../src/objects/resize-records.ts';
import { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';

const settled = (i: Instance) => i.task_state === null && i.vm_state !== VmState.BUILDING;

/** VCPU held per consumer and host: what the allocations say. */
async function vcpuHolders(cloud: TestCloud): Promise<Map<string, number>> {
  const rows = await cloud.database.db
    .selectFrom('allocations as a')
    .innerJoin('resource_providers as p', 'p.id', 'a.resource_provider_id')
    .innerJoin('compute_nodes as n', 'n.uuid', 'p.uuid')
    .select(['a.consumer_id', 'a.used', 'n.host'])
    .where('a.resource_class', '=', 'VCPU')
    .execute();
  return new Map(rows.map((r) => [`${r.consumer_id}@${r.host}`, r.used]));
}

async function vcpusUsed(cloud: TestCloud): Promise<number> {
  const rows = await cloud.database.db
    .selectFrom('resource_usages')
    .select('used')
    .where('resource_class', '=', 'VCPU')
    .execute();
  return rows.reduce((sum, r) => sum + r.used, 0);
}

/** What the API does for resize or migrate: task resize_prep, the migration, the action, the cast. */
async function startMoveAsApi(cloud: TestCloud, uuid: string, flavor: Flavor, type: 'resize' | 'migration') {
  const ctx = adminContext();
  const instance = await updateInstance(
    cloud.database.db,
    uuid,
    { task_state: TaskState.RESIZE_PREP },
    { vmState: [VmState.ACTIVE, VmState.STOPPED], taskState: [null] },
  );
  const migration = await createMigration(cloud.database.db, {
    instance_uuid: uuid,
    migration_type: type,
    source_compute: instance.host!,
    source_node: instance.node,
    old_flavor: instance.flavor,
    new_flavor: flavor,
    user_id: instance.user_id,
    project_id: instance.project_id,
  });
  await startAction(cloud.database.db, ctx, uuid, type === 'resize' ? 'resize' : 'migrate');
  await cloud.conductor.migrateServer(ctx, uuid, migration.uuid);
  return migration;
}

describe('resize and cold migration (api -> conductor -> scheduler -> two computes)', () => {
  let cloud: TestCloud;
  let compute: ComputeRpcApi;
  let small: Flavor;
  let big: Flavor;

  before(async () => {
    cloud = await startTestCloud({ computeHosts: ['host-a', 'host-b'] });
    compute = new ComputeRpcApi(cloud.bus.rpc);
    small = await smallFlavor(cloud.database, 'm1.small', { vcpus: 1, root_gb: 1 });
    big = await smallFlavor(cloud.database, 'm1.big', { vcpus: 4, root_gb: 2 });
  });
  after(() => cloud.stop());

  const confirm = async (uuid: string) => {
    const ctx = adminContext();
    const instance = await getInstance(cloud.database.db, uuid);
    const migration = (
      await cloud.database.db
        .selectFrom('migrations')
        .select('uuid')
        .where('instance_uuid', '=', uuid)
        .where('status', '=', 'finished')
        .executeTakeFirstOrThrow()
    ).uuid;
    const record = await getMigration(cloud.database.db, migration);
    const claimed = await beginConfirmResize(cloud.database.db, ctx, instance, record);
    await compute.moveStep(ctx, record.source_compute!, 'confirm_resize', instancePayload(claimed), moveOf(record));
    return record;
  };
  const revert = async (uuid: string) => {
    const ctx = adminContext();
    const instance = await getInstance(cloud.database.db, uuid);
    const migration = (
      await cloud.database.db
        .selectFrom('migrations')
        .select('uuid')
        .where('instance_uuid', '=', uuid)
        .where('status', '=', 'finished')
        .executeTakeFirstOrThrow()
    ).uuid;
    const record = await getMigration(cloud.database.db, migration);
    const claimed = await beginRevertResize(cloud.database.db, ctx, instance, record);
    await compute.moveStep(ctx, record.dest_compute!, 'revert_resize', instancePayload(claimed), moveOf(record));
    return record;
  };

  it('resizes to the other host, holds both hosts until confirmed, then only the destination', async () => {
    const [uuid] = await cloud.boot(small);
    const booted = await cloud.waitFor(uuid!, settled);
    const source = booted.host!;
    const before = await vcpusUsed(cloud);
    const migration = await startMoveAsApi(cloud, uuid!, big, 'resize');
    const resized = await cloud.waitFor(uuid!, (i) => i.vm_state === VmState.RESIZED && i.task_state === null);
    assert.notEqual(resized.host, source);
    assert.equal(resized.flavor.flavorid, big.flavorid);
    // The columns copied from the flavor (quota counts, usage reports, sort keys) follow it.
    assert.deepEqual([resized.instance_type_id, resized.vcpus, resized.memory_mb], [big.id, big.vcpus, big.memory_mb]);
    const verify = await getMigration(cloud.database.db, migration.uuid);
    assert.equal(verify.status, MigrationStatus.FINISHED);
    assert.equal(verify.dest_compute, resized.host);
    // Both hosts held: the source's 1 VCPU under the migration, the destination's 4 under the instance.
    const held = await vcpuHolders(cloud);
    assert.equal(held.get(`${migration.uuid}@${source}`), 1);
    assert.equal(held.get(`${uuid}@${resized.host}`), 4);
    assert.equal(await vcpusUsed(cloud), before + 4);

    await confirm(uuid!);
    const confirmed = await cloud.waitFor(uuid!, (i) => i.vm_state === VmState.ACTIVE && i.task_state === null);
    assert.equal(confirmed.host, resized.host);
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.CONFIRMED);
    const after = await vcpuHolders(cloud);
    assert.equal(after.get(`${migration.uuid}@${source}`), undefined);
    assert.equal(after.get(`${uuid}@${resized.host}`), 4);
    assert.equal(await vcpusUsed(cloud), before + 3);
    const actions = (await listActions(cloud.database.db, uuid!)).map((a) => a.action);
    assert.ok(actions.includes('resize') && actions.includes('confirmResize'));
  });

  it('reverts a cold migration: the server back on its host, the destination freed, no double count', async () => {
    const [uuid] = await cloud.boot(small);
    const booted = await cloud.waitFor(uuid!, settled);
    const before = await vcpusUsed(cloud);
    const migration = await startMoveAsApi(cloud, uuid!, small, 'migration');
    const moved = await cloud.waitFor(uuid!, (i) => i.vm_state === VmState.RESIZED && i.task_state === null);
    assert.notEqual(moved.host, booted.host);
    assert.equal(await vcpusUsed(cloud), before + 1);
    await revert(uuid!);
    const reverted = await cloud.waitFor(uuid!, (i) => i.vm_state === VmState.ACTIVE && i.task_state === null);
    assert.equal(reverted.host, booted.host);
    assert.equal(reverted.flavor.flavorid, small.flavorid);
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.REVERTED);
    const held = await vcpuHolders(cloud);
    assert.equal(held.get(`${uuid}@${booted.host}`), 1);
    assert.equal(held.get(`${migration.uuid}@${booted.host}`), undefined);
    assert.equal(await vcpusUsed(cloud), before);
  });

  it('refuses a disk that would shrink: the server stays where it was, with a fault and its allocation', async () => {
    const [uuid] = await cloud.boot(big);
    const booted = await cloud.waitFor(uuid!, settled);
    const before = await vcpusUsed(cloud);
    const migration = await startMoveAsApi(cloud, uuid!, small, 'resize');
    await cloud.waitFor(uuid!, (i) => i.task_state === null);
    const after = await getInstance(cloud.database.db, uuid!);
    assert.equal(after.vm_state, VmState.ACTIVE);
    assert.equal(after.host, booted.host);
    assert.equal(after.flavor.flavorid, big.flavorid);
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.ERROR);
    assert.match((await latestFaults(cloud.database.db, [uuid!])).get(uuid!)!.message, /resize disk down/);
    assert.equal(await vcpusUsed(cloud), before);
    assert.equal((await vcpuHolders(cloud)).get(`${uuid}@${booted.host}`), 4);
  });
});

describe('resize on the same host and resize_confirm_window', () => {
  let cloud: TestCloud;

  before(async () => {
    cloud = await startTestCloud({
      computeHosts: ['solo'],
      overrides: { DEFAULT: { allow_resize_to_same_host: 'true', resize_confirm_window: '1', periodic_interval: '1' } },
    });
  });
  after(() => cloud.stop());

  it('resizes in place and confirms by itself once the window has passed', async () => {
    const small = await smallFlavor(cloud.database, 'm1.small', { vcpus: 1 });
    const big = await smallFlavor(cloud.database, 'm1.big', { vcpus: 2, root_gb: 2 });
    const [uuid] = await cloud.boot(small);
    await cloud.waitFor(uuid!, settled);
    const migration = await startMoveAsApi(cloud, uuid!, big, 'resize');
    // The window confirms it without anyone asking (the server passes through VERIFY_RESIZE first).
    const done = await cloud.waitFor(
      uuid!,
      (i) => i.vm_state === VmState.ACTIVE && i.task_state === null && i.flavor.flavorid === big.flavorid,
      30_000,
    );
    assert.equal(done.host, 'solo');
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.CONFIRMED);
    assert.equal(await vcpusUsed(cloud), 2);
  });
});
