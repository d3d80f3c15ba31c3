/** DELETE /servers/{id}, the power actions and os-instance-actions. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { findInstance, getInstance, markInstanceDeleted } from '../../../src/objects/instances.ts';
import { claimResources, resourcesForFlavor } from '../../../src/placement/claims.ts';
import { providerUsages } from '../../../src/placement/providers.ts';
import { addComputeHost, client, fault, seedServer, startComputeApi, stopHeartbeat, type Harness } from './helpers.ts';

let h: Harness;
let node1: string;

before(async () => {
  h = await startComputeApi();
  node1 = (await addComputeHost(h, 'host1')).node.uuid;
  await addComputeHost(h, 'deadhost');
  await stopHeartbeat(h, 'deadhost');
});
after(async () => {
  await h.close();
});
beforeEach(() => {
  h.transport.casts.length = 0;
  h.transport.refuse = null;
});

async function used(): Promise<Record<string, number>> {
  return (await providerUsages(h.database.db, [node1])).get(node1)!.usages;
}

describe('DELETE /servers/{id}', () => {
  it('deletes a server that never reached a host locally and frees its resources', async () => {
    const server = await seedServer(h, { host: null });
    await claimResources(h.database.db, server.uuid, node1, resourcesForFlavor(h.tiny), 'hdd');
    const res = await client(h.app, 'alice').delete(`/v2.1/servers/${server.uuid}`);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assert.equal(await findInstance(h.database.db, server.uuid), null);
    const row = await getInstance(h.database.db, server.uuid, true);
    assert.equal(row.vm_state, 'deleted');
    assert.equal((await used())['VCPU'] ?? 0, 0);
    assert.equal(h.transport.casts.length, 0);
  });

  it('hands a server on a live host to that host: task_state deleting and a terminate cast', async () => {
    const server = await seedServer(h, { host: 'host1' });
    const res = await client(h.app, 'alice').delete(`/v2.1/servers/${server.uuid}`);
    assert.equal(res.statusCode, 204);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, 'deleting');
    assert.equal(h.transport.casts.length, 1);
    const cast = h.transport.casts[0]!;
    assert.equal(cast.queue, 'compute.host1');
    assert.equal(cast.method, 'terminate_instance');
    assert.equal((cast.args['instance'] as { uuid: string }).uuid, server.uuid);
    const actions = (await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}/os-instance-actions`)).json()
      .instanceActions;
    assert.equal(actions[0].action, 'delete');
  });

  it('deletes locally when the host is down, or when the terminate cast is refused', async () => {
    const onDeadHost = await seedServer(h, { host: 'deadhost' });
    assert.equal((await client(h.app, 'alice').delete(`/v2.1/servers/${onDeadHost.uuid}`)).statusCode, 204);
    assert.equal(await findInstance(h.database.db, onDeadHost.uuid), null);
    assert.equal(h.transport.casts.length, 0);

    const unreachable = await seedServer(h, { host: 'host1' });
    h.transport.refuse = new Error('no route to compute.host1');
    assert.equal((await client(h.app, 'alice').delete(`/v2.1/servers/${unreachable.uuid}`)).statusCode, 204);
    assert.equal(await findInstance(h.database.db, unreachable.uuid), null);
  });

  it('refuses to delete a locked server (409) and servers of other projects (404)', async () => {
    const locked = await seedServer(h, { state: { locked: 1 } });
    const res = await client(h.app, 'alice').delete(`/v2.1/servers/${locked.uuid}`);
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Instance ${locked.uuid} is locked`);
    const theirs = await client(h.app, 'bob').delete(`/v2.1/servers/${locked.uuid}`);
    assert.equal(theirs.statusCode, 404);
    assert.ok(await findInstance(h.database.db, locked.uuid));
  });
});

describe('POST /servers/{id}/action', () => {
  it('stops an ACTIVE server: task_state powering-off, stop cast to its host, action recorded', async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, { 'os-stop': null });
    assert.equal(res.statusCode, 202);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, 'powering-off');
    assert.deepEqual(
      h.transport.casts.map((c) => [c.queue, c.method]),
      [['compute.host1', 'stop_instance']],
    );
    const again = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, { 'os-stop': null });
    assert.equal(again.statusCode, 409);
    assert.equal(fault(again).message, `Cannot 'stop' instance ${server.uuid} while it is in task_state powering-off`);
    const actions = (await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}/os-instance-actions`)).json()
      .instanceActions;
    assert.deepEqual(
      actions.map((a: { action: string }) => a.action),
      ['stop'],
    );
  });

  it('starts only a SHUTOFF server', async () => {
    const active = await seedServer(h);
    const res = await client(h.app, 'alice').post(`/v2.1/servers/${active.uuid}/action`, { 'os-start': null });
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Cannot 'start' instance ${active.uuid} while it is in vm_state active`);
    const stopped = await seedServer(h, { state: { vm_state: 'stopped', power_state: 4 } });
    const ok = await client(h.app, 'alice').post(`/v2.1/servers/${stopped.uuid}/action`, { 'os-start': {} });
    assert.equal(ok.statusCode, 202);
    assert.equal((await getInstance(h.database.db, stopped.uuid)).task_state, 'powering-on');
    assert.equal(h.transport.casts[0]!.method, 'start_instance');
  });

  it('soft-reboots only ACTIVE servers; hard reboot also takes SHUTOFF and ERROR', async () => {
    const stopped = await seedServer(h, { state: { vm_state: 'stopped', power_state: 4 } });
    const soft = await client(h.app, 'alice').post(`/v2.1/servers/${stopped.uuid}/action`, {
      reboot: { type: 'SOFT' },
    });
    assert.equal(soft.statusCode, 409);
    assert.equal(fault(soft).message, `Cannot 'reboot' instance ${stopped.uuid} while it is in vm_state stopped`);
    const hard = await client(h.app, 'alice').post(`/v2.1/servers/${stopped.uuid}/action`, {
      reboot: { type: 'hard' },
    });
    assert.equal(hard.statusCode, 202);
    assert.equal((await getInstance(h.database.db, stopped.uuid)).task_state, 'rebooting_hard');
    assert.deepEqual(h.transport.casts[0]!.args['reboot_type'], 'HARD');

    const active = await seedServer(h);
    assert.equal(
      (await client(h.app, 'alice').post(`/v2.1/servers/${active.uuid}/action`, { reboot: { type: 'Soft' } }))
        .statusCode,
      202,
    );
    const shown = (await client(h.app, 'alice').get(`/v2.1/servers/${active.uuid}`)).json().server;
    assert.equal(shown.status, 'REBOOT');
  });

  it('refuses power actions on a server that never launched', async () => {
    const building = await seedServer(h, { host: null });
    const res = await client(h.app, 'alice').post(`/v2.1/servers/${building.uuid}/action`, { 'os-stop': null });
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Instance ${building.uuid} is not ready`);
  });

  it('pauses, unpauses, suspends and resumes only from the state each needs, casting to the host', async () => {
    const cases = [
      { action: 'pause', from: 'active', task: 'pausing', wrong: 'paused' },
      { action: 'unpause', from: 'paused', task: 'unpausing', wrong: 'active' },
      { action: 'suspend', from: 'active', task: 'suspending', wrong: 'suspended' },
      { action: 'resume', from: 'suspended', task: 'resuming', wrong: 'active' },
    ];
    for (const c of cases) {
      h.transport.casts.length = 0;
      const server = await seedServer(h, { state: { vm_state: c.from } });
      const url = `/v2.1/servers/${server.uuid}/action`;
      const res = await client(h.app, 'alice').post(url, { [c.action]: null });
      assert.equal(res.statusCode, 202, c.action);
      assert.equal((await getInstance(h.database.db, server.uuid)).task_state, c.task);
      assert.deepEqual(
        h.transport.casts.map((cast) => [cast.queue, cast.method]),
        [['compute.host1', `${c.action}_instance`]],
      );
      const recorded = (await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}/os-instance-actions`)).json()
        .instanceActions as { action: string }[];
      assert.deepEqual(
        recorded.map((a) => a.action),
        [c.action],
      );
      const other = await seedServer(h, { state: { vm_state: c.wrong } });
      const refused = await client(h.app, 'alice').post(`/v2.1/servers/${other.uuid}/action`, { [c.action]: null });
      assert.equal(refused.statusCode, 409, `${c.action} from ${c.wrong}`);
      assert.equal(
        fault(refused).message,
        `Cannot '${c.action}' instance ${other.uuid} while it is in vm_state ${c.wrong}`,
      );
    }
  });

  it('os-getConsoleOutput refuses a bad length (400) and a server on no host (409), asking nothing', async () => {
    const server = await seedServer(h);
    const url = `/v2.1/servers/${server.uuid}/action`;
    for (const body of [
      { 'os-getConsoleOutput': { length: -2 } },
      { 'os-getConsoleOutput': { length: 'ten' } },
      { 'os-getConsoleOutput': { lines: 3 } },
    ]) {
      const res = await client(h.app, 'alice').post(url, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
    const building = await seedServer(h, { host: null });
    const res = await client(h.app, 'alice').post(`/v2.1/servers/${building.uuid}/action`, {
      'os-getConsoleOutput': { length: 5 },
    });
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Instance ${building.uuid} is not ready`);
    assert.deepEqual(h.transport.casts, []);
  });

  it('withdraws the task when the cast is refused, so the server is not stuck', async () => {
    const server = await seedServer(h);
    h.transport.refuse = new Error('compute.host1 is gone');
    const res = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, { 'os-stop': null });
    assert.equal(res.statusCode, 503);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);
  });

  it('refuses unknown actions, malformed bodies and bad arguments with 400', async () => {
    const server = await seedServer(h);
    const url = `/v2.1/servers/${server.uuid}/action`;
    const unknown = await client(h.app, 'alice').post(url, { hibernate: null });
    assert.equal(unknown.statusCode, 400);
    assert.equal(fault(unknown).message, 'There is no such action: hibernate');
    const two = await client(h.app, 'alice').post(url, { 'os-stop': null, 'os-start': null });
    assert.equal(two.statusCode, 400);
    assert.equal(fault(two).message, 'Malformed request body');
    const badType = await client(h.app, 'alice').post(url, { reboot: { type: 'GENTLE' } });
    assert.equal(badType.statusCode, 400);
    const missing = await client(h.app, 'alice').post(url, { reboot: {} });
    assert.equal(missing.statusCode, 400);
    assert.equal(h.transport.casts.length, 0);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);
  });

  it('takes the names of JavaScript built-ins for unknown actions, not for code', async () => {
    const server = await seedServer(h);
    const url = `/v2.1/servers/${server.uuid}/action`;
    for (const name of ['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__']) {
      // JSON.parse makes `__proto__` an own key, as a client's body would; an object literal would not.
      const res = await client(h.app, 'alice').post(url, JSON.parse(`{"${name}": null}`) as object);
      assert.equal(res.statusCode, 400, name);
      assert.equal(fault(res).message, `There is no such action: ${name}`);
    }
    assert.equal(h.transport.casts.length, 0);
  });

  it("answers 404 for another project's server", async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'bob').post(`/v2.1/servers/${server.uuid}/action`, { 'os-stop': null });
    assert.equal(res.statusCode, 404);
  });
});

describe('os-instance-actions', () => {
  it('shows one action with its events to admins, without them to members before 2.51', async () => {
    const server = await seedServer(h);
    const stop = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, { 'os-stop': null });
    const requestId = String(stop.headers['x-openstack-request-id']);
    const member = await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}/os-instance-actions/${requestId}`);
    assert.equal(member.statusCode, 200);
    const action = member.json().instanceAction;
    assert.equal(action.action, 'stop');
    assert.equal(action.request_id, requestId);
    assert.equal(action.user_id, 'alice');
    assert.equal('events' in action, false);
    const newer = (
      await client(h.app, 'alice', '2.51').get(`/v2.1/servers/${server.uuid}/os-instance-actions/${requestId}`)
    ).json();
    assert.deepEqual(newer.instanceAction.events, []);
    const admin = (
      await client(h.app, 'admin').get(`/v2.1/servers/${server.uuid}/os-instance-actions/${requestId}`)
    ).json();
    assert.deepEqual(admin.instanceAction.events, []);
    const missing = await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}/os-instance-actions/req-nope`);
    assert.equal(missing.statusCode, 404);
    assert.equal(fault(missing).message, 'Action req-nope not found');
  });

  it('pages actions from 2.58 and keeps those of deleted servers readable from 2.21', async () => {
    const server = await seedServer(h);
    await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, { 'os-stop': null });
    await client(h.app, 'alice').delete(`/v2.1/servers/${server.uuid}`);
    await markInstanceDeleted(h.database.db, server.uuid); // as compute reports once the guest is gone
    const old = await client(h.app, 'alice', '2.20').get(`/v2.1/servers/${server.uuid}/os-instance-actions`);
    assert.equal(old.statusCode, 404);
    const all = (await client(h.app, 'alice', '2.21').get(`/v2.1/servers/${server.uuid}/os-instance-actions`)).json();
    assert.deepEqual(
      all.instanceActions.map((a: { action: string }) => a.action),
      ['delete', 'stop'],
    );
    const page = (
      await client(h.app, 'alice', '2.58').get(`/v2.1/servers/${server.uuid}/os-instance-actions?limit=1`)
    ).json();
    assert.equal(page.instanceActions.length, 1);
    assert.equal(page.instanceActions[0].action, 'delete');
    assert.ok('updated_at' in page.instanceActions[0]);
    assert.match(page.links[0].href, /marker=req-/);
  });
});
