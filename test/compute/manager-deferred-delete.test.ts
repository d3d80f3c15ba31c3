/**
 * The compute side of deferred delete on the fake driver, through a real conductor: soft_delete_instance
 * powers the guest off and keeps its allocations, restore_instance powers it on, and the reclaim task
 * deletes for real only the soft-deleted instances older than reclaim_instance_interval (guest destroyed,
 * allocations freed), leaving the others, and does nothing while the option is 0.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { ComputeManager } from '../../src/compute/manager.ts';
import { FakeDriver } from '../../src/compute/virt/fake/fake-driver.ts';
import { getInstance, updateInstance, type InstanceChanges } from '../../src/objects/instances.ts';
import { instancePayload } from '../../src/objects/instance-payload.ts';
import { claimResources } from '../../src/placement/claims.ts';
import { PowerState, TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { fakeDriverOptions } from '../helpers/fake-driver-options.ts';
import { startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';
import { NoopNetworkDriver } from '../../src/compute/network/noop-driver.ts';

const INTERVAL = 600;
let cloud: TestCloud;
before(async () => {
  cloud = await startTestCloud({ computeHosts: [] });
});
after(async () => {
  await cloud.stop();
});

async function newHost(interval = INTERVAL) {
  const host = `dd-${randomBytes(3).toString('hex')}`;
  const config = loadConfig([], { DEFAULT: { host, reclaim_instance_interval: String(interval) } });
  const driver = new FakeDriver(fakeDriverOptions());
  const manager = new ComputeManager(host, config, driver, new NoopNetworkDriver(), cloud.conductor);
  await manager.initHost();
  return { host, driver, manager };
}

/** An instance on `host` with a running guest and its resources claimed in placement. */
async function guestOn(host: string, driver: FakeDriver, states: InstanceChanges): Promise<string> {
  const db = cloud.database.db;
  const uuid = await insertTestInstance(db, { host });
  await updateInstance(db, uuid, { launched_at: new Date().toISOString(), ...states });
  await driver.spawn(instancePayload(await getInstance(db, uuid)), host);
  const node = await db.selectFrom('compute_nodes').select('uuid').where('host', '=', host).executeTakeFirstOrThrow();
  await claimResources(db, uuid, node.uuid, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 }, 'hdd');
  return uuid;
}

async function allocations(uuid: string): Promise<number> {
  const rows = await cloud.database.db.selectFrom('allocations').select('id').where('consumer_id', '=', uuid).execute();
  return rows.length;
}

const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

describe('soft delete and restore on the compute host', () => {
  it('soft_delete_instance powers the guest off and keeps its allocations; restore powers it on', async () => {
    const { host, driver, manager } = await newHost();
    const uuid = await guestOn(host, driver, {
      vm_state: VmState.ACTIVE,
      power_state: PowerState.RUNNING,
      task_state: TaskState.SOFT_DELETING,
      deleted_at: ago(1),
    });
    const db = cloud.database.db;
    await manager.softDeleteInstance(adminContext(), instancePayload(await getInstance(db, uuid)));
    let row = await getInstance(db, uuid);
    assert.deepEqual(
      [row.vm_state, row.task_state, row.power_state],
      [VmState.SOFT_DELETED, null, PowerState.SHUTDOWN],
    );
    assert.equal(driver.powerState(uuid), PowerState.SHUTDOWN);
    assert.equal(await allocations(uuid), 3, 'a soft-deleted server keeps its resources, as in Nova');

    await updateInstance(db, uuid, { task_state: TaskState.RESTORING, deleted_at: null });
    await manager.restoreInstance(adminContext(), instancePayload(await getInstance(db, uuid)));
    row = await getInstance(db, uuid);
    assert.deepEqual([row.vm_state, row.task_state, row.power_state], [VmState.ACTIVE, null, PowerState.RUNNING]);
    assert.equal(driver.powerState(uuid), PowerState.RUNNING);
  });

  it('finishes a soft delete a restart interrupted', async () => {
    const { host, driver } = await newHost();
    const uuid = await guestOn(host, driver, {
      vm_state: VmState.ACTIVE,
      power_state: PowerState.RUNNING,
      task_state: TaskState.SOFT_DELETING,
      deleted_at: ago(1),
    });
    // A new manager over the same driver: the service restarted with the guest still running.
    const config = loadConfig([], { DEFAULT: { host, reclaim_instance_interval: String(INTERVAL) } });
    await new ComputeManager(host, config, driver, new NoopNetworkDriver(), cloud.conductor).initHost();
    const row = await getInstance(cloud.database.db, uuid);
    assert.deepEqual([row.vm_state, row.task_state], [VmState.SOFT_DELETED, null]);
    assert.equal(driver.powerState(uuid), PowerState.SHUTDOWN);
  });
});

describe('the reclaim task', () => {
  const softDeleted = { vm_state: VmState.SOFT_DELETED, power_state: PowerState.SHUTDOWN, task_state: null };

  it('deletes only the soft-deleted instances older than the interval, freeing guest and allocations', async () => {
    const { host, driver, manager } = await newHost();
    const expired = await guestOn(host, driver, { ...softDeleted, deleted_at: ago(INTERVAL + 60) });
    const recent = await guestOn(host, driver, { ...softDeleted, deleted_at: ago(INTERVAL - 60) });
    const busy = await guestOn(host, driver, {
      ...softDeleted,
      task_state: TaskState.RESTORING,
      deleted_at: ago(INTERVAL + 60),
    });
    const active = await guestOn(host, driver, {
      vm_state: VmState.ACTIVE,
      power_state: PowerState.RUNNING,
      task_state: null,
    });
    await manager.reclaimQueuedDeletes();

    const db = cloud.database.db;
    const gone = await getInstance(db, expired, true);
    assert.equal(gone.vm_state, VmState.DELETED);
    assert.notEqual(gone.deleted, 0);
    assert.equal(await allocations(expired), 0);
    assert.equal(driver.powerState(expired), PowerState.NOSTATE, 'the guest is destroyed');
    for (const uuid of [recent, busy, active]) {
      const row = await getInstance(db, uuid);
      assert.equal(row.deleted, 0, uuid);
      assert.equal(await allocations(uuid), 3);
      assert.notEqual(driver.powerState(uuid), PowerState.NOSTATE);
    }
    assert.equal((await getInstance(db, recent)).vm_state, VmState.SOFT_DELETED);
  });

  it('does nothing while reclaim_instance_interval is 0', async () => {
    const { host, driver, manager } = await newHost(0);
    const uuid = await guestOn(host, driver, { ...softDeleted, deleted_at: ago(86400) });
    await manager.reclaimQueuedDeletes();
    assert.equal((await getInstance(cloud.database.db, uuid)).vm_state, VmState.SOFT_DELETED);
    assert.equal(await allocations(uuid), 3);
  });
});
