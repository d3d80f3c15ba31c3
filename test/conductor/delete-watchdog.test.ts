/**
 * The conductor's share of unfinished deletes: a server `deleting` long after its last change, on no host
 * or on a host whose compute service is down, is deleted locally (row deleted, claims freed); one on a
 * host that is up is left to that host, and a young one to its terminate_instance. A claim a deleted
 * instance still holds is freed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { ConductorManager } from '../../src/conductor/manager.ts';
import { getInstance, updateInstance } from '../../src/objects/instances.ts';
import { claimResources } from '../../src/placement/claims.ts';
import type { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import type { SchedulerRpcApi } from '../../src/wire/contracts/scheduler.ts';
import { TaskState } from '../../src/wire/messages/instance-states.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';
import { addComputeHost } from '../helpers/scheduler-fixtures.ts';

describe('ConductorManager.finishOrphanedDeletes', () => {
  let database: TestDatabase;
  const config = loadConfig([], { DEFAULT: { rpc_response_timeout: '30', service_down_time: '60' } });
  let conductor: ConductorManager;
  before(async () => {
    database = await openTestDatabase();
    // Neither is asked anything: the watchdog only reads and writes the database.
    conductor = new ConductorManager(database, config, {} as SchedulerRpcApi, {} as ComputeRpcApi);
    await addComputeHost(database.db, config, 'up-host');
    await addComputeHost(database.db, config, 'down-host');
  });
  after(() => database.close());

  async function deleting(host?: string): Promise<string> {
    const db = database.db;
    const uuid = await insertTestInstance(db, host ? { host } : {});
    if (host) {
      const node = await db
        .selectFrom('compute_nodes')
        .select('uuid')
        .where('host', '=', host)
        .executeTakeFirstOrThrow();
      await claimResources(db, uuid, node.uuid, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 }, 'hdd');
    }
    await updateInstance(db, uuid, { task_state: TaskState.DELETING });
    return uuid;
  }

  const allocations = async (uuid: string) =>
    (await database.db.selectFrom('allocations').select('id').where('consumer_id', '=', uuid).execute()).length;
  const isDeleted = async (uuid: string) =>
    (await database.db.selectFrom('instances').select('deleted').where('uuid', '=', uuid).executeTakeFirstOrThrow())
      .deleted !== 0;

  it('deletes locally the quiet deletes on a down host or none, and leaves the others', async () => {
    const db = database.db;
    const unplaced = await deleting();
    const onDownHost = await deleting('down-host');
    const onUpHost = await deleting('up-host');
    const later = Date.now() + 61_000;
    // The up host kept reporting; the down one stopped long ago.
    await db
      .updateTable('services')
      .set({ last_seen_up: new Date(later).toISOString() })
      .where('host', '=', 'up-host')
      .execute();

    await conductor.finishOrphanedDeletes(adminContext(), Date.now());
    for (const uuid of [unplaced, onDownHost, onUpHost]) {
      assert.equal(await isDeleted(uuid), false, 'its terminate_instance may still come');
    }

    await conductor.finishOrphanedDeletes(adminContext(), later);
    assert.equal(await isDeleted(unplaced), true);
    assert.equal(await isDeleted(onDownHost), true);
    assert.equal(await allocations(onDownHost), 0, 'the claim on the down host is freed');
    assert.equal(await isDeleted(onUpHost), false, 'left to its compute host');
    assert.equal((await getInstance(db, onUpHost)).task_state, TaskState.DELETING);
    assert.equal(await allocations(onUpHost), 3, 'its claim stays (a row per resource class)');
  });

  it('frees a claim a deleted instance still holds (made by a scheduling handled after the delete)', async () => {
    const db = database.db;
    const live = await deleting('up-host');
    const gone = await deleting('up-host');
    await db.updateTable('instances').set({ deleted: 1, task_state: null }).where('uuid', '=', gone).execute();
    await db.updateTable('instances').set({ task_state: null }).where('uuid', '=', live).execute();
    await conductor.finishOrphanedDeletes(adminContext(), Date.now());
    assert.equal(await allocations(gone), 0, 'freed');
    assert.equal(await allocations(live), 3, "a live instance's claim stays");
  });
});
