/**
 * OS-DCF:diskConfig stored per server (create, update, show; the image's auto_disk_config property as
 * the default and its "disabled" refusing AUTO) and the access addresses stored in canonical form.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canonicalIpv6 } from '../../../src/api/compute/servers/disk-config.ts';
import { getInstance } from '../../../src/objects/instances.ts';
import { addComputeHost, client, countRows, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'host1');
});
after(() => h.close());

const create = async (server: Record<string, unknown>) => {
  const res = await client(h.app, 'alice').post('/v2.1/servers', {
    server: { name: 'vm', imageRef: h.cirros.id, flavorRef: '1', ...server },
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().server as { id: string; 'OS-DCF:diskConfig': string };
};

describe('OS-DCF:diskConfig', () => {
  it('is stored at create and shown as given; MANUAL without one', async () => {
    const auto = await create({ 'OS-DCF:diskConfig': 'AUTO' });
    assert.equal(auto['OS-DCF:diskConfig'], 'AUTO');
    assert.equal((await getInstance(h.database.db, auto.id)).auto_disk_config, 1);
    const shown = (await client(h.app, 'alice').get(`/v2.1/servers/${auto.id}`)).json().server;
    assert.equal(shown['OS-DCF:diskConfig'], 'AUTO');
    const plain = await create({});
    assert.equal(plain['OS-DCF:diskConfig'], 'MANUAL');
    const listed = (await client(h.app, 'alice').get('/v2.1/servers/detail')).json().servers as Record<
      string,
      string
    >[];
    assert.equal(listed.find((s) => s['id'] === auto.id)!['OS-DCF:diskConfig'], 'AUTO');
    assert.equal(listed.find((s) => s['id'] === plain.id)!['OS-DCF:diskConfig'], 'MANUAL');
  });

  it("follows the image's auto_disk_config property; an image that disables it refuses AUTO", async () => {
    const growing = h.images.add({ properties: { auto_disk_config: 'True' } });
    const created = await create({ imageRef: growing.id });
    assert.equal(created['OS-DCF:diskConfig'], 'AUTO');
    assert.equal(
      (await create({ imageRef: growing.id, 'OS-DCF:diskConfig': 'MANUAL' }))['OS-DCF:diskConfig'],
      'MANUAL',
    );

    const fixed = h.images.add({ properties: { auto_disk_config: 'disabled' } });
    assert.equal((await create({ imageRef: fixed.id }))['OS-DCF:diskConfig'], 'MANUAL');
    const before = await countRows(h, 'instances');
    const refused = await client(h.app, 'alice').post('/v2.1/servers', {
      server: { name: 'vm', imageRef: fixed.id, flavorRef: '1', 'OS-DCF:diskConfig': 'AUTO' },
    });
    assert.equal(refused.statusCode, 400);
    assert.equal(fault(refused).message, `Requested image ${fixed.id} has automatic disk resize disabled.`);
    assert.equal(await countRows(h, 'instances'), before);
  });

  it('is changed by update, and anything but AUTO or MANUAL is a 400', async () => {
    const server = await seedServer(h);
    assert.equal(
      (await client(h.app, 'alice').get(`/v2.1/servers/${server.uuid}`)).json().server['OS-DCF:diskConfig'],
      'MANUAL',
    );
    const updated = await client(h.app, 'alice').put(`/v2.1/servers/${server.uuid}`, {
      server: { 'OS-DCF:diskConfig': 'AUTO' },
    });
    assert.equal(updated.statusCode, 200);
    assert.equal(updated.json().server['OS-DCF:diskConfig'], 'AUTO');
    assert.equal((await getInstance(h.database.db, server.uuid)).auto_disk_config, 1);
    const bad = await client(h.app, 'alice').put(`/v2.1/servers/${server.uuid}`, {
      server: { 'OS-DCF:diskConfig': 'auto' },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal((await getInstance(h.database.db, server.uuid)).auto_disk_config, 1);
  });
});

describe('access addresses', () => {
  it('are stored and shown in canonical form, at create and update', async () => {
    const created = await create({ accessIPv4: '192.0.2.5', accessIPv6: '2001:DB8:0:0:0:0:0:1' });
    const shown = (await client(h.app, 'alice').get(`/v2.1/servers/${created.id}`)).json().server;
    assert.equal(shown.accessIPv4, '192.0.2.5');
    assert.equal(shown.accessIPv6, '2001:db8::1');
    const updated = await client(h.app, 'alice').put(`/v2.1/servers/${created.id}`, {
      server: { accessIPv6: 'FE80:0000::0001' },
    });
    assert.equal(updated.json().server.accessIPv6, 'fe80::1');
    assert.equal(updated.json().server.accessIPv4, '192.0.2.5');
  });

  it('refuses what is no address of its family', async () => {
    const server = await seedServer(h);
    for (const body of [{ accessIPv4: '2001:db8::1' }, { accessIPv6: '192.0.2.1' }, { accessIPv4: '300.1.1.1' }]) {
      const res = await client(h.app, 'alice').put(`/v2.1/servers/${server.uuid}`, { server: body });
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
  });

  it('canonicalIpv6 compresses, lowercases and keeps a mapped IPv4 dotted', () => {
    assert.equal(canonicalIpv6('2001:0DB8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1');
    assert.equal(canonicalIpv6('::FFFF:192.0.2.1'), '::ffff:192.0.2.1');
    assert.equal(canonicalIpv6('::1'), '::1');
  });
});
