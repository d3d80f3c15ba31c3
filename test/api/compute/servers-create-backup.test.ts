/** The createBackup server action: body, the backup image's properties, the cast, the answers by microversion. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { getInstance } from '../../../src/objects/instances.ts';
import { client, fault, forgetRecorded, seedServer, startApiWithHost, type Harness } from './helpers.ts';

let h: Harness;

before(async () => (h = await startApiWithHost('host1')));
after(() => h.close());
beforeEach(() => forgetRecorded(h));

const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;

describe('POST /servers/{id}/action createBackup', () => {
  it('creates a backup image, sets task image_backup and casts backup_instance with type and rotation', async () => {
    const vm = await seedServer(h);
    const res = await client(h.app, 'alice', '2.45').post(action(vm.uuid), {
      createBackup: { name: 'nightly', backup_type: 'daily', rotation: '2', metadata: { keep: 'yes' } },
    });
    assert.equal(res.statusCode, 202);
    const { image_id: imageId } = res.json() as { image_id: string };
    const image = h.images.snapshots.get(imageId)!;
    assert.equal(image.name, 'nightly');
    assert.equal(image.properties['image_type'], 'backup');
    assert.equal(image.properties['backup_type'], 'daily');
    assert.equal(image.properties['instance_uuid'], vm.uuid);
    assert.equal(image.properties['keep'], 'yes');
    assert.equal((await getInstance(h.database.db, vm.uuid)).task_state, 'image_backup');
    assert.deepEqual(
      h.transport.casts.map((c) => [c.queue, c.method, c.args['image_id'], c.args['backup_type'], c.args['rotation']]),
      [['compute.host1', 'backup_instance', imageId, 'daily', 2]],
    );
  });

  it('answers with a Location header before 2.45, none when the rotation is 0', async () => {
    const vm = await seedServer(h);
    const res = await client(h.app, 'alice').post(action(vm.uuid), {
      createBackup: { name: 'b', backup_type: 'weekly', rotation: 1 },
    });
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '');
    assert.match(String(res.headers['location']), /\/images\/[0-9a-f-]{36}$/);
    const other = await seedServer(h);
    const zero = await client(h.app, 'alice').post(action(other.uuid), {
      createBackup: { name: 'b', backup_type: 'weekly', rotation: 0 },
    });
    assert.equal(zero.statusCode, 202);
    assert.equal(zero.headers['location'], undefined);
  });

  it('refuses a bad body (400) and a server in the wrong state (409), creating no image', async () => {
    const vm = await seedServer(h);
    for (const body of [
      { createBackup: { name: 'b', backup_type: 'daily' } },
      { createBackup: { name: 'b', backup_type: 'daily', rotation: -1 } },
      { createBackup: { name: 'b', backup_type: 'daily', rotation: 'x' } },
      { createBackup: { name: 'b', backup_type: 'daily', rotation: 1, extra: 1 } },
    ]) {
      const res = await client(h.app, 'alice').post(action(vm.uuid), body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
    const errored = await seedServer(h, { state: { vm_state: 'error' } });
    const res = await client(h.app, 'alice').post(action(errored.uuid), {
      createBackup: { name: 'b', backup_type: 'daily', rotation: 1 },
    });
    assert.equal(res.statusCode, 409);
    assert.equal(fault(res).message, `Cannot 'createBackup' instance ${errored.uuid} while it is in vm_state error`);
    assert.equal(h.images.snapshots.size, 0);
    assert.deepEqual(h.transport.casts, []);
  });
});
