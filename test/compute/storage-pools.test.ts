/** Storage pool options: parsing, refusals that name the option, sizes from the filesystem. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, type RawOverrides } from '../../src/common/config/load-config.ts';
import { fakeStoragePools, poolDirectory, poolSizeGb, storagePools } from '../../src/compute/storage-pools.ts';

const config = (overrides: RawOverrides) => loadConfig([], overrides);
const scratch = mkdtempSync(join(tmpdir(), 'stratus-pools-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('[storage] pools', () => {
  it('reads tier:directory and tier:directory:size_gb, and finds the directory of a tier', () => {
    const pools = storagePools(config({ storage: { pools: 'hdd:/srv/hdd, ssd:/srv/ssd:200' } }));
    assert.deepEqual(pools, [
      { tier: 'hdd', directory: '/srv/hdd', sizeGb: null },
      { tier: 'ssd', directory: '/srv/ssd', sizeGb: 200 },
    ]);
    assert.equal(poolDirectory(pools, 'ssd'), '/srv/ssd');
    assert.throws(() => poolDirectory(pools, 'pcie_ssd'), /no pcie_ssd storage pool/);
  });

  it('empty: one pool of the default tier in instances_path', () => {
    assert.deepEqual(
      storagePools(config({ DEFAULT: { instances_path: '/var/x' }, storage: { default_tier: 'ssd' } })),
      [{ tier: 'ssd', directory: '/var/x', sizeGb: null }],
    );
  });

  for (const [pools, message] of [
    ['nvme:/srv/x', /\[storage\] pools: 'nvme:\/srv\/x': unknown tier 'nvme'; expected one of hdd, ssd, pcie_ssd/],
    ['hdd:relative/dir', /must be an absolute path/],
    ['hdd:/a:0', /whole number of GiB, at least 1/],
    ['hdd:/a,hdd:/b', /tier 'hdd' is given twice/],
    ['hdd', /is not tier:directory/],
  ] as const) {
    it(`refuses '${pools}', naming the option`, () => {
      assert.throws(() => storagePools(config({ storage: { pools } })), message);
    });
  }

  it('a pool without a size is as big as its filesystem; a missing directory says what to do', async () => {
    const size = await poolSizeGb({ tier: 'hdd', directory: scratch, sizeGb: null });
    assert.ok(Number.isInteger(size) && size >= 0);
    assert.equal(await poolSizeGb({ tier: 'hdd', directory: scratch, sizeGb: 7 }), 7);
    await assert.rejects(
      poolSizeGb({ tier: 'ssd', directory: join(scratch, 'missing'), sizeGb: null }),
      /cannot size the ssd pool .* create the directory or give its size/,
    );
  });
});

describe('[fake_driver] storage_pools', () => {
  it('reads tier:size_gb; empty means one pool of the default tier with local_gb', () => {
    assert.deepEqual(fakeStoragePools(config({ fake_driver: { storage_pools: 'hdd:1000,pcie_ssd:50' } })), [
      { tier: 'hdd', totalGb: 1000 },
      { tier: 'pcie_ssd', totalGb: 50 },
    ]);
    assert.deepEqual(fakeStoragePools(config({ fake_driver: { local_gb: '300' } })), [{ tier: 'hdd', totalGb: 300 }]);
    assert.throws(
      () => fakeStoragePools(config({ fake_driver: { storage_pools: 'ssd:/x:5' } })),
      /\[fake_driver\] storage_pools: 'ssd:\/x:5' is not tier:size_gb/,
    );
  });
});
