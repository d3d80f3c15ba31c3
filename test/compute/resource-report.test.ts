/** What a compute host reports: VCPU/PCPU from the CPU sets, MEMORY_MB, and a DISK_GB inventory per pool. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, type RawOverrides } from '../../src/common/config/load-config.ts';
import { fakeStoragePools } from '../../src/compute/storage-pools.ts';
import { nodeReports } from '../../src/compute/resource-report.ts';
import { FakeDriver } from '../../src/compute/virt/fake/fake-driver.ts';
import { fakeDriverOptions } from '../helpers/fake-driver-options.ts';

async function report(overrides: RawOverrides) {
  const config = loadConfig([], overrides);
  const driver = new FakeDriver(
    fakeDriverOptions({ vcpus: config.fake_driver.vcpus, memoryMb: 8192, storagePools: fakeStoragePools(config) }),
  );
  await driver.init('h1');
  return nodeReports(config, driver.nodes(), [])[0]!;
}

describe('nodeReports', () => {
  it('gives each pool its DISK_GB inventory with reserved_host_disk_mb and disk_allocation_ratio; local_gb sums them', async () => {
    const r = await report({
      fake_driver: { storage_pools: 'hdd:1000,ssd:200' },
      DEFAULT: { reserved_host_disk_mb: '2048', disk_allocation_ratio: '1.5' },
    });
    assert.equal(r.local_gb, 1200);
    assert.equal(r.inventories['DISK_GB'], undefined, 'the disk lives in the pools, not on the node');
    assert.deepEqual(r.storage_pools, {
      hdd: { total: 1000, reserved: 2, min_unit: 1, max_unit: 1000, step_size: 1, allocation_ratio: 1.5 },
      ssd: { total: 200, reserved: 2, min_unit: 1, max_unit: 200, step_size: 1, allocation_ratio: 1.5 },
    });
  });

  it('counts the shared CPUs as VCPU (with reserved_host_cpus and the ratio) and the dedicated ones as PCPU', async () => {
    const r = await report({
      fake_driver: { vcpus: '8' },
      DEFAULT: { reserved_host_cpus: '1', cpu_allocation_ratio: '2' },
      compute: { cpu_shared_set: '0-2', cpu_dedicated_set: '4-7' },
    });
    assert.equal(r.vcpus, 8);
    assert.deepEqual(r.inventories['VCPU'], {
      total: 3,
      reserved: 1,
      min_unit: 1,
      max_unit: 3,
      step_size: 1,
      allocation_ratio: 2,
    });
    assert.deepEqual(r.inventories['PCPU'], {
      total: 4,
      reserved: 0,
      min_unit: 1,
      max_unit: 4,
      step_size: 1,
      allocation_ratio: 1,
    });
  });

  it('vcpu_pin_set narrows VCPU; only dedicated CPUs means no VCPU inventory at all', async () => {
    assert.equal(
      (await report({ fake_driver: { vcpus: '8' }, DEFAULT: { vcpu_pin_set: '0-3,^1' } })).inventories['VCPU']?.total,
      3,
    );
    const dedicatedOnly = await report({ fake_driver: { vcpus: '8' }, compute: { cpu_dedicated_set: '0-7' } });
    assert.equal(dedicatedOnly.inventories['VCPU'], undefined);
    assert.equal(dedicatedOnly.inventories['PCPU']?.total, 8);
  });

  it('refuses a CPU set naming CPUs the host lacks', async () => {
    await assert.rejects(
      report({ fake_driver: { vcpus: '4' }, compute: { cpu_dedicated_set: '2-5' } }),
      /cpu_dedicated_set: CPUs 4-5/,
    );
  });
});
