/**
 * The shelve, shelveOffload and unshelve server actions at the API: the image shelve creates, the task
 * each sets and the cast it makes, the instance actions, and the refusals (state, lock, policy, the
 * 2.77/2.91 body, zone and host checks, quota) that change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { listActions } from '../../../src/objects/instance-actions.ts';
import { getInstance, type Instance } from '../../../src/objects/instances.ts';
import { getRequestSpec, saveRequestSpec } from '../../../src/objects/request-specs.ts';
import { testSpec } from '../../helpers/request-spec.ts';
import {
  client,
  fault,
  forgetRecorded,
  PROJECT_A,
  PROJECT_B,
  seedServer,
  startApiWithHost,
  startComputeApi,
  type Harness,
} from './helpers.ts';

const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;

let h: Harness;

before(async () => (h = await startApiWithHost('host1')));
after(() => h.close());
beforeEach(() => forgetRecorded(h));

/** A server in `vm_state`, with the request spec the API records at create. */
async function server(state: Record<string, unknown> = {}, host: string | null = 'host1'): Promise<Instance> {
  const seeded = await seedServer(h, { name: 'web', host, state });
  await saveRequestSpec(h.database.db, seeded.uuid, testSpec());
  return seeded;
}

const offloaded = () =>
  server(
    { vm_state: 'shelved_offloaded', task_state: null, power_state: 4, launched_at: new Date().toISOString() },
    null,
  );

async function actionsOf(uuid: string): Promise<string[]> {
  return (await listActions(h.database.db, uuid)).map((a) => a.action);
}

describe('POST /servers/{id}/action shelve', () => {
  it('creates the <name>-shelved image, sets task shelving and casts shelve_instance to the host', async () => {
    const vm = await server();
    const res = await client(h.app, 'alice').post(action(vm.uuid), { shelve: null });
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '');
    const [imageId, image] = [...h.images.snapshots.entries()][0]!;
    assert.equal(image.name, 'web-shelved');
    assert.equal(image.properties['image_type'], 'snapshot');
    assert.equal((await getInstance(h.database.db, vm.uuid)).task_state, 'shelving');
    assert.deepEqual(
      h.transport.casts.map((c) => [c.queue, c.method, c.args['image_id']]),
      [['compute.host1', 'shelve_instance', imageId]],
    );
    assert.deepEqual(await actionsOf(vm.uuid), ['shelve']);
  });

  it('shelves SHUTOFF, PAUSED and SUSPENDED servers too', async () => {
    for (const vm_state of ['stopped', 'paused', 'suspended']) {
      const vm = await server({ vm_state });
      const res = await client(h.app, 'alice').post(action(vm.uuid), { shelve: {} });
      assert.equal(res.statusCode, 202, vm_state);
    }
    assert.equal(h.transport.casts.length, 3);
  });

  it('refuses (409) a locked server, one in the wrong state or with a task, creating no image', async () => {
    const cases: [Record<string, unknown>, (u: string) => string][] = [
      [{ vm_state: 'error' }, (u) => `Cannot 'shelve' instance ${u} while it is in vm_state error`],
      [{ vm_state: 'shelved' }, (u) => `Cannot 'shelve' instance ${u} while it is in vm_state shelved`],
      [{ task_state: 'rebooting' }, (u) => `Cannot 'shelve' instance ${u} while it is in task_state rebooting`],
      [{ locked: 1, locked_by: 'owner' }, (u) => `Instance ${u} is locked`],
    ];
    for (const [state, message] of cases) {
      const vm = await server(state);
      const res = await client(h.app, 'alice').post(action(vm.uuid), { shelve: null });
      assert.equal(res.statusCode, 409);
      assert.equal(fault(res).message, message(vm.uuid));
    }
    assert.equal(h.images.snapshots.size, 0);
    assert.deepEqual(h.transport.casts, []);
  });

  it('deletes the image and withdraws the task when the host cannot be reached', async () => {
    const vm = await server();
    h.transport.refuse = new Error('broker gone');
    const res = await client(h.app, 'alice').post(action(vm.uuid), { shelve: null });
    assert.equal(res.statusCode, 503);
    assert.equal(h.images.deleted.length, 1);
    assert.equal((await getInstance(h.database.db, vm.uuid)).task_state, null);
  });

  it('refuses a body with other keys (400)', async () => {
    const vm = await server();
    const res = await client(h.app, 'alice').post(action(vm.uuid), { shelve: null, extra: 1 });
    assert.equal(res.statusCode, 400);
  });
});

describe('POST /servers/{id}/action shelveOffload', () => {
  it('is for admins (Nova policy), from SHELVED: task shelving_offloading and a cast to the host', async () => {
    const vm = await server({ vm_state: 'shelved', power_state: 4 });
    const denied = await client(h.app, 'alice').post(action(vm.uuid), { shelveOffload: null });
    assert.equal(denied.statusCode, 403);
    assert.equal(
      fault(denied).message,
      "Policy doesn't allow os_compute_api:os-shelve:shelve_offload to be performed.",
    );
    const res = await client(h.app, 'admin').post(action(vm.uuid), { shelveOffload: null });
    assert.equal(res.statusCode, 202);
    assert.equal((await getInstance(h.database.db, vm.uuid)).task_state, 'shelving_offloading');
    assert.deepEqual(
      h.transport.casts.map((c) => [c.queue, c.method]),
      [['compute.host1', 'shelve_offload_instance']],
    );
    assert.deepEqual(await actionsOf(vm.uuid), ['shelveOffload']);
  });

  it('refuses (409) a server that is not SHELVED', async () => {
    const vm = await server();
    const res = await client(h.app, 'admin').post(action(vm.uuid), { shelveOffload: null });
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Cannot 'shelveOffload' instance ${vm.uuid} while it is in vm_state active`);
  });
});

describe('POST /servers/{id}/action unshelve', () => {
  it('sets task unshelving and casts unshelve_instance to the conductor, offloaded (no host) or not', async () => {
    for (const vm of [await offloaded(), await server({ vm_state: 'shelved', power_state: 4 })]) {
      h.transport.casts.length = 0;
      const res = await client(h.app, 'alice').post(action(vm.uuid), { unshelve: null });
      assert.equal(res.statusCode, 202);
      assert.equal((await getInstance(h.database.db, vm.uuid)).task_state, 'unshelving');
      assert.deepEqual(
        h.transport.casts.map((c) => [c.queue, c.method, c.args]),
        [['conductor', 'unshelve_instance', { uuid: vm.uuid }]],
      );
      assert.deepEqual(await actionsOf(vm.uuid), ['unshelve']);
    }
  });

  it('refuses (409) a server that is not shelved', async () => {
    const vm = await server();
    const res = await client(h.app, 'alice').post(action(vm.uuid), { unshelve: null });
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Cannot 'unshelve' instance ${vm.uuid} while it is in vm_state active`);
  });

  it('2.77: records the zone asked for an offloaded server; refuses it for a SHELVED one or an unknown zone', async () => {
    const vm = await offloaded();
    const unknown = await client(h.app, 'alice', '2.77').post(action(vm.uuid), {
      unshelve: { availability_zone: 'nowhere' },
    });
    assert.equal(unknown.statusCode, 400);
    assert.equal(fault(unknown).message, 'The requested availability zone is not available');
    const res = await client(h.app, 'alice', '2.77').post(action(vm.uuid), { unshelve: { availability_zone: 'nova' } });
    assert.equal(res.statusCode, 202);
    assert.equal((await getRequestSpec(h.database.db, vm.uuid)).availability_zone, 'nova');

    const shelved = await server({ vm_state: 'shelved', power_state: 4 });
    const refused = await client(h.app, 'alice', '2.77').post(action(shelved.uuid), {
      unshelve: { availability_zone: 'nova' },
    });
    assert.equal(refused.statusCode, 409);
    assert.equal(
      fault(refused).message,
      `Specifying an availability zone or a host when unshelving server "${shelved.uuid}" with status "shelved" ` +
        'is not supported. The server status must be SHELVED_OFFLOADED.',
    );
  });

  it('checks the body per microversion: {} is refused at 2.77, accepted at 2.91; a host before 2.91 is refused', async () => {
    const vm = await offloaded();
    const empty277 = await client(h.app, 'alice', '2.77').post(action(vm.uuid), { unshelve: {} });
    assert.equal(empty277.statusCode, 400);
    const host290 = await client(h.app, 'admin', '2.90').post(action(vm.uuid), { unshelve: { host: 'host1' } });
    assert.equal(host290.statusCode, 400);
    const empty291 = await client(h.app, 'alice', '2.91').post(action(vm.uuid), { unshelve: {} });
    assert.equal(empty291.statusCode, 202);
  });

  it('2.91: a host is for admins, must exist and be in the zone; it rides in the cast', async () => {
    const vm = await offloaded();
    const denied = await client(h.app, 'alice', '2.91').post(action(vm.uuid), { unshelve: { host: 'host1' } });
    assert.equal(denied.statusCode, 403);
    const missing = await client(h.app, 'admin', '2.91').post(action(vm.uuid), { unshelve: { host: 'nohost' } });
    assert.equal(missing.statusCode, 400);
    assert.equal(fault(missing).message, 'Compute host nohost could not be found.');
    await saveRequestSpec(h.database.db, vm.uuid, testSpec({}, { availability_zone: 'elsewhere' }));
    const wrongZone = await client(h.app, 'admin', '2.91').post(action(vm.uuid), { unshelve: { host: 'host1' } });
    assert.equal(wrongZone.statusCode, 409);
    assert.equal(fault(wrongZone).message, 'Host "host1" is not in the availability zone "elsewhere".');
    // A null zone unpins the server, so any host will do.
    const res = await client(h.app, 'admin', '2.91').post(action(vm.uuid), {
      unshelve: { host: 'host1', availability_zone: null },
    });
    assert.equal(res.statusCode, 202);
    assert.equal((await getRequestSpec(h.database.db, vm.uuid)).availability_zone, null);
    assert.deepEqual(h.transport.casts.at(-1)?.args, { uuid: vm.uuid, host: 'host1' });
    assert.equal(h.transport.casts.length, 1);
  });
});

describe('quota usage of an offloaded server', () => {
  it("counts its instance, cores and ram (Nova's counting from the database)", async () => {
    const before = (await client(h.app, 'bob').get('/v2.1/limits')).json().limits.absolute;
    await seedServer(h, {
      project: PROJECT_B,
      user: 'bob',
      host: null,
      state: { vm_state: 'shelved_offloaded', task_state: null, power_state: 4 },
    });
    const after = (await client(h.app, 'bob').get('/v2.1/limits')).json().limits.absolute;
    assert.equal(after.totalInstancesUsed, before.totalInstancesUsed + 1);
    assert.equal(after.totalCoresUsed, before.totalCoresUsed + 1);
    assert.equal(after.totalRAMUsed, before.totalRAMUsed + 512);
  });
});

describe('unshelve quota (cores and ram counted from placement)', () => {
  let q: Harness;
  before(async () => {
    q = await startComputeApi({ quota: { count_usage_from_placement: 'true', cores: '0' } });
  });
  after(() => q.close());

  it("refuses (403) an offloaded server's unshelve that would go over the cores quota, changing nothing", async () => {
    const vm = await seedServer(q, {
      host: null,
      state: { vm_state: 'shelved_offloaded', task_state: null, power_state: 4, launched_at: new Date().toISOString() },
    });
    await saveRequestSpec(q.database.db, vm.uuid, testSpec());
    const res = await client(q.app, 'alice').post(action(vm.uuid), { unshelve: null });
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, "Quota exceeded for resources: ['cores']");
    assert.equal((await getInstance(q.database.db, vm.uuid)).task_state, null);
    assert.deepEqual(q.transport.casts, []);
  });
});

describe('DELETE of a shelved server', () => {
  it('deletes its shelved image with it, as Nova', async () => {
    const image = h.images.add({ owner: PROJECT_A });
    const vm = await offloaded();
    await h.database.db
      .updateTable('instances')
      .set({ shelved_image_id: image.id })
      .where('uuid', '=', vm.uuid)
      .execute();
    const res = await client(h.app, 'alice').delete(`/v2.1/servers/${vm.uuid}`);
    assert.equal(res.statusCode, 204);
    assert.deepEqual(h.images.deleted, [image.id]);
  });
});
