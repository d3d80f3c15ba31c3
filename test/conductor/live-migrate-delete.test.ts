/**
 * A server deleted during its live migration, through the conductor, the scheduler and fake-driver compute
 * hosts on an in-process bus (deleted as the API deletes it: task deleting, terminate_instance cast to its
 * host). The source's transfers would take ten minutes: the delete cancels the stream at once, the
 * migration ends cancelled, the destination removes the guest it had prepared and nothing stays held for
 * the server on either host, without waiting for the transfer or a host's clean-up. A destination whose
 * prepare ends after the clean-up (its report comes late) removes that guest too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { liveMoveOf } from '../../src/conductor/live-migrate.ts';
import { instancePayload } from '../../src/objects/instance-payload.ts';
import { findInstance, getInstance, updateInstance, type Instance } from '../../src/objects/instances.ts';
import type { Flavor } from '../../src/objects/flavors.ts';
import { getMigration, MigrationStatus, type MigrationRecord } from '../../src/objects/migrations.ts';
import { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { vcpuHolders } from '../helpers/allocation-holders.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';
import { liveMigrateAsApi } from '../helpers/move-requests.ts';
import { waitUntil } from '../helpers/processes.ts';

const settled = (i: Instance) => i.task_state === null && i.vm_state !== VmState.BUILDING;
/** Far longer than any wait below: only a cancelled stream ends in time. */
const TRANSFER_MS = 600_000;

describe('live migration: a server deleted while it migrates', () => {
  let cloud: TestCloud;
  let flavor: Flavor;
  let compute: ComputeRpcApi;
  const ctx = adminContext();

  before(async () => {
    cloud = await startTestCloud({
      computeHosts: [],
      overrides: { scheduler: { host_state_refresh_interval: '0' } },
    });
    compute = new ComputeRpcApi(cloud.bus.rpc);
    flavor = await smallFlavor(cloud.database, 'live.del', { vcpus: 1, root_gb: 1 });
    await cloud.startComputeHost('src', { fake_driver: { live_migration_ms: String(TRANSFER_MS) } });
    await cloud.startComputeHost('dst');
  });
  after(() => cloud.stop());

  /** Whether `host` holds a guest of the instance: its destination check refuses one it already has. */
  async function hostHasGuest(host: string, instance: Instance, m: MigrationRecord): Promise<boolean> {
    return compute
      .liveStep(ctx, host, 'check_can_live_migrate_destination', instancePayload(instance), {
        ...liveMoveOf(m),
        dest_compute: host,
        dest_node: host,
      })
      .then(
        () => false,
        (err: Error) => {
          assert.match(err.message, /already has a guest/);
          return true;
        },
      );
  }

  async function bootOnSource(name: string): Promise<Instance> {
    const [uuid] = await cloud.boot(flavor, 1, name);
    const booted = await cloud.waitFor(uuid!, settled);
    assert.equal(booted.host, 'src');
    return booted;
  }

  /** Deleted as the API deletes a server whose host is up. */
  async function deleteAsApi(uuid: string): Promise<void> {
    const deleting = await updateInstance(cloud.database.db, uuid, { task_state: TaskState.DELETING });
    await compute.terminateInstance(ctx, deleting.host!, instancePayload(deleting));
  }

  it('cancels the stream, removes the prepared guest at the destination and frees both hosts', async () => {
    const server = await bootOnSource('del-running');
    // Only the source's guest holds anything, before the move.
    assert.equal((await vcpuHolders(cloud)).get(server.uuid), 'src');
    const migration = await liveMigrateAsApi(cloud, server.uuid, 'dst', true);
    await waitUntil(
      'the stream running',
      async () => (await getMigration(cloud.database.db, migration.uuid)).status === MigrationStatus.RUNNING,
    );
    const running = await getMigration(cloud.database.db, migration.uuid);
    assert.equal(await hostHasGuest('dst', server, running), true, 'the destination prepared the guest');

    await deleteAsApi(server.uuid);
    await waitUntil('the server deleted', async () => (await findInstance(cloud.database.db, server.uuid)) === null);
    const cancelled = await waitUntil('the migration cancelled', async () => {
      const m = await getMigration(cloud.database.db, migration.uuid);
      return m.status === MigrationStatus.CANCELLED ? m : null;
    });
    await waitUntil('the destination removes its guest', async () => !(await hostHasGuest('dst', server, cancelled)));
    assert.equal(await hostHasGuest('src', server, cancelled), false, 'the source keeps nothing');
    const held = await vcpuHolders(cloud);
    assert.equal(held.has(server.uuid), false, 'the server holds nothing');
    assert.equal(held.has(migration.uuid), false, 'the migration holds nothing');
  });

  it('has a destination whose prepare reports after the clean-up remove that guest too', async () => {
    const server = await bootOnSource('del-late');
    const migration = await liveMigrateAsApi(cloud, server.uuid, 'dst', true);
    await waitUntil(
      'the stream running',
      async () => (await getMigration(cloud.database.db, migration.uuid)).status === MigrationStatus.RUNNING,
    );
    await deleteAsApi(server.uuid);
    const cancelled = await waitUntil('the migration cancelled', async () => {
      const m = await getMigration(cloud.database.db, migration.uuid);
      return m.status === MigrationStatus.CANCELLED ? m : null;
    });
    await waitUntil('the destination removes its guest', async () => !(await hostHasGuest('dst', server, cancelled)));
    // A prepare that was still under way when the clean-up ran: it makes the guest and reports prepared.
    const deleted = await getInstance(cloud.database.db, server.uuid, true);
    await compute.liveStepWithNics(
      ctx,
      'dst',
      'pre_live_migration',
      instancePayload(deleted),
      liveMoveOf(cancelled),
      [],
    );
    await waitUntil('the late guest removed', async () => !(await hostHasGuest('dst', server, cancelled)));
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.CANCELLED);
    assert.equal((await vcpuHolders(cloud)).has(server.uuid), false);
  });
});
