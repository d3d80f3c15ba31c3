/**
 * The rescue, unrescue and trigger_crash_dump actions: the states Nova accepts, the task each sets, the
 * cast and the instance action; the rescue password and image; locks (admins pass), microversion 2.17,
 * bad bodies, and refusals that change nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { getInstance, updateInstance, type Instance } from '../../../src/objects/instances.ts';
import { PowerState, TaskState, VmState } from '../../../src/wire/messages/instance-states.ts';
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

async function actionsOf(server: Instance): Promise<string[]> {
  const res = await client(h.app, 'admin').get(`/v2.1/servers/${server.uuid}/os-instance-actions`);
  return (res.json().instanceActions as { action: string }[]).map((a) => a.action);
}

async function states(server: Instance) {
  const row = await getInstance(h.database.db, server.uuid);
  return { vm_state: row.vm_state, task_state: row.task_state };
}

/** Asserts a refusal: its status and message, and that nothing was cast or recorded. */
async function assertRefused(
  res: Awaited<ReturnType<ReturnType<typeof client>['post']>>,
  server: Instance,
  status: number,
  message?: string | RegExp,
) {
  assert.equal(res.statusCode, status, res.body);
  if (typeof message === 'string') assert.equal(fault(res).message, message);
  else if (message) assert.match(fault(res).message, message);
  assert.equal(h.transport.casts.length, 0);
  assert.deepEqual(await actionsOf(server), []);
}

describe('rescue', () => {
  it('rescues an ACTIVE server: 200 with a generated adminPass, task rescuing, cast and action', async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'alice').post(action(server.uuid), { rescue: null });
    assert.equal(res.statusCode, 200);
    const { adminPass } = res.json() as { adminPass: string };
    assert.equal(adminPass.length, h.config.DEFAULT.password_length);
    assert.deepEqual(await states(server), { vm_state: VmState.ACTIVE, task_state: TaskState.RESCUING });
    assert.equal(h.transport.casts.length, 1);
    const cast = h.transport.casts[0]!;
    assert.equal(cast.queue, 'compute.host1');
    assert.equal(cast.method, 'rescue_instance');
    assert.equal(cast.args['rescue_password'], adminPass);
    assert.equal(cast.args['rescue_image_ref'], null);
    assert.deepEqual(await actionsOf(server), ['rescue']);
    const shown = (await client(h.app, 'alice', '2.96').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal(shown['OS-EXT-STS:task_state'], 'rescuing');
  });

  it('passes the given password and rescue image; SHUTOFF and ERROR servers may be rescued', async () => {
    const image = h.images.add({});
    for (const vmState of [VmState.STOPPED, VmState.ERROR]) {
      h.transport.casts.length = 0;
      const server = await seedServer(h, { state: { vm_state: vmState } });
      const res = await client(h.app, 'alice').post(action(server.uuid), {
        rescue: { adminPass: 'MySecret1', rescue_image_ref: image.id },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { adminPass: 'MySecret1' });
      assert.equal(h.transport.casts[0]!.args['rescue_image_ref'], image.id);
      assert.equal(h.transport.casts[0]!.args['rescue_password'], 'MySecret1');
      assert.deepEqual(await states(server), { vm_state: vmState, task_state: TaskState.RESCUING });
    }
  });

  it('refuses an unknown rescue image with 400, changing nothing', async () => {
    const server = await seedServer(h);
    const ref = randomUUID();
    const res = await client(h.app, 'alice').post(action(server.uuid), { rescue: { rescue_image_ref: ref } });
    await assertRefused(res, server, 400, `Requested rescue image '${ref}' is not supported`);
    assert.deepEqual(await states(server), { vm_state: VmState.ACTIVE, task_state: null });
  });

  it('refuses bad bodies with 400', async () => {
    const server = await seedServer(h);
    for (const body of [
      { rescue: { rescue_image_ref: 'not-a-uuid' } },
      { rescue: { extra: 1 } },
      { rescue: { adminPass: 5 } },
      { rescue: null, other: 1 },
    ]) {
      await assertRefused(await client(h.app, 'alice').post(action(server.uuid), body), server, 400);
    }
  });

  it("refuses PAUSED, SUSPENDED, RESCUE and a server with a task, with Nova's 409", async () => {
    for (const [state, attr, value] of [
      [{ vm_state: VmState.PAUSED }, 'vm_state', 'paused'],
      [{ vm_state: VmState.SUSPENDED }, 'vm_state', 'suspended'],
      [{ vm_state: VmState.RESCUED }, 'vm_state', 'rescued'],
      [{ task_state: TaskState.REBOOTING }, 'task_state', 'rebooting'],
    ] as const) {
      const server = await seedServer(h, { state });
      const res = await client(h.app, 'alice').post(action(server.uuid), { rescue: null });
      await assertRefused(res, server, 409, `Cannot 'rescue' instance ${server.uuid} while it is in ${attr} ${value}`);
    }
  });

  it('refuses the owner of a locked server; an admin passes', async () => {
    const server = await seedServer(h);
    await updateInstance(h.database.db, server.uuid, { locked: 1, locked_by: 'owner' });
    const refused = await client(h.app, 'alice').post(action(server.uuid), { rescue: null });
    await assertRefused(refused, server, 409, /is locked/);
    const res = await client(h.app, 'admin').post(action(server.uuid), { rescue: null });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await states(server), { vm_state: VmState.ACTIVE, task_state: TaskState.RESCUING });
  });

  it("is 404 for another project's server", async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'bob').post(action(server.uuid), { rescue: null });
    await assertRefused(res, server, 404);
  });
});

describe('rescue without instance passwords', () => {
  let quiet: Harness;
  before(async () => {
    quiet = await startComputeApi({ api: { enable_instance_password: 'false' } });
    await addComputeHost(quiet, 'host1');
  });
  after(async () => {
    await quiet.close();
  });

  it('answers {} and still sends the password to the compute host', async () => {
    const server = await seedServer(quiet);
    const res = await client(quiet.app, 'alice').post(action(server.uuid), { rescue: { adminPass: 'hidden1' } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {});
    assert.equal(quiet.transport.casts[0]!.args['rescue_password'], 'hidden1');
  });
});

describe('unrescue', () => {
  it('unrescues a RESCUE server: 202, task unrescuing, cast and action', async () => {
    const server = await seedServer(h, { state: { vm_state: VmState.RESCUED } });
    const shown = (await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}`)).json().server;
    assert.equal(shown.status, 'RESCUE');
    const res = await client(h.app, 'alice').post(action(server.uuid), { unrescue: null });
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '');
    assert.deepEqual(await states(server), { vm_state: VmState.RESCUED, task_state: TaskState.UNRESCUING });
    assert.deepEqual(
      h.transport.casts.map((c) => [c.queue, c.method]),
      [['compute.host1', 'unrescue_instance']],
    );
    assert.deepEqual(await actionsOf(server), ['unrescue']);
  });

  it('refuses a server that is not rescued, and a locked one for its owner', async () => {
    const active = await seedServer(h);
    const res = await client(h.app, 'alice').post(action(active.uuid), { unrescue: null });
    await assertRefused(res, active, 409, `Cannot 'unrescue' instance ${active.uuid} while it is in vm_state active`);
    const locked = await seedServer(h, { state: { vm_state: VmState.RESCUED, locked: 1, locked_by: 'owner' } });
    await assertRefused(await client(h.app, 'alice').post(action(locked.uuid), { unrescue: null }), locked, 409);
  });
});

describe('trigger_crash_dump', () => {
  it('from 2.17: 202, a cast, the action recorded, and no task', async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'alice', '2.17').post(action(server.uuid), { trigger_crash_dump: null });
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '');
    assert.deepEqual(
      h.transport.casts.map((c) => [c.queue, c.method]),
      [['compute.host1', 'trigger_crash_dump']],
    );
    assert.deepEqual(await actionsOf(server), ['trigger_crash_dump']);
    assert.deepEqual(await states(server), { vm_state: VmState.ACTIVE, task_state: null });
  });

  it('accepts PAUSED, RESCUE and ERROR servers', async () => {
    for (const vmState of [VmState.PAUSED, VmState.RESCUED, VmState.ERROR]) {
      const server = await seedServer(h, { state: { vm_state: vmState, power_state: PowerState.PAUSED } });
      const res = await client(h.app, 'alice', '2.17').post(action(server.uuid), { trigger_crash_dump: null });
      assert.equal(res.statusCode, 202, `${vmState}: ${res.body}`);
    }
  });

  it('does not exist before 2.17 (404)', async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'alice', '2.16').post(action(server.uuid), { trigger_crash_dump: null });
    await assertRefused(res, server, 404);
  });

  it('refuses SHUTOFF, a task, no host, a locked server, and a body other than null', async () => {
    const stopped = await seedServer(h, { state: { vm_state: VmState.STOPPED } });
    const post = (s: Instance, body: unknown = { trigger_crash_dump: null }) =>
      client(h.app, 'alice', '2.17').post(action(s.uuid), body);
    await assertRefused(
      await post(stopped),
      stopped,
      409,
      `Cannot 'trigger_crash_dump' instance ${stopped.uuid} while it is in vm_state stopped`,
    );
    const busy = await seedServer(h, { state: { task_state: TaskState.PAUSING } });
    await assertRefused(await post(busy), busy, 409);
    const unplaced = await seedServer(h, { host: null });
    await assertRefused(await post(unplaced), unplaced, 409, `Instance ${unplaced.uuid} is not ready`);
    const locked = await seedServer(h, { state: { locked: 1, locked_by: 'owner' } });
    await assertRefused(await post(locked), locked, 409, /is locked/);
    const active = await seedServer(h);
    await assertRefused(await post(active, { trigger_crash_dump: {} }), active, 400);
  });
});
