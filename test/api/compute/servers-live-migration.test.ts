/**
 * Live migration through the API: os-migrateLive's bodies per microversion (disk_over_commit before 2.25,
 * 'auto' from 2.25, force from 2.30 to 2.67), its answers (403 for non-admins, 400 for an unknown or the
 * same host and a force without a host, 409 for a server in the wrong state), the records
 * and cast it makes; force_complete (2.22) and abort (2.24, queued ones from 2.65) with Nova's 400/404/409.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { listActions } from '../../../src/objects/instance-actions.ts';
import { getInstance, updateInstance, type Instance } from '../../../src/objects/instances.ts';
import {
  createMigration,
  getMigration,
  listMigrations,
  MigrationStatus,
  updateMigration,
  type MigrationRecord,
} from '../../../src/objects/migrations.ts';
import { TaskState, VmState } from '../../../src/wire/messages/instance-states.ts';
import {
  addComputeHost,
  client,
  fault,
  forgetRecorded,
  seedServer,
  startApiWithHost,
  type Harness,
} from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startApiWithHost('host1');
  await addComputeHost(h, 'host2');
});
after(() => h.close());
beforeEach(() => forgetRecorded(h));

const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;
const admin = (version: string) => client(h.app, 'admin', version);

/** A live migration of `server` in `status`, as the conductor leaves it (task migrating). */
async function migrating(server: Instance, status: string): Promise<MigrationRecord> {
  await updateInstance(h.database.db, server.uuid, { task_state: TaskState.MIGRATING });
  const migration = await createMigration(h.database.db, {
    instance_uuid: server.uuid,
    migration_type: 'live-migration',
    status,
    source_compute: 'host1',
    source_node: 'host1',
    dest_compute: 'host2',
    old_flavor: server.flavor,
    new_flavor: server.flavor,
    user_id: server.user_id,
    project_id: server.project_id,
  });
  return migration;
}

describe('os-migrateLive', () => {
  it("refuses Nova's way: non-admins, bodies of the wrong microversion, hosts, force, locks and states", async () => {
    const server = await seedServer(h);
    const post = (version: string, body: unknown) => admin(version).post(action(server.uuid), body);
    const body = { 'os-migrateLive': { host: null, block_migration: false, disk_over_commit: false } };
    assert.equal((await client(h.app, 'alice', '2.1').post(action(server.uuid), body)).statusCode, 403);
    // disk_over_commit is required before 2.25 and refused from it; 'auto' only from 2.25; force 2.30 to 2.67.
    assert.equal((await post('2.1', { 'os-migrateLive': { host: null, block_migration: false } })).statusCode, 400);
    assert.equal((await post('2.25', body)).statusCode, 400);
    const auto = { 'os-migrateLive': { host: null, block_migration: 'auto', disk_over_commit: false } };
    assert.equal((await post('2.24', auto)).statusCode, 400);
    const forced = { 'os-migrateLive': { host: 'host2', block_migration: 'auto', force: true } };
    assert.equal((await post('2.29', forced)).statusCode, 400);
    assert.equal((await post('2.68', forced)).statusCode, 400);
    let res = await post('2.30', { 'os-migrateLive': { host: null, block_migration: 'auto', force: true } });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, "Can't force to a non-provided destination");
    res = await post('2.25', { 'os-migrateLive': { host: 'nowhere', block_migration: 'auto' } });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, 'Compute host nowhere could not be found.');
    res = await post('2.25', { 'os-migrateLive': { host: 'host1', block_migration: 'auto' } });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, `Unable to migrate instance (${server.uuid}) to current host (host1).`);
    await updateInstance(h.database.db, server.uuid, { vm_state: VmState.STOPPED });
    res = await post('2.25', { 'os-migrateLive': { host: null, block_migration: 'auto' } });
    assert.equal(res.statusCode, 409);
    assert.match(fault(res).message, /Cannot 'os-migrateLive' instance .* while it is in vm_state stopped/);
    assert.equal(h.transport.casts.length, 0);
    assert.deepEqual(await listMigrations(h.database.db, { instanceUuid: server.uuid }), []);
  });

  it('starts the migration: task migrating, a migration accepted, the action, the cast', async () => {
    const server = await seedServer(h);
    const res = await admin('2.30').post(action(server.uuid), {
      'os-migrateLive': { host: 'host2', block_migration: 'auto', force: 'true' },
    });
    assert.equal(res.statusCode, 202, res.body);
    const after = await getInstance(h.database.db, server.uuid);
    assert.equal(after.task_state, TaskState.MIGRATING);
    const [migration] = await listMigrations(h.database.db, { instanceUuid: server.uuid });
    assert.equal(migration!.migration_type, 'live-migration');
    assert.equal(migration!.status, MigrationStatus.ACCEPTED);
    assert.equal(migration!.source_compute, 'host1');
    assert.equal(migration!.dest_compute, 'host2');
    assert.deepEqual(
      (await listActions(h.database.db, server.uuid)).map((a) => a.action),
      ['live-migration'],
    );
    const cast = h.transport.casts[0]!;
    assert.equal(cast.method, 'live_migrate_instance');
    assert.equal(cast.args['host'], 'host2');
    assert.equal(cast.args['force'], true);
    assert.equal(cast.args['block_migration'], null);
    // The API shows the server MIGRATING; a second request finds it so: 409.
    const shown = await admin('2.30').get(`/v2.1/servers/${server.uuid}`);
    assert.equal(shown.json().server.status, 'MIGRATING');
    assert.equal(
      (await admin('2.30').post(action(server.uuid), { 'os-migrateLive': { host: null, block_migration: 'auto' } }))
        .statusCode,
      409,
    );
  });

  it('takes a named host as it is before 2.30, and leaves it to the scheduler from 2.30 unless forced', async () => {
    const old = await seedServer(h);
    let res = await admin('2.1').post(action(old.uuid), {
      'os-migrateLive': { host: 'host2', block_migration: 'False', disk_over_commit: 'False' },
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(h.transport.casts[0]!.args['force'], true);
    assert.equal(h.transport.casts[0]!.args['block_migration'], false);
    const server = await seedServer(h, { state: { vm_state: VmState.PAUSED } });
    res = await admin('2.68').post(action(server.uuid), { 'os-migrateLive': { host: 'host2', block_migration: true } });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(h.transport.casts[1]!.args['force'], false);
    assert.equal(h.transport.casts[1]!.args['block_migration'], true);
  });

  it('from 2.34 leaves the destination checks to after the 202, but for an unknown unforced host', async () => {
    const server = await seedServer(h);
    let res = await admin('2.34').post(action(server.uuid), {
      'os-migrateLive': { host: 'nowhere', block_migration: 'auto' },
    });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, 'Compute host nowhere could not be found.');
    assert.equal(h.transport.casts.length, 0);
    res = await admin('2.34').post(action(server.uuid), {
      'os-migrateLive': { host: 'host1', block_migration: 'auto' },
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(h.transport.casts[0]!.args['host'], 'host1');
    const forced = await seedServer(h);
    res = await admin('2.34').post(action(forced.uuid), {
      'os-migrateLive': { host: 'nowhere', block_migration: 'auto', force: true },
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(h.transport.casts[1]!.args['host'], 'nowhere');
    assert.equal(h.transport.casts[1]!.args['force'], true);
  });

  it('puts everything back when the conductor cannot be reached (503)', async () => {
    const server = await seedServer(h);
    h.transport.refuse = new Error('broker gone');
    const res = await admin('2.25').post(action(server.uuid), {
      'os-migrateLive': { host: null, block_migration: 'auto' },
    });
    h.transport.refuse = null;
    assert.equal(res.statusCode, 503);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);
    const [migration] = await listMigrations(h.database.db, { instanceUuid: server.uuid });
    assert.equal(migration!.status, MigrationStatus.ERROR);
  });
});

describe('force_complete and abort of a live migration', () => {
  it('force_complete: 2.22, the server migrating, the migration running; cast to the source', async () => {
    const server = await seedServer(h);
    const migration = await migrating(server, MigrationStatus.PREPARING);
    const url = `/v2.1/servers/${server.uuid}/migrations/${migration.id}/action`;
    assert.equal((await admin('2.21').post(url, { force_complete: null })).statusCode, 404);
    assert.equal((await client(h.app, 'alice', '2.22').post(url, { force_complete: null })).statusCode, 403);
    assert.equal((await admin('2.22').post(url, { force_complete: {} })).statusCode, 400);
    let res = await admin('2.22').post(url, { force_complete: null });
    assert.equal(res.statusCode, 400);
    assert.equal(
      fault(res).message,
      `Migration ${migration.id} state of instance ${server.uuid} is preparing. Cannot force complete while the ` +
        'migration is in this state.',
    );
    res = await admin('2.22').post(`/v2.1/servers/${server.uuid}/migrations/999999/action`, { force_complete: null });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, `Migration 999999 not found for instance ${server.uuid}`);
    await updateMigration(h.database.db, migration.uuid, { status: MigrationStatus.RUNNING });
    res = await admin('2.22').post(url, { force_complete: null });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(h.transport.casts.at(-1)!.method, 'live_migration_force_complete');
    assert.equal(h.transport.casts.at(-1)!.queue, 'compute.host1');
    assert.ok(
      (await listActions(h.database.db, server.uuid)).some((a) => a.action === 'live_migration_force_complete'),
    );
    await updateInstance(h.database.db, server.uuid, { task_state: null });
    res = await admin('2.22').post(url, { force_complete: null });
    assert.equal(res.statusCode, 409);
    assert.match(fault(res).message, /Cannot 'force_complete' instance .* while it is in task_state None/);
  });

  it('abort: 2.24, 404 for an unknown migration, 400 unless running (queued and preparing from 2.65)', async () => {
    const server = await seedServer(h);
    const migration = await migrating(server, MigrationStatus.QUEUED);
    const url = `/v2.1/servers/${server.uuid}/migrations/${migration.id}`;
    assert.equal((await admin('2.23').delete(url)).statusCode, 404);
    assert.equal((await client(h.app, 'alice', '2.24').delete(url)).statusCode, 403);
    let res = await admin('2.24').delete(`/v2.1/servers/${server.uuid}/migrations/424242`);
    assert.equal(res.statusCode, 404);
    assert.equal(fault(res).message, `Migration 424242 not found for instance ${server.uuid}`);
    res = await admin('2.64').delete(url);
    assert.equal(res.statusCode, 400);
    assert.match(fault(res).message, /is queued\. Cannot abort live migration while the migration is in this state\./);
    // From 2.65 a queued one is cancelled at once, for the conductor to put back; nothing is cast.
    res = await admin('2.65').delete(url);
    assert.equal(res.statusCode, 202, res.body);
    assert.equal((await getMigration(h.database.db, migration.uuid)).status, MigrationStatus.CANCELLED);
    assert.equal(h.transport.casts.length, 0);
    assert.ok((await listActions(h.database.db, server.uuid)).some((a) => a.action === 'live_migration_cancel'));
    // A running one is cancelled by its source.
    await updateMigration(h.database.db, migration.uuid, { status: MigrationStatus.RUNNING });
    res = await admin('2.24').delete(url);
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(h.transport.casts[0]!.method, 'live_migration_abort');
    assert.equal(h.transport.casts[0]!.args['migration_uuid'], migration.uuid);
    await updateInstance(h.database.db, server.uuid, { task_state: null });
    res = await admin('2.24').delete(url);
    assert.equal(res.statusCode, 409);
    assert.match(fault(res).message, /Cannot 'abort live migration' instance .* while it is in task_state None/);
  });

  it('lists the running live migration with its progress figures', async () => {
    const server = await seedServer(h);
    const migration = await migrating(server, MigrationStatus.RUNNING);
    await h.database.db
      .updateTable('migrations')
      .set({
        memory_total: 1000,
        memory_processed: 400,
        memory_remaining: 600,
        disk_total: 0,
        disk_processed: 0,
        disk_remaining: 0,
      })
      .where('uuid', '=', migration.uuid)
      .execute();
    const res = await admin('2.23').get(`/v2.1/servers/${server.uuid}/migrations/${migration.id}`);
    assert.equal(res.statusCode, 200, res.body);
    const shown = res.json().migration;
    assert.equal(shown.status, 'running');
    assert.equal(shown.memory_total_bytes, 1000);
    assert.equal(shown.memory_processed_bytes, 400);
    assert.equal(shown.memory_remaining_bytes, 600);
    assert.equal(shown.disk_total_bytes, 0);
  });
});
