/**
 * resize, migrate, confirmResize and revertResize through the API: Nova's bodies, status codes and error
 * messages, the records each leaves (task, migration, instance action) and the cast it makes, and the
 * migration shown by os-migrations at its microversions. Every response is checked against its strict
 * schema by the harness.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createFlavor, type Flavor } from '../../../src/objects/flavors.ts';
import { listActions } from '../../../src/objects/instance-actions.ts';
import { flavorChanges, getInstance, updateInstance, type Instance } from '../../../src/objects/instances.ts';
import { createMigration, listMigrations, MigrationStatus, updateMigration } from '../../../src/objects/migrations.ts';
import { deleteLimits, setLimits } from '../../../src/objects/quotas.ts';
import { PowerState, TaskState, VmState } from '../../../src/wire/messages/instance-states.ts';
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
let big: Flavor;
let huge: Flavor;
before(async () => {
  h = await startApiWithHost('host1');
  await addComputeHost(h, 'host2');
  big = await createFlavor(h.database.db, { name: 'big', vcpus: 2, memory_mb: 1024, root_gb: 2, flavorid: 'big' });
  huge = await createFlavor(h.database.db, { name: 'huge', vcpus: 64, memory_mb: 1024, root_gb: 2, flavorid: 'huge' });
});
after(() => h.close());
beforeEach(() => forgetRecorded(h));

const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;
const actionsOf = async (s: Instance) => (await listActions(h.database.db, s.uuid)).map((a) => a.action);

/** A server as a finished resize leaves it: VERIFY_RESIZE on host2 with its new flavor, its migration finished. */
async function resizedServer(from: Flavor = h.tiny, to: Flavor = big): Promise<Instance> {
  const server = await seedServer(h, { flavor: from });
  const migration = await createMigration(h.database.db, {
    instance_uuid: server.uuid,
    migration_type: 'resize',
    source_compute: 'host1',
    source_node: 'host1-node',
    old_flavor: from,
    new_flavor: to,
    user_id: 'alice',
    project_id: server.project_id,
  });
  await updateMigration(h.database.db, migration.uuid, {
    status: MigrationStatus.FINISHED,
    dest_compute: 'host2',
    dest_node: 'host2-node',
    dest_host: 'host2',
  });
  return updateInstance(h.database.db, server.uuid, {
    vm_state: VmState.RESIZED,
    host: 'host2',
    node: 'host2-node',
    power_state: PowerState.RUNNING,
    ...flavorChanges(to),
  });
}

describe('resize', () => {
  it('starts a resize: 202, task resize_prep (status RESIZE), a migration, the action, the cast', async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'alice').post(action(server.uuid), {
      resize: { flavorRef: 'big', 'OS-DCF:diskConfig': 'AUTO' },
    });
    assert.equal(res.statusCode, 202, res.body);
    const after = await getInstance(h.database.db, server.uuid);
    assert.equal(after.task_state, TaskState.RESIZE_PREP);
    const shown = (await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal(shown.status, 'RESIZE');
    const [migration] = await listMigrations(h.database.db, { instanceUuid: server.uuid });
    assert.equal(migration!.migration_type, 'resize');
    assert.equal(migration!.status, MigrationStatus.PRE_MIGRATING);
    assert.equal(migration!.new_instance_type_id, big.id);
    assert.deepEqual(await actionsOf(server), ['resize']);
    assert.equal(h.transport.casts.length, 1);
    assert.equal(h.transport.casts[0]!.method, 'migrate_server');
    assert.equal(h.transport.casts[0]!.args['migration_uuid'], migration!.uuid);
  });

  it("refuses Nova's way: same flavor, unknown flavor, wrong state, locked, over quota", async () => {
    const server = await seedServer(h);
    const post = (body: unknown, who: 'alice' | 'admin' = 'alice') =>
      client(h.app, who).post(action(server.uuid), body);
    let res = await post({ resize: { flavorRef: h.tiny.flavorid } });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, 'Resize requires a flavor change.');
    res = await post({ resize: { flavorRef: 'nope' } });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, 'Unable to locate requested flavor.');
    res = await post({ resize: { flavorRef: 'big', extra: 1 } });
    assert.equal(res.statusCode, 400);
    await setLimits(h.database.db, server.project_id, null, { cores: 20 });
    res = await post({ resize: { flavorRef: huge.flavorid } });
    assert.equal(res.statusCode, 403);
    assert.match(fault(res).message, /^Quota exceeded for cores: Requested 63, but already used/);
    await updateInstance(h.database.db, server.uuid, { vm_state: VmState.PAUSED });
    res = await post({ resize: { flavorRef: 'big' } });
    assert.equal(res.statusCode, 409);
    assert.match(fault(res).message, /while it is in vm_state paused/);
    await updateInstance(h.database.db, server.uuid, {
      vm_state: VmState.ACTIVE,
      locked: 1,
      locked_by: 'admin',
    } as never);
    res = await post({ resize: { flavorRef: 'big' } });
    assert.equal(res.statusCode, 409);
    assert.equal(h.transport.casts.length, 0);
    assert.deepEqual(await listMigrations(h.database.db, { instanceUuid: server.uuid }), []);
  });
});

describe('migrate', () => {
  it('is for admins, names a host from 2.56, and refuses an unknown host or the current one', async () => {
    const server = await seedServer(h);
    assert.equal((await client(h.app, 'alice').post(action(server.uuid), { migrate: null })).statusCode, 403);
    let res = await client(h.app, 'admin', '2.55').post(action(server.uuid), { migrate: { host: 'host2' } });
    assert.equal(res.statusCode, 400);
    res = await client(h.app, 'admin', '2.56').post(action(server.uuid), { migrate: { host: 'nowhere' } });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, 'Compute host nowhere could not be found.');
    res = await client(h.app, 'admin', '2.56').post(action(server.uuid), { migrate: { host: 'host1' } });
    assert.equal(res.statusCode, 400);
    assert.equal(h.transport.casts.length, 0);
    res = await client(h.app, 'admin', '2.56').post(action(server.uuid), { migrate: { host: 'host2' } });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(h.transport.casts[0]!.args['host'], 'host2');
    const [migration] = await listMigrations(h.database.db, { instanceUuid: server.uuid });
    assert.equal(migration!.migration_type, 'migration');
    assert.equal(migration!.new_instance_type_id, h.tiny.id);
    assert.deepEqual(await actionsOf(server), ['migrate']);
  });
});

describe('confirmResize and revertResize', () => {
  it('confirms: 204, task resize_confirming, the migration confirming, cast to the source', async () => {
    const server = await resizedServer();
    const res = await client(h.app, 'alice').post(action(server.uuid), { confirmResize: null });
    assert.equal(res.statusCode, 204, res.body);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, TaskState.RESIZE_CONFIRMING);
    const [migration] = await listMigrations(h.database.db, { instanceUuid: server.uuid });
    assert.equal(migration!.status, MigrationStatus.CONFIRMING);
    assert.equal(h.transport.casts[0]!.queue, 'compute.host1');
    assert.equal(h.transport.casts[0]!.method, 'confirm_resize');
    assert.deepEqual(await actionsOf(server), ['confirmResize']);
  });

  it('reverts: 202, status REVERT_RESIZE, cast to the destination', async () => {
    const server = await resizedServer();
    const res = await client(h.app, 'alice').post(action(server.uuid), { revertResize: null });
    assert.equal(res.statusCode, 202, res.body);
    const shown = (await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal(shown.status, 'REVERT_RESIZE');
    assert.equal(h.transport.casts[0]!.queue, 'compute.host2');
    assert.equal(h.transport.casts[0]!.method, 'revert_resize');
    // A second request finds it reverting: 409.
    const again = await client(h.app, 'alice').post(action(server.uuid), { confirmResize: null });
    assert.equal(again.statusCode, 409);
  });

  it('refuses a server that was not resized (409) and one without a finished migration (400)', async () => {
    const active = await seedServer(h);
    const res = await client(h.app, 'alice').post(action(active.uuid), { confirmResize: null });
    assert.equal(res.statusCode, 409);
    const orphan = await seedServer(h, { state: { vm_state: VmState.RESIZED } });
    const none = await client(h.app, 'alice').post(action(orphan.uuid), { revertResize: null });
    assert.equal(none.statusCode, 400);
    assert.equal(fault(none).message, 'Instance has not been resized.');
  });

  it('lists the migration in os-migrations with its later fields by microversion', async () => {
    const server = await resizedServer();
    const at = (v: string) => client(h.app, 'admin', v).get(`/v2.1/os-migrations?instance_uuid=${server.uuid}`);
    const old = (await at('2.1')).json().migrations[0];
    assert.equal(old.status, 'finished');
    assert.equal(old.dest_compute, 'host2');
    assert.equal(old.migration_type, undefined);
    const newer = (await at('2.80')).json().migrations[0];
    assert.equal(newer.migration_type, 'resize');
    assert.equal(newer.user_id, 'alice');
    assert.equal(typeof newer.uuid, 'string');
    const paged = await client(h.app, 'admin', '2.59').get(`/v2.1/os-migrations?limit=1&marker=${newer.uuid}`);
    assert.equal(paged.statusCode, 200);
  });
});

describe('quota while a server is being resized', () => {
  const coresUsed = async () =>
    (await client(h.app, 'alice').get('/v2.1/limits')).json().limits.absolute.totalCoresUsed as number;
  const createTiny = () =>
    client(h.app, 'alice', '2.37').post('/v2.1/servers', {
      server: { name: 'one-more', imageRef: h.cirros.id, flavorRef: h.tiny.flavorid, networks: 'none' },
    });

  it('counts a resize up from the moment it is accepted: another resize or a create finds no room', async () => {
    const first = await seedServer(h);
    const second = await seedServer(h);
    const used = await coresUsed();
    await setLimits(h.database.db, first.project_id, null, { cores: used + 1 });
    try {
      const res = await client(h.app, 'alice').post(action(first.uuid), { resize: { flavorRef: 'big' } });
      assert.equal(res.statusCode, 202, res.body);
      // Still on its old flavor (the move has not reached a host), yet counted at the new one.
      assert.equal((await getInstance(h.database.db, first.uuid)).vcpus, h.tiny.vcpus);
      assert.equal(await coresUsed(), used + 1);

      forgetRecorded(h);
      const refused = await client(h.app, 'alice').post(action(second.uuid), { resize: { flavorRef: 'big' } });
      assert.equal(refused.statusCode, 403);
      assert.equal(
        fault(refused).message,
        `Quota exceeded for cores: Requested 1, but already used ${used + 1} of ${used + 1} cores`,
      );
      const untouched = await getInstance(h.database.db, second.uuid);
      assert.equal(untouched.task_state, null);
      assert.deepEqual(await listMigrations(h.database.db, { instanceUuid: second.uuid }), []);
      assert.deepEqual(await actionsOf(second), []);
      const create = await createTiny();
      assert.equal(create.statusCode, 403, create.body);
      assert.match(fault(create).message, /^Quota exceeded for cores/);
      assert.equal(h.transport.casts.length, 0);
    } finally {
      await deleteLimits(h.database.db, first.project_id, null);
    }
  });

  it('counts the old size of a resize down until the move ends, so a revert needs no room', async () => {
    // VERIFY_RESIZE on the destination with its new, smaller flavor.
    const server = await resizedServer(big, h.tiny);
    const used = await coresUsed();
    await setLimits(h.database.db, server.project_id, null, { cores: used });
    try {
      // Counted at the new size, the create would fit; but a revert would then take the project over.
      const create = await createTiny();
      assert.equal(create.statusCode, 403, create.body);
      const res = await client(h.app, 'alice').post(action(server.uuid), { revertResize: null });
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(await coresUsed(), used);
    } finally {
      await deleteLimits(h.database.db, server.project_id, null);
    }
  });
});
