/** The host's uptime line, read by the compute host and sent in its node reports' stats. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { hostUptimeLine } from '../../src/compute/host-uptime.ts';
import { nodeReports } from '../../src/compute/resource-report.ts';
import { fakeStoragePools } from '../../src/compute/storage-pools.ts';
import { FakeDriver } from '../../src/compute/virt/fake/fake-driver.ts';
import { fakeDriverOptions } from '../helpers/fake-driver-options.ts';

describe('host uptime', () => {
  it('reads the line `uptime` prints, with its load averages', async () => {
    const line = await hostUptimeLine();
    assert.ok(line !== null, 'this machine has an uptime command');
    assert.match(line, /^\s*\d\d:\d\d:\d\d up .*load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/);
  });

  it('goes into every node report as stats.uptime, and is left out when unknown', async () => {
    const config = loadConfig([], {});
    const driver = new FakeDriver(fakeDriverOptions({ storagePools: fakeStoragePools(config) }));
    await driver.init('h1');
    const [withLine] = nodeReports(config, driver.nodes(), [], new Map(), ' 10:00:00 up 1 day');
    assert.deepEqual(withLine!.stats, { failed_builds: '0', uptime: ' 10:00:00 up 1 day' });
    const [without] = nodeReports(config, driver.nodes(), []);
    assert.deepEqual(without!.stats, { failed_builds: '0' });
  });
});
