/**
 * POST /servers with a storage tier: instance_disk_type (under the header `Stratus-Extensions:
 * storage-tier`), the disk_type hint and the flavor's storage:tier; the tier is recorded on the instance
 * and in its request spec and shown as STRATUS-EXT-STORAGE:tier to a client that asks for the extension,
 * never to one that does not. Conflicting or unknown tiers, and unsupported CPU policies, are a 400 that
 * creates nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFlavor, setExtraSpecs } from '../../../src/objects/flavors.ts';
import { getInstance } from '../../../src/objects/instances.ts';
import { getRequestSpec } from '../../../src/objects/request-specs.ts';
import { addComputeHost, client, countRows, fault, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi({ storage: { default_tier: 'ssd' } });
  await addComputeHost(h, 'host1', { pools: { hdd: 500, ssd: 100 } });
  await createFlavor(h.database.db, { flavorid: 'fast', name: 'fast', memory_mb: 512, vcpus: 1, root_gb: 1 });
  await setExtraSpecs(h.database.db, 'fast', { 'storage:tier': 'pcie_ssd' });
  await createFlavor(h.database.db, { flavorid: 'mixed', name: 'mixed', memory_mb: 512, vcpus: 2, root_gb: 1 });
  await setExtraSpecs(h.database.db, 'mixed', { 'hw:cpu_policy': 'mixed' });
});
after(() => h.close());

/** The header that asks for the storage-tier extension. */
const TIER = { 'stratus-extensions': 'storage-tier' };

const body = (server: Record<string, unknown>, hints?: Record<string, unknown>) => ({
  server: { name: 'web', imageRef: h.cirros.id, flavorRef: '1', ...server },
  ...(hints ? { 'os:scheduler_hints': hints } : {}),
});

async function created(res: { statusCode: number; json(): { server: { id: string } } }) {
  assert.equal(res.statusCode, 202, JSON.stringify(res.json()));
  const uuid = res.json().server.id;
  return { instance: await getInstance(h.database.db, uuid), spec: await getRequestSpec(h.database.db, uuid), uuid };
}

describe('storage tier of a new server', () => {
  it('instance_disk_type under the storage-tier extension, at any microversion', async () => {
    const { instance, spec } = await created(
      await client(h.app, 'alice', '2.96', TIER).post(
        '/v2.1/servers',
        body({ instance_disk_type: 'hdd', networks: 'none' }),
      ),
    );
    assert.equal(instance.storage_tier, 'hdd');
    assert.equal(spec.storage_tier, 'hdd');
  });

  it('the disk_type hint at any version, as stock clients send it', async () => {
    const { instance } = await created(
      await client(h.app, 'alice').post('/v2.1/servers', body({}, { disk_type: 'hdd' })),
    );
    assert.equal(instance.storage_tier, 'hdd');
  });

  it("the flavor's storage:tier; agreeing asks are fine", async () => {
    const { instance } = await created(
      await client(h.app, 'alice', undefined, TIER).post(
        '/v2.1/servers',
        body({ flavorRef: 'fast', instance_disk_type: 'pcie_ssd' }, { disk_type: 'pcie_ssd' }),
      ),
    );
    assert.equal(instance.storage_tier, 'pcie_ssd');
  });

  it('no ask: [storage] default_tier; show, detail and update report the tier under the extension only', async () => {
    const { uuid, instance } = await created(await client(h.app, 'alice').post('/v2.1/servers', body({})));
    assert.equal(instance.storage_tier, 'ssd');
    const shown = await client(h.app, 'alice', undefined, TIER).get(`/v2.1/servers/${uuid}`);
    assert.equal(shown.json().server['STRATUS-EXT-STORAGE:tier'], 'ssd');
    assert.match(String(shown.headers['vary']), /Stratus-Extensions/);
    const detail = await client(h.app, 'alice', '2.96', TIER).get('/v2.1/servers/detail');
    const listed = (detail.json().servers as Record<string, unknown>[]).find((s) => s['id'] === uuid)!;
    assert.equal(listed['STRATUS-EXT-STORAGE:tier'], 'ssd');
    const updated = await client(h.app, 'alice', '2.96', TIER).put(`/v2.1/servers/${uuid}`, { server: { name: 'w' } });
    assert.equal(updated.json().server['STRATUS-EXT-STORAGE:tier'], 'ssd');

    for (const version of [undefined, '2.96']) {
      const plain = client(h.app, 'alice', version);
      assert.ok(!('STRATUS-EXT-STORAGE:tier' in (await plain.get(`/v2.1/servers/${uuid}`)).json().server));
      const servers = (await plain.get('/v2.1/servers/detail')).json().servers as Record<string, unknown>[];
      assert.ok(
        servers.every((s) => !('STRATUS-EXT-STORAGE:tier' in s)),
        'a stock client sees Nova keys only',
      );
    }
  });

  it('an unknown extension name is a 400', async () => {
    const res = await client(h.app, 'alice', undefined, { 'stratus-extensions': 'storage-tier, warp' }).get(
      '/v2.1/servers',
    );
    assert.equal(res.statusCode, 400);
    assert.match(fault(res).message, /Unknown Stratus extension 'warp'/);
  });

  const refusals: [string, string | undefined, () => ReturnType<typeof body>, RegExp][] = [
    [
      'instance_disk_type without the extension',
      '2.96',
      () => body({ instance_disk_type: 'ssd', networks: 'none' }),
      /instance_disk_type/,
    ],
    [
      'an unknown tier in instance_disk_type',
      '2.96',
      () => body({ instance_disk_type: 'tape', networks: 'none' }),
      /Unknown storage tier 'tape' in instance_disk_type; expected one of hdd, ssd, pcie_ssd/,
    ],
    [
      'an unknown tier in the hint',
      undefined,
      () => body({}, { disk_type: 'nvme' }),
      /Unknown storage tier 'nvme' in scheduler hint disk_type/,
    ],
    ['a hint given twice', undefined, () => body({}, { disk_type: ['ssd', 'hdd'] }), /disk_type/],
    [
      'a hint that disagrees with the body',
      '2.96',
      () => body({ instance_disk_type: 'ssd', networks: 'none' }, { disk_type: 'hdd' }),
      /Conflicting storage tiers: instance_disk_type asks for 'ssd', scheduler hint disk_type asks for 'hdd'/,
    ],
    [
      "a hint that disagrees with the flavor's storage:tier",
      undefined,
      () => body({ flavorRef: 'fast' }, { disk_type: 'ssd' }),
      /flavor extra spec storage:tier asks for 'pcie_ssd'/,
    ],
    [
      'hw:cpu_policy=mixed',
      undefined,
      () => body({ flavorRef: 'mixed' }),
      /hw:cpu_policy 'mixed', which Stratus does not support/,
    ],
  ];
  for (const [what, version, request, message] of refusals) {
    it(`refuses ${what} with a 400 and creates nothing`, async () => {
      const before = await countRows(h, 'instances');
      // The extension is asked for throughout: instance_disk_type is refused without it all the same.
      const headers = what.includes('without the extension') ? {} : TIER;
      const res = await client(h.app, 'alice', version, headers).post('/v2.1/servers', request());
      assert.equal(res.statusCode, 400);
      const error = fault(res);
      assert.equal(error.name, 'badRequest');
      assert.match(error.message, message);
      assert.equal(await countRows(h, 'instances'), before);
    });
  }
});
