/**
 * The lock and unlock actions: who locked (owner or admin), the reason from 2.73, what a lock forbids
 * the owner (and lets admins do), who may unlock, the instance actions, and refusals that change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { getInstance, type Instance } from '../../../src/objects/instances.ts';
import { addComputeHost, client, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;

before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'host1');
});
after(async () => {
  await h.close();
});
beforeEach(() => {
  h.transport.casts.length = 0;
});

const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;

async function lockState(server: Instance) {
  const row = await getInstance(h.database.db, server.uuid);
  return { locked: row.locked, locked_by: row.locked_by, locked_reason: row.locked_reason };
}

async function actionsOf(server: Instance): Promise<string[]> {
  const res = await client(h.app, 'admin').get(`/v2.1/servers/${server.uuid}/os-instance-actions`);
  return (res.json().instanceActions as { action: string }[]).map((a) => a.action);
}

describe('lock', () => {
  it('locks as the owner with a reason (2.73), shown by GET /servers/{id}, and records the action', async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'alice', '2.73').post(action(server.uuid), {
      lock: { locked_reason: 'maintenance' },
    });
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '', 'the action answers with no body');
    assert.deepEqual(await lockState(server), { locked: true, locked_by: 'owner', locked_reason: 'maintenance' });

    const shown = (await client(h.app, 'alice', '2.73').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal(shown.locked, true);
    assert.equal(shown.locked_reason, 'maintenance');
    const at272 = (await client(h.app, 'alice', '2.72').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal(at272.locked, true);
    assert.equal('locked_reason' in at272, false);
    const at28 = (await client(h.app, 'alice', '2.8').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal('locked' in at28, false);

    assert.deepEqual(await actionsOf(server), ['lock']);
    const requestId = res.headers['x-openstack-request-id'] as string;
    const detail = await client(h.app, 'admin', '2.62').get(
      `/v2.1/servers/${server.uuid}/os-instance-actions/${requestId}`,
    );
    const events = detail.json().instanceAction.events as { event: string; result: string; host: string }[];
    assert.deepEqual(
      events.map((e) => [e.event, e.result, e.host]),
      [['api_lock', 'Success', h.config.DEFAULT.host]],
    );
    assert.equal(h.transport.casts.length, 0, 'a lock needs no compute host');
  });

  it('ignores a reason before 2.73, and a second lock by the owner changes nothing', async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'alice', '2.72').post(action(server.uuid), {
      lock: { locked_reason: 'ignored' },
    });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(await lockState(server), { locked: true, locked_by: 'owner', locked_reason: null });
    const again = await client(h.app, 'alice', '2.73').post(action(server.uuid), { lock: { locked_reason: 'x' } });
    assert.equal(again.statusCode, 202);
    assert.deepEqual(await lockState(server), { locked: true, locked_by: 'owner', locked_reason: null });
    assert.deepEqual(await actionsOf(server), ['lock']);
  });

  it('locks as admin for an admin of another project, over an owner lock too', async () => {
    const server = await seedServer(h);
    await client(h.app, 'alice', '2.73').post(action(server.uuid), { lock: { locked_reason: 'mine' } });
    const res = await client(h.app, 'admin', '2.73').post(action(server.uuid), { lock: null });
    assert.equal(res.statusCode, 202);
    // No reason given: the earlier one stays, as in Nova.
    assert.deepEqual(await lockState(server), { locked: true, locked_by: 'admin', locked_reason: 'mine' });
  });

  it('refuses a bad body (400), a server of another project or unknown (404), changing nothing', async () => {
    const server = await seedServer(h);
    for (const body of [
      { lock: { locked_reason: '' } },
      { lock: { locked_reason: 'x'.repeat(256) } },
      { lock: { reason: 'x' } },
      { lock: 'now' },
      { lock: null, extra: 1 },
    ]) {
      const res = await client(h.app, 'alice', '2.73').post(action(server.uuid), body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(fault(res).name, 'badRequest');
    }
    const theirs = await client(h.app, 'bob').post(action(server.uuid), { lock: null });
    assert.equal(theirs.statusCode, 404);
    const unknown = await client(h.app, 'alice').post(action('00000000-0000-0000-0000-000000000000'), { lock: null });
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(await lockState(server), { locked: false, locked_by: null, locked_reason: null });
    assert.deepEqual(await actionsOf(server), []);
  });
});

describe('unlock', () => {
  it('unlocks an owner lock as the owner, clearing the reason, and records the action', async () => {
    const server = await seedServer(h);
    await client(h.app, 'alice', '2.73').post(action(server.uuid), { lock: { locked_reason: 'r' } });
    const res = await client(h.app, 'alice', '2.73').post(action(server.uuid), { unlock: null });
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '', 'the action answers with no body');
    assert.deepEqual(await lockState(server), { locked: false, locked_by: null, locked_reason: null });
    assert.deepEqual(await actionsOf(server), ['unlock', 'lock']);
    const shown = (await client(h.app, 'alice', '2.73').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal(shown.locked, false);
    assert.equal(shown.locked_reason, null);
  });

  it('refuses the owner (403) a lock an admin put on, and lets an admin lift any lock', async () => {
    const server = await seedServer(h);
    await client(h.app, 'admin').post(action(server.uuid), { lock: null });
    const refused = await client(h.app, 'alice').post(action(server.uuid), { unlock: null });
    assert.equal(refused.statusCode, 403);
    assert.equal(
      fault(refused).message,
      "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed.",
    );
    assert.equal((await lockState(server)).locked, true);
    assert.deepEqual(await actionsOf(server), ['lock']);

    const lifted = await client(h.app, 'admin').post(action(server.uuid), { unlock: null });
    assert.equal(lifted.statusCode, 202);
    assert.equal((await lockState(server)).locked, false);

    await client(h.app, 'alice').post(action(server.uuid), { lock: null });
    assert.equal((await client(h.app, 'admin').post(action(server.uuid), { unlock: null })).statusCode, 202);
    assert.equal((await lockState(server)).locked, false);
  });

  it('refuses a bad body (400) and other projects (404)', async () => {
    const server = await seedServer(h);
    await client(h.app, 'alice').post(action(server.uuid), { lock: null });
    const bad = await client(h.app, 'alice').post(action(server.uuid), { unlock: null, lock: null });
    assert.equal(bad.statusCode, 400);
    assert.equal((await client(h.app, 'bob').post(action(server.uuid), { unlock: null })).statusCode, 404);
    assert.equal((await lockState(server)).locked, true);
  });
});

describe('what a lock forbids', () => {
  it("refuses the owner's actions, metadata writes and delete with 409; admins pass", async () => {
    const server = await seedServer(h);
    const stopped = await seedServer(h, { state: { vm_state: 'stopped', power_state: 4 } });
    for (const s of [server, stopped]) await client(h.app, 'alice').post(action(s.uuid), { lock: null });
    const locked = (uuid: string) => `Instance ${uuid} is locked`;
    const alice = client(h.app, 'alice');
    const refusals: [Promise<import('fastify').LightMyRequestResponse>, string][] = [
      [alice.post(action(server.uuid), { 'os-stop': null }), server.uuid],
      [alice.post(action(stopped.uuid), { 'os-start': null }), stopped.uuid],
      [alice.post(action(server.uuid), { reboot: { type: 'SOFT' } }), server.uuid],
      [alice.post(action(server.uuid), { reboot: { type: 'HARD' } }), server.uuid],
      [alice.post(action(server.uuid), { pause: null }), server.uuid],
      [alice.post(action(server.uuid), { suspend: null }), server.uuid],
      [alice.put(`/v2.1/servers/${server.uuid}/metadata`, { metadata: { a: 'b' } }), server.uuid],
      [alice.post(`/v2.1/servers/${server.uuid}/metadata`, { metadata: { a: 'b' } }), server.uuid],
      [alice.put(`/v2.1/servers/${server.uuid}/metadata/a`, { meta: { a: 'b' } }), server.uuid],
      [alice.delete(`/v2.1/servers/${server.uuid}`), server.uuid],
    ];
    for (const [pending, uuid] of refusals) {
      const res = await pending;
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(fault(res).message, locked(uuid));
    }
    assert.equal(h.transport.casts.length, 0);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);

    // What a lock does not forbid, as in Nova: renaming, reading, a snapshot.
    const renamed = await alice.put(`/v2.1/servers/${server.uuid}`, { server: { name: 'renamed' } });
    assert.equal(renamed.statusCode, 200);
    const snapshot = await alice.post(action(server.uuid), { createImage: { name: 'snap' } });
    assert.equal(snapshot.statusCode, 202);

    const admin = client(h.app, 'admin');
    assert.equal((await admin.post(action(stopped.uuid), { 'os-start': null })).statusCode, 202);
    assert.equal((await admin.put(`/v2.1/servers/${stopped.uuid}/metadata/k`, { meta: { k: 'v' } })).statusCode, 200);
    assert.equal((await admin.delete(`/v2.1/servers/${stopped.uuid}`)).statusCode, 204);
  });
});

describe('sorting on locked_by', () => {
  it('orders servers by who locked them, unlocked ones first', async () => {
    const ownerLocked = await seedServer(h, { project: 'dddddddddddddddddddddddddddddddd' });
    const adminLocked = await seedServer(h, { project: 'dddddddddddddddddddddddddddddddd' });
    const unlocked = await seedServer(h, { project: 'dddddddddddddddddddddddddddddddd' });
    await h.database.db
      .updateTable('instances')
      .set({ locked: 1, locked_by: 'owner' })
      .where('uuid', '=', ownerLocked.uuid)
      .execute();
    await client(h.app, 'admin').post(action(adminLocked.uuid), { lock: null });
    for (const [dir, expected] of [
      ['asc', [unlocked, adminLocked, ownerLocked]],
      ['desc', [ownerLocked, adminLocked, unlocked]],
    ] as const) {
      const res = await client(h.app, 'admin').get(
        `/v2.1/servers?all_tenants=1&project_id=dddddddddddddddddddddddddddddddd&sort_key=locked_by&sort_dir=${dir}`,
      );
      assert.equal(res.statusCode, 200);
      assert.deepEqual(
        (res.json().servers as { id: string }[]).map((s) => s.id),
        expected.map((s) => s.uuid),
      );
    }
  });
});
