/**
 * Config drives at the API: `config_drive` at create, `[DEFAULT] force_config_drive` and the image's
 * img_config_drive=mandatory decide it (Nova's required_by), the server body shows it as Nova's does, and
 * a rebuild casts what the rebuilt guest's drive holds (the new admin password with it).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { getInstance } from '../../../src/objects/instances.ts';
import { configDriveMetadata } from '../../../src/api/metadata/config-drive-metadata.ts';
import { configDriveFiles } from '../../../src/guest-metadata/index.ts';
import type { InstanceMetadata } from '../../../src/wire/messages/instance-metadata.ts';
import { insertRequestSpec } from '../../../src/objects/request-specs.ts';
import { testSpec } from '../../helpers/request-spec.ts';
import { client, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi();
});
after(() => h.close());
beforeEach(() => {
  h.transport.casts.length = 0;
});

async function create(server: Record<string, unknown>, harness = h): Promise<string> {
  const res = await client(harness.app, 'alice').post('/v2.1/servers', {
    server: { name: 'cd', imageRef: harness.cirros.id, flavorRef: '1', ...server },
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().server.id as string;
}

async function shown(id: string, harness = h): Promise<unknown> {
  return (await client(harness.app, 'alice').get(`/v2.1/servers/${id}`)).json().server.config_drive;
}

describe('config_drive', () => {
  it('is recorded and shown as Nova shows it: "True" when asked for, "" otherwise', async () => {
    for (const [asked, expected] of [
      [true, 'True'],
      ['true', 'True'],
      [false, ''],
      [undefined, ''],
    ] as const) {
      const id = await create(asked === undefined ? {} : { config_drive: asked });
      assert.equal((await getInstance(h.database.db, id)).config_drive, expected, String(asked));
      assert.equal(await shown(id), expected);
    }
    const bad = await client(h.app, 'alice').post('/v2.1/servers', {
      server: { name: 'cd', imageRef: h.cirros.id, flavorRef: '1', config_drive: 'maybe' },
    });
    assert.equal(bad.statusCode, 400);
  });

  it('is given when the image makes it mandatory, whatever the request said', async () => {
    const image = h.images.add({ min_ram: 64, properties: { img_config_drive: 'mandatory' } });
    const id = await create({ imageRef: image.id, config_drive: false });
    assert.equal(await shown(id), 'True');
  });

  it('is given to every server with [DEFAULT] force_config_drive', async () => {
    const forced = await startComputeApi({ DEFAULT: { force_config_drive: 'true' } });
    try {
      assert.equal(await shown(await create({}, forced), forced), 'True');
    } finally {
      await forced.close();
    }
  });

  it("holds the metadata service's payload and the admin password, only for a server that has one", async () => {
    const id = await create({ config_drive: true, adminPass: 'open-sesame', metadata: { role: 'web' } });
    const payload = await configDriveMetadata(h.database.db, h.config, id);
    assert.equal(payload?.uuid, id);
    assert.equal(payload?.admin_pass, 'open-sesame');
    assert.deepEqual(payload?.meta, { role: 'web' });
    assert.equal(await configDriveMetadata(h.database.db, h.config, await create({})), null);
  });

  it('is written afresh by a rebuild, with the new admin password; none for a server without', async () => {
    const server = await seedServer(h);
    await insertRequestSpec(h.database.db, server.uuid, testSpec());
    await h.database.db
      .updateTable('instances')
      .set({ config_drive: 'True' })
      .where('uuid', '=', server.uuid)
      .execute();
    const res = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, {
      rebuild: { imageRef: h.cirros.id, adminPass: 'n3w-pass' },
    });
    assert.equal(res.statusCode, 202, res.body);
    const plain = await seedServer(h);
    await insertRequestSpec(h.database.db, plain.uuid, testSpec());
    const again = await client(h.app, 'alice').post(`/v2.1/servers/${plain.uuid}/action`, {
      rebuild: { imageRef: h.cirros.id },
    });
    assert.equal(again.statusCode, 202, again.body);
    const casts = h.transport.casts.filter((c) => c.method === 'rebuild_instance');
    const drive = casts[0]?.args['config_drive'] as { uuid: string; admin_pass: string } | undefined;
    assert.equal(drive?.uuid, server.uuid);
    assert.equal(drive?.admin_pass, 'n3w-pass');
    assert.ok(!('config_drive' in casts[1]!.args));
  });

  it('is given by a rebuild onto an image that makes it mandatory, and kept by one onto any other', async () => {
    const server = await seedServer(h);
    await insertRequestSpec(h.database.db, server.uuid, testSpec());
    const mandatory = h.images.add({ min_ram: 64, properties: { img_config_drive: 'mandatory' } });
    const rebuild = async (imageRef: string) => {
      h.transport.casts.length = 0;
      const res = await client(h.app, 'alice').post(`/v2.1/servers/${server.uuid}/action`, { rebuild: { imageRef } });
      assert.equal(res.statusCode, 202, res.body);
      await h.database.db.updateTable('instances').set({ task_state: null }).where('uuid', '=', server.uuid).execute();
      return h.transport.casts.find((c) => c.method === 'rebuild_instance')!.args;
    };
    const first = await rebuild(mandatory.id);
    assert.equal((await getInstance(h.database.db, server.uuid)).config_drive, 'True');
    assert.equal(await shown(server.uuid), 'True');
    assert.equal((first['config_drive'] as { uuid: string } | undefined)?.uuid, server.uuid);
    // Back onto an image that does not ask for one: the server keeps its drive, written afresh.
    const second = await rebuild(h.cirros.id);
    assert.equal(await shown(server.uuid), 'True');
    assert.ok('config_drive' in second);
  });

  it("carries a rebuild's new key (2.54) and metadata, as the metadata service then serves them", async () => {
    const c = client(h.app, 'alice', '2.54');
    const created = await c.post('/v2.1/os-keypairs', { keypair: { name: 'rebuild-key' } });
    assert.equal(created.statusCode, 201, created.body);
    const publicKey = created.json().keypair.public_key as string;
    const server = await seedServer(h);
    await insertRequestSpec(h.database.db, server.uuid, testSpec());
    await h.database.db
      .updateTable('instances')
      .set({ config_drive: 'True' })
      .where('uuid', '=', server.uuid)
      .execute();
    const res = await c.post(`/v2.1/servers/${server.uuid}/action`, {
      rebuild: { imageRef: h.cirros.id, key_name: 'rebuild-key', metadata: { role: 'db' } },
    });
    assert.equal(res.statusCode, 202, res.body);
    const cast = h.transport.casts.find((x) => x.method === 'rebuild_instance')!;
    const metaData = (payload: InstanceMetadata) =>
      JSON.parse(configDriveFiles(payload).get('openstack/latest/meta_data.json')!.toString()) as {
        public_keys: Record<string, string>;
        meta: Record<string, string>;
      };
    // What cloud-init reads from the rebuilt guest's drive: the new key, the new metadata.
    const drive = metaData(cast.args['config_drive'] as InstanceMetadata);
    assert.deepEqual(drive.public_keys, { 'rebuild-key': publicKey });
    assert.deepEqual(drive.meta, { role: 'db' });
    // The metadata service reads the same record: it serves what the drive holds.
    const served = metaData((await configDriveMetadata(h.database.db, h.config, server.uuid))!);
    assert.deepEqual([served.public_keys, served.meta], [drive.public_keys, drive.meta]);
  });
});
