/** The admin action os-resetState: vm_state active or error, no task, an instance action; refusals. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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

const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;

async function states(server: Instance): Promise<[string, string | null]> {
  const row = await getInstance(h.database.db, server.uuid);
  return [row.vm_state, row.task_state];
}

describe('os-resetState', () => {
  it('puts a server stuck in a task in error, then back to active, recording each', async () => {
    const server = await seedServer(h, { state: { task_state: 'rebooting' } });
    const res = await client(h.app, 'admin').post(action(server.uuid), { 'os-resetState': { state: 'error' } });
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '', 'the action answers with no body');
    assert.deepEqual(await states(server), ['error', null]);
    const shown = (await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal(shown.status, 'ERROR');

    const back = await client(h.app, 'admin').post(action(server.uuid), { 'os-resetState': { state: 'active' } });
    assert.equal(back.statusCode, 202);
    assert.deepEqual(await states(server), ['active', null]);
    assert.equal(h.transport.casts.length, 0, 'no host is told');

    const actions = await client(h.app, 'alice', '2.58').get(`/v2.1/servers/${server.uuid}/os-instance-actions`);
    const listed = actions.json().instanceActions as { action: string; updated_at: string | null }[];
    assert.deepEqual(
      listed.map((a) => a.action),
      ['resetState', 'resetState'],
    );
    assert.ok(
      listed.every((a) => a.updated_at !== null),
      'finished actions',
    );
  });

  it('resets a server that is building or locked too: it is the way out of any state', async () => {
    const building = await seedServer(h, { host: null });
    const res = await client(h.app, 'admin').post(action(building.uuid), { 'os-resetState': { state: 'error' } });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(await states(building), ['error', null]);
    const locked = await seedServer(h, { state: { locked: 1, vm_state: 'error' } });
    const unlocked = await client(h.app, 'admin').post(action(locked.uuid), { 'os-resetState': { state: 'active' } });
    assert.equal(unlocked.statusCode, 202);
    assert.deepEqual(await states(locked), ['active', null]);
  });

  it('refuses members (403), unknown servers (404) and bad bodies (400), changing nothing', async () => {
    const server = await seedServer(h, { state: { task_state: 'rebooting' } });
    const member = await client(h.app, 'alice').post(action(server.uuid), { 'os-resetState': { state: 'error' } });
    assert.equal(member.statusCode, 403);
    assert.equal(
      fault(member).message,
      "Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed.",
    );
    const unknown = await client(h.app, 'admin').post(action('00000000-0000-0000-0000-000000000000'), {
      'os-resetState': { state: 'error' },
    });
    assert.equal(unknown.statusCode, 404);
    for (const body of [
      { 'os-resetState': { state: 'stopped' } },
      { 'os-resetState': { state: 'ERROR' } },
      { 'os-resetState': {} },
      { 'os-resetState': { state: 'error', extra: 1 } },
      { 'os-resetState': null },
    ]) {
      const res = await client(h.app, 'admin').post(action(server.uuid), body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
    assert.deepEqual(await states(server), ['active', 'rebooting']);
    const actions = await client(h.app, 'admin').get(`/v2.1/servers/${server.uuid}/os-instance-actions`);
    assert.deepEqual(actions.json().instanceActions, []);
  });
});
