/** The createImage server action: body, states, the image record it creates, 409s and the 2.45 answer. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { getInstance } from '../../../src/objects/instances.ts';
import { client, countRows, fault, forgetRecorded, seedServer, startApiWithHost, type Harness } from './helpers.ts';

let h: Harness;

before(async () => (h = await startApiWithHost('host1')));
after(() => h.close());
beforeEach(() => forgetRecorded(h));

const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;

describe('POST /servers/{id}/action createImage', () => {
  it('creates the snapshot image from the base image, claims the server and casts to its host (2.45+)', async () => {
    const base = h.images.add({
      min_ram: 64,
      min_disk: 0,
      disk_format: 'ami',
      container_format: 'ami',
      properties: { kernel_id: 'k1', ramdisk_id: 'r1', os_command_line: 'console=ttyS0', img_signature: 'sig' },
    });
    const server = await seedServer(h);
    await h.database.db.updateTable('instances').set({ image_ref: base.id }).where('uuid', '=', server.uuid).execute();
    const res = await client(h.app, 'alice', '2.45').post(action(server.uuid), {
      createImage: { name: 'snap1', metadata: { purpose: 'backup' } },
    });
    assert.equal(res.statusCode, 202);
    assert.equal(res.headers['location'], undefined);
    const { image_id: imageId } = res.json() as { image_id: string };
    const image = h.images.snapshots.get(imageId);
    assert.ok(image, 'the image record exists');
    assert.deepEqual(image, {
      name: 'snap1',
      owner: server.project_id,
      diskFormat: 'ami',
      containerFormat: 'ami',
      minRam: 64,
      minDisk: 1,
      properties: {
        kernel_id: 'k1',
        ramdisk_id: 'r1',
        os_command_line: 'console=ttyS0',
        image_type: 'snapshot',
        instance_uuid: server.uuid,
        user_id: server.user_id,
        base_image_ref: base.id,
        purpose: 'backup',
      },
    });
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, 'image_snapshot');
    assert.deepEqual(
      h.transport.casts.map((c) => [c.queue, c.method, c.args['image_id']]),
      [['compute.host1', 'snapshot_instance', imageId]],
    );
    const actions = (await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}/os-instance-actions`)).json()
      .instanceActions as { action: string }[];
    assert.deepEqual(
      actions.map((a) => a.action),
      ['createImage'],
    );
  });

  it('answers with a Location header and no body before 2.45', async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'alice', '2.44').post(action(server.uuid), { createImage: { name: 'old' } });
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '');
    const [imageId] = [...h.images.snapshots.keys()];
    assert.match(String(res.headers['location']), new RegExp(`^http://[^/]+:\\d+/images/${imageId}$`));
  });

  it('snapshots SHUTOFF, PAUSED and SUSPENDED servers too', async () => {
    for (const vmState of ['stopped', 'paused', 'suspended']) {
      const server = await seedServer(h, { state: { vm_state: vmState } });
      const res = await client(h.app, 'alice', '2.45').post(action(server.uuid), { createImage: { name: vmState } });
      assert.equal(res.statusCode, 202, vmState);
      assert.equal((await getInstance(h.database.db, server.uuid)).vm_state, vmState);
    }
    assert.equal(h.transport.casts.length, 3);
  });

  it('refuses (409) a server in another state, with a task or never launched, creating no image', async () => {
    const cases = [
      {
        state: { vm_state: 'error' },
        message: (u: string) => `Cannot 'createImage' instance ${u} while it is in vm_state error`,
      },
      {
        state: { task_state: 'powering-off' },
        message: (u: string) => `Cannot 'createImage' instance ${u} while it is in task_state powering-off`,
      },
    ];
    for (const c of cases) {
      const server = await seedServer(h, { state: c.state });
      const res = await client(h.app, 'alice').post(action(server.uuid), { createImage: { name: 'x' } });
      assert.equal(res.statusCode, 409);
      assert.equal(fault(res).message, c.message(server.uuid));
    }
    const building = await seedServer(h, { host: null });
    const notReady = await client(h.app, 'alice').post(action(building.uuid), { createImage: { name: 'x' } });
    assert.equal(notReady.statusCode, 409);
    assert.equal(fault(notReady).message, `Instance ${building.uuid} is not ready`);
    assert.equal(h.images.snapshots.size, 0);
    assert.deepEqual(h.transport.casts, []);
  });

  it("snapshots a locked server for its owner: Nova's lock guards against change, not copies", async () => {
    const locked = await seedServer(h, { state: { locked: 1 } });
    const res = await client(h.app, 'alice').post(action(locked.uuid), { createImage: { name: 'x' } });
    assert.equal(res.statusCode, 202);
    assert.equal(h.images.snapshots.size, 1);
  });

  it('refuses bad bodies with 400, changing nothing', async () => {
    const server = await seedServer(h);
    const before = await countRows(h, 'instance_actions');
    for (const body of [
      { createImage: {} },
      { createImage: { name: '' } },
      { createImage: { name: ' padded ' } },
      { createImage: { name: 'x', metadata: { k: 1 } } },
      { createImage: { name: 'x', metadata: 'no' } },
      { createImage: { name: 'x', extra: true } },
      { createImage: 'x' },
    ]) {
      const res = await client(h.app, 'alice').post(action(server.uuid), body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
    assert.equal(h.images.snapshots.size, 0);
    assert.equal(await countRows(h, 'instance_actions'), before);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);
  });

  it('deletes the image and withdraws the task when the cast is refused (503)', async () => {
    const server = await seedServer(h);
    h.transport.refuse = new Error('compute.host1 is gone');
    const res = await client(h.app, 'alice', '2.45').post(action(server.uuid), { createImage: { name: 'lost' } });
    assert.equal(res.statusCode, 503);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);
    assert.equal(h.images.snapshots.size, 0);
    assert.equal(h.images.deleted.length, 1);
  });

  it("answers 404 for another project's server", async () => {
    const server = await seedServer(h);
    const res = await client(h.app, 'bob').post(action(server.uuid), { createImage: { name: 'x' } });
    assert.equal(res.statusCode, 404);
    assert.equal(h.images.snapshots.size, 0);
  });
});
