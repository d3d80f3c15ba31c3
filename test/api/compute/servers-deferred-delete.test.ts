/**
 * Deferred delete (DELETE with `[DEFAULT] reclaim_instance_interval` set, restore, forceDelete) and
 * changePassword, end to end in one process: the API, a real conductor and a fake-driver compute host on
 * an in-process bus, so each request runs to its final state. Also the option off, the refusals (400,
 * 403, 404, 409), locks, and the instance actions recorded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InstanceAgentNotEnabled } from '../../../src/common/errors.ts';
import { FakeDriver } from '../../../src/compute/virt/fake/fake-driver.ts';
import { listActions } from '../../../src/objects/instance-actions.ts';
import { deleteLimits, setLimits } from '../../../src/objects/quotas.ts';
import { getInstance, findInstance, updateInstance } from '../../../src/objects/instances.ts';
import { PowerState, TaskState, VmState } from '../../../src/wire/messages/instance-states.ts';
import {
  addComputeHost,
  client,
  fault,
  PROJECT_B,
  seedServer,
  startComputeApi,
  stopHeartbeat,
  type Harness,
} from './helpers.ts';
import { waitUntil } from '../../helpers/processes.ts';
import { startApiWithLiveHost, type ApiWithLiveHost } from './api-with-live-host.ts';

const HOST = 'dd-host';
/** The API with reclaim_instance_interval set, on the bus of a real conductor and compute host. */
let cloud: ApiWithLiveHost;
let h: Harness;
/** The API with the option at its default (0), recording its casts. */
let off: Harness;
let driver: FakeDriver;

before(async () => {
  cloud = await startApiWithLiveHost(HOST, { DEFAULT: { reclaim_instance_interval: '3600' } });
  ({ h, driver } = cloud);
  await addComputeHost(h, HOST);
  off = await startComputeApi();
  await addComputeHost(off, HOST);
});

after(async () => {
  await cloud.close();
  await off.close();
});

const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;

async function softDeleted(who: 'alice' | 'bob' = 'alice', fields: Parameters<typeof seedServer>[1] = {}) {
  const server = await cloud.runningServer(fields);
  const res = await client(h.app, who).delete(`/v2.1/servers/${server.uuid}`);
  assert.equal(res.statusCode, 204, res.body);
  return cloud.settled(server.uuid);
}

async function actions(uuid: string) {
  return (await listActions(h.database.db, uuid)).map((a) => [a.action, a.events.map((e) => [e.event, e.result])]);
}

describe('DELETE with reclaim_instance_interval set', () => {
  it('soft-deletes a running server: guest off, SOFT_DELETED, still shown, a delete action', async () => {
    const server = await cloud.runningServer();
    const res = await client(h.app, 'alice').delete(`/v2.1/servers/${server.uuid}`);
    assert.equal(res.statusCode, 204);
    const done = await cloud.settled(server.uuid);
    assert.equal(done.vm_state, VmState.SOFT_DELETED);
    assert.equal(done.power_state, PowerState.SHUTDOWN);
    assert.notEqual(done.deleted_at, null, 'the deletion time starts the reclaim interval');
    assert.equal(driver.powerState(server.uuid), PowerState.SHUTDOWN, 'the guest is powered off, not destroyed');
    const shown = await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}`);
    assert.equal(shown.statusCode, 200);
    assert.equal(shown.json().server.status, 'SOFT_DELETED');
    assert.equal(shown.json().server['OS-EXT-STS:task_state'], null);
    assert.deepEqual(await actions(server.uuid), [['delete', [['compute_soft_delete_instance', 'Success']]]]);
  });

  it('deletes for real a server that never launched (Nova falls back to delete)', async () => {
    const server = await seedServer(h, { host: null });
    const res = await client(h.app, 'alice').delete(`/v2.1/servers/${server.uuid}`);
    assert.equal(res.statusCode, 204);
    assert.equal(await findInstance(h.database.db, server.uuid), null);
  });

  it('deletes for real a server whose compute service is down (Nova deletes it locally)', async () => {
    await addComputeHost(h, 'dd-down');
    await stopHeartbeat(h, 'dd-down');
    const server = await seedServer(h, { host: 'dd-down' });
    const res = await client(h.app, 'alice').delete(`/v2.1/servers/${server.uuid}`);
    assert.equal(res.statusCode, 204);
    assert.equal(await findInstance(h.database.db, server.uuid), null);
  });

  it('refuses a locked server to its owner (409) and lets an admin soft-delete it', async () => {
    const server = await cloud.runningServer({ state: { locked: 1, locked_by: 'owner' } });
    const res = await client(h.app, 'alice').delete(`/v2.1/servers/${server.uuid}`);
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Instance ${server.uuid} is locked`);
    assert.equal((await getInstance(h.database.db, server.uuid)).vm_state, VmState.ACTIVE);
    const admin = await client(h.app, 'admin').delete(`/v2.1/servers/${server.uuid}`);
    assert.equal(admin.statusCode, 204);
    assert.equal((await cloud.settled(server.uuid)).vm_state, VmState.SOFT_DELETED);
  });
});

describe('server lists', () => {
  it("leave soft-deleted servers out unless asked, as Nova's list of live servers does", async () => {
    const gone = await softDeleted();
    const live = await cloud.runningServer();
    const ids = async (who: 'alice' | 'admin', query: string) => {
      const res = await client(h.app, who).get(`/v2.1/servers${query}`);
      assert.equal(res.statusCode, 200, res.body);
      return (res.json().servers as { id: string }[]).map((s) => s.id);
    };
    const mine = await ids('alice', '');
    assert.equal(mine.includes(gone.uuid), false);
    assert.equal(mine.includes(live.uuid), true);
    assert.equal((await ids('alice', '?status=SOFT_DELETED')).length, 0);
    assert.equal((await ids('admin', '?all_tenants=1&deleted=true')).includes(gone.uuid), true);
    assert.equal((await ids('admin', '?all_tenants=1&deleted=true&soft_deleted=')).includes(gone.uuid), false);
    assert.equal((await ids('admin', '?all_tenants=1&soft_deleted=true')).includes(gone.uuid), true);
    assert.equal((await ids('alice', '?changes-since=2000-01-01T00:00:00Z')).includes(gone.uuid), true);
  });
});

describe('DELETE with reclaim_instance_interval 0 (the default)', () => {
  it('terminates at once, as before', async () => {
    const server = await seedServer(off, { host: HOST });
    off.transport.casts.length = 0;
    const res = await client(off.app, 'alice').delete(`/v2.1/servers/${server.uuid}`);
    assert.equal(res.statusCode, 204);
    assert.deepEqual(
      off.transport.casts.map((c) => c.method),
      ['terminate_instance'],
    );
    assert.equal((await getInstance(off.database.db, server.uuid)).task_state, TaskState.DELETING);
  });
});

describe('restore', () => {
  it('brings a soft-deleted server back: restoring, guest on, ACTIVE, deletion time cleared', async () => {
    const server = await softDeleted();
    const res = await client(h.app, 'alice').post(action(server.uuid), { restore: null });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.body, '');
    const done = await cloud.settled(server.uuid);
    assert.deepEqual([done.vm_state, done.power_state, done.deleted_at], [VmState.ACTIVE, PowerState.RUNNING, null]);
    assert.equal(driver.powerState(server.uuid), PowerState.RUNNING);
    const [latest] = await actions(server.uuid);
    assert.deepEqual(latest, ['restore', [['compute_restore_instance', 'Success']]]);
  });

  it('refuses a server that is not soft-deleted (409), a bad body (400), another project (404)', async () => {
    const server = await cloud.runningServer();
    const res = await client(h.app, 'alice').post(action(server.uuid), { restore: null });
    assert.equal(res.statusCode, 409);
    assert.equal(
      fault(res).message,
      `Cannot 'restore' instance ${server.uuid} while it is in vm_state ${VmState.ACTIVE}`,
    );
    const gone = await softDeleted();
    const bad = await client(h.app, 'alice').post(action(gone.uuid), { restore: null, extra: 1 });
    assert.equal(bad.statusCode, 400);
    const theirs = await client(h.app, 'bob').post(action(gone.uuid), { restore: null });
    assert.equal(theirs.statusCode, 404);
    const busy = await softDeleted();
    await updateInstance(h.database.db, busy.uuid, { task_state: TaskState.DELETING });
    const during = await client(h.app, 'alice').post(action(busy.uuid), { restore: null });
    assert.equal(during.statusCode, 409);
    assert.equal(fault(during).message, `Cannot 'restore' instance ${busy.uuid} while it is in task_state deleting`);
    for (const uuid of [gone.uuid, busy.uuid]) {
      assert.equal((await getInstance(h.database.db, uuid)).vm_state, VmState.SOFT_DELETED);
    }
  });

  it('refuses a locked server to its owner (409); an admin restores it', async () => {
    const server = await softDeleted();
    await updateInstance(h.database.db, server.uuid, { locked: 1, locked_by: 'admin' });
    const res = await client(h.app, 'alice').post(action(server.uuid), { restore: null });
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Instance ${server.uuid} is locked`);
    const admin = await client(h.app, 'admin').post(action(server.uuid), { restore: null });
    assert.equal(admin.statusCode, 202);
    assert.equal((await cloud.settled(server.uuid)).vm_state, VmState.ACTIVE);
  });

  it('counts the server against the quotas again: over them it is a 403 and stays soft-deleted', async () => {
    const gone = await softDeleted('bob', { project: PROJECT_B, user: 'bob' });
    await cloud.runningServer({ project: PROJECT_B, user: 'bob' });
    await setLimits(h.database.db, PROJECT_B, null, { instances: 1 });
    try {
      const res = await client(h.app, 'bob').post(action(gone.uuid), { restore: null });
      assert.equal(res.statusCode, 403);
      assert.match(fault(res).message, /^Quota exceeded for instances: Requested 1, but already used 1 of 1 instances/);
      const row = await getInstance(h.database.db, gone.uuid);
      assert.deepEqual([row.vm_state, row.task_state], [VmState.SOFT_DELETED, null]);
    } finally {
      await deleteLimits(h.database.db, PROJECT_B, null);
    }
  });
});

describe('forceDelete', () => {
  it('deletes a soft-deleted server now: guest destroyed, server gone', async () => {
    const server = await softDeleted();
    const res = await client(h.app, 'alice').post(action(server.uuid), { forceDelete: null });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.body, '');
    await waitUntil('server deleted', async () => (await findInstance(h.database.db, server.uuid)) === null);
    assert.equal(
      driver.listGuests().some((g) => g.uuid === server.uuid),
      false,
    );
    const shown = await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}`);
    assert.equal(shown.statusCode, 404);
  });

  it('refuses a locked server to its owner (409), a bad body (400)', async () => {
    const server = await softDeleted();
    await updateInstance(h.database.db, server.uuid, { locked: 1, locked_by: 'owner' });
    const res = await client(h.app, 'alice').post(action(server.uuid), { forceDelete: null });
    assert.equal(res.statusCode, 409);
    const bad = await client(h.app, 'admin').post(action(server.uuid), { forceDelete: null, x: 1 });
    assert.equal(bad.statusCode, 400);
    assert.equal((await getInstance(h.database.db, server.uuid)).vm_state, VmState.SOFT_DELETED);
  });
});

describe('changePassword', () => {
  it('sets the password in the guest: updating_password, then ACTIVE with no task and the event', async () => {
    const server = await cloud.runningServer();
    const res = await client(h.app, 'alice').post(action(server.uuid), { changePassword: { adminPass: 'n3w-Pass' } });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.body, '');
    assert.equal(driver.adminPasswordOf(server.uuid), 'n3w-Pass');
    const done = await cloud.settled(server.uuid);
    assert.equal(done.vm_state, VmState.ACTIVE);
    assert.equal(done.admin_pass, null, 'the new password is stored nowhere');
    assert.deepEqual(await actions(server.uuid), [['changePassword', [['compute_set_admin_password', 'Success']]]]);
  });

  it("answers the driver's refusal as Nova does (409), the server ACTIVE, no task, the event in Error", async () => {
    const server = await cloud.runningServer();
    const original = driver.setAdminPassword.bind(driver);
    driver.setAdminPassword = () => Promise.reject(new InstanceAgentNotEnabled('QEMU guest agent is not enabled'));
    try {
      const res = await client(h.app, 'alice').post(action(server.uuid), { changePassword: { adminPass: 'x' } });
      assert.equal(res.statusCode, 409);
      assert.deepEqual(fault(res), {
        name: 'conflictingRequest',
        code: 409,
        message: 'QEMU guest agent is not enabled',
      });
    } finally {
      driver.setAdminPassword = original;
    }
    const row = await getInstance(h.database.db, server.uuid);
    assert.deepEqual([row.vm_state, row.task_state], [VmState.ACTIVE, null]);
    assert.deepEqual(await actions(server.uuid), [['changePassword', [['compute_set_admin_password', 'Error']]]]);
  });

  it('refuses a server not ACTIVE or locked (409), a bad body (400), another project (404)', async () => {
    const paused = await cloud.runningServer({ state: { vm_state: VmState.PAUSED } });
    const res = await client(h.app, 'alice').post(action(paused.uuid), { changePassword: { adminPass: 'x' } });
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Cannot 'changePassword' instance ${paused.uuid} while it is in vm_state paused`);
    const locked = await cloud.runningServer({ state: { locked: 1, locked_by: 'owner' } });
    const refused = await client(h.app, 'alice').post(action(locked.uuid), { changePassword: { adminPass: 'x' } });
    assert.equal(refused.statusCode, 409);
    for (const body of [
      { changePassword: {} },
      { changePassword: { adminPass: 1 } },
      { changePassword: { adminPass: 'x', other: 1 } },
      { changePassword: 'x' },
    ]) {
      const bad = await client(h.app, 'alice').post(action(locked.uuid), body);
      assert.equal(bad.statusCode, 400, JSON.stringify(body));
    }
    const theirs = await client(h.app, 'bob').post(action(paused.uuid), { changePassword: { adminPass: 'x' } });
    assert.equal(theirs.statusCode, 404);
    for (const uuid of [paused.uuid, locked.uuid]) {
      assert.equal((await getInstance(h.database.db, uuid)).task_state, null);
      assert.deepEqual(await actions(uuid), []);
    }
    assert.equal(driver.adminPasswordOf(paused.uuid), undefined);
  });
});
