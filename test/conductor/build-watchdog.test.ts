/**
 * The conductor's share of instance_build_timeout: builds past it that no compute host will end (never
 * placed, or on a host whose service is down) go to ERROR with Nova's fault and free their claims; a
 * build on a host that is up is left to that host, and a young one to its flow.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { ConductorManager } from '../../src/conductor/manager.ts';
import { latestFaults } from '../../src/objects/instance-faults.ts';
import { getInstance } from '../../src/objects/instances.ts';
import { claimResources } from '../../src/placement/claims.ts';
import { BUILD_TIMED_OUT } from '../../src/wire/messages/build-timeout.ts';
import type { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import type { SchedulerRpcApi } from '../../src/wire/contracts/scheduler.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';
import { addComputeHost } from '../helpers/scheduler-fixtures.ts';

describe('ConductorManager.failOrphanedBuilds (instance_build_timeout)', () => {
  let database: TestDatabase;
  const config = loadConfig([], { DEFAULT: { instance_build_timeout: '600', service_down_time: '60' } });
  let conductor: ConductorManager;
  before(async () => {
    database = await openTestDatabase();
    // Neither is asked anything: the watchdog only reads and writes the database.
    conductor = new ConductorManager(database, config, {} as SchedulerRpcApi, {} as ComputeRpcApi);
    await addComputeHost(database.db, config, 'up-host');
    await addComputeHost(database.db, config, 'down-host');
  });
  after(() => database.close());

  async function claimed(host: string): Promise<string> {
    const db = database.db;
    const uuid = await insertTestInstance(db, { host });
    const node = await db.selectFrom('compute_nodes').select('uuid').where('host', '=', host).executeTakeFirstOrThrow();
    await claimResources(db, uuid, node.uuid, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 }, 'hdd');
    return uuid;
  }

  const allocations = async (uuid: string) =>
    (await database.db.selectFrom('allocations').select('id').where('consumer_id', '=', uuid).execute()).length;

  it('fails the unplaced and the down host builds past the timeout, and leaves the others', async () => {
    const db = database.db;
    const unplaced = await insertTestInstance(db);
    const onDownHost = await claimed('down-host');
    const onUpHost = await claimed('up-host');
    const later = Date.now() + 601_000;
    // The up host kept reporting; the down one stopped long ago.
    const seen = new Date(later).toISOString();
    await db.updateTable('services').set({ last_seen_up: seen }).where('host', '=', 'up-host').execute();

    await conductor.failOrphanedBuilds(adminContext(), Date.now());
    assert.equal((await getInstance(db, unplaced)).vm_state, 'building', 'not past the timeout yet');

    await conductor.failOrphanedBuilds(adminContext(), later);
    const faults = await latestFaults(db, [unplaced, onDownHost, onUpHost]);
    for (const uuid of [unplaced, onDownHost]) {
      const instance = await getInstance(db, uuid);
      assert.equal(instance.vm_state, 'error');
      assert.equal(instance.task_state, null);
      assert.equal(faults.get(uuid)?.message, BUILD_TIMED_OUT);
    }
    assert.equal(await allocations(onDownHost), 0, 'the claim on the down host is freed');
    assert.equal((await getInstance(db, onUpHost)).vm_state, 'building', 'left to its compute host');
    assert.equal(await allocations(onUpHost), 3, 'its claim stays (a row per resource class)');
  });
});
