/**
 * Config drives at the API: `config_drive` at create, `[DEFAULT] force_config_drive` and the image's
 * img_config_drive=mandatory decide it (Nova's required_by), the server body shows it as Nova's does, and
 * a rebuild casts what the rebuilt guest's drive holds (the new admin password with it).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { getInstance } from '../../../src/objects/instances.ts';
import { configDriveMetadata } from '../../../src/api/metadata/config-drive-metadata.ts';
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
});
