/**
 * evacuate through the API: Nova's bodies per microversion (onSharedStorage before 2.14, force from 2.29
 * to 2.67, the stopped target from 2.95), its status codes and messages (the source's service still up,
 * an unknown or the same host, a wrong state), and the records and cast it makes.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { listActions } from '../../../src/objects/instance-actions.ts';
import { getInstance, updateInstance } from '../../../src/objects/instances.ts';
import { listMigrations, MigrationStatus } from '../../../src/objects/migrations.ts';
import { TaskState, VmState } from '../../../src/wire/messages/instance-states.ts';
import {
  addComputeHost,
  client,
  fault,
  forgetRecorded,
  seedServer,
  startApiWithHost,
  stopHeartbeat,
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

describe('evacuate', () => {
  it('is refused while the source compute service is up, and to non-admins', async () => {
    const server = await seedServer(h);
    assert.equal((await client(h.app, 'alice', '2.14').post(action(server.uuid), { evacuate: {} })).statusCode, 403);
    const res = await client(h.app, 'admin', '2.14').post(action(server.uuid), { evacuate: {} });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, 'Compute service of host1 is still in use.');
    assert.equal(h.transport.casts.length, 0);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);
  });

  it("refuses Nova's way: bodies of the wrong microversion, unknown or same host, force without host, state", async () => {
    await stopHeartbeat(h, 'host1');
    const server = await seedServer(h);
    const post = (version: string, body: unknown) => client(h.app, 'admin', version).post(action(server.uuid), body);
    assert.equal((await post('2.1', { evacuate: {} })).statusCode, 400);
    assert.equal((await post('2.14', { evacuate: { onSharedStorage: false } })).statusCode, 400);
    assert.equal((await post('2.68', { evacuate: { force: true, host: 'host2' } })).statusCode, 400);
    let res = await post('2.1', { evacuate: { onSharedStorage: true, adminPass: 'x' } });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, "admin password can't be changed on existing disk");
    res = await post('2.29', { evacuate: { force: true } });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, "Can't force to a non-provided destination");
    res = await post('2.14', { evacuate: { host: 'nowhere' } });
    assert.equal(res.statusCode, 404);
    assert.equal(fault(res).message, 'Compute host nowhere not found.');
    res = await post('2.14', { evacuate: { host: 'host1' } });
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, "The target host can't be the same one.");
    await updateInstance(h.database.db, server.uuid, { vm_state: VmState.PAUSED });
    res = await post('2.14', { evacuate: {} });
    assert.equal(res.statusCode, 409);
    assert.match(fault(res).message, /Cannot 'evacuate' instance .* while it is in vm_state paused/);
    assert.equal(h.transport.casts.length, 0);
    assert.deepEqual(await listMigrations(h.database.db, { instanceUuid: server.uuid }), []);
  });

  it('starts the evacuation: task rebuilding, a migration accepted, the action, the cast; adminPass before 2.14', async () => {
    await stopHeartbeat(h, 'host1');
    const server = await seedServer(h);
    const res = await client(h.app, 'admin', '2.1').post(action(server.uuid), {
      evacuate: { onSharedStorage: 'False', host: 'host2' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const password = res.json().adminPass as string;
    assert.equal(typeof password, 'string');
    const after = await getInstance(h.database.db, server.uuid);
    assert.equal(after.task_state, TaskState.REBUILDING);
    assert.equal(after.admin_pass, password);
    const [migration] = await listMigrations(h.database.db, { instanceUuid: server.uuid });
    assert.equal(migration!.migration_type, 'evacuation');
    assert.equal(migration!.status, MigrationStatus.ACCEPTED);
    assert.equal(migration!.source_compute, 'host1');
    assert.equal(migration!.dest_compute, 'host2');
    assert.deepEqual(
      (await listActions(h.database.db, server.uuid)).map((a) => a.action),
      ['evacuate'],
    );
    assert.equal(h.transport.casts[0]!.method, 'evacuate_server');
    assert.equal(h.transport.casts[0]!.args['host'], 'host2');
    // A second request finds it rebuilding: 409.
    const again = await client(h.app, 'admin', '2.14').post(action(server.uuid), { evacuate: {} });
    assert.equal(again.statusCode, 409);
  });

  it('answers no body from 2.14, and asks for a stopped server from 2.95; ERROR servers may go', async () => {
    await stopHeartbeat(h, 'host1');
    const broken = await seedServer(h, { state: { vm_state: VmState.ERROR } });
    let res = await client(h.app, 'admin', '2.14').post(action(broken.uuid), { evacuate: { adminPass: 'pw' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.body, '');
    assert.equal((await getInstance(h.database.db, broken.uuid)).admin_pass, 'pw');
    assert.equal(h.transport.casts[0]!.args['stopped'], undefined);
    const server = await seedServer(h);
    res = await client(h.app, 'admin', '2.95').post(action(server.uuid), { evacuate: {} });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(h.transport.casts[1]!.args['stopped'], true);
  });

  it('puts everything back when the conductor cannot be reached (503)', async () => {
    await stopHeartbeat(h, 'host1');
    const server = await seedServer(h);
    h.transport.refuse = new Error('broker gone');
    const res = await client(h.app, 'admin', '2.14').post(action(server.uuid), { evacuate: {} });
    assert.equal(res.statusCode, 503);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);
    const [migration] = await listMigrations(h.database.db, { instanceUuid: server.uuid });
    assert.equal(migration!.status, MigrationStatus.ERROR);
  });
});
