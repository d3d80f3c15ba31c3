/** Compute start-up: a CPU set naming CPUs the host lacks stops the service before it registers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { ConfigError } from '../../src/common/errors.ts';
import { imageClientFromConfig } from '../../src/compute/image/image-client.ts';
import { ComputeManager } from '../../src/compute/manager.ts';
import { createDriver } from '../../src/compute/virt/driver-factory.ts';
import type { ConductorRpcApi } from '../../src/wire/contracts/conductor.ts';
import { NoopNetworkDriver } from '../../src/compute/network/noop-driver.ts';

describe('ComputeManager.initHost', () => {
  it('refuses a cpu_dedicated_set beyond the host, naming the option, and never registers', async () => {
    const config = loadConfig([], { fake_driver: { vcpus: '4' }, compute: { cpu_dedicated_set: '2-5' } });
    const calls: string[] = [];
    // Only what initHost would reach first; anything it calls is recorded.
    const conductor = new Proxy(
      {},
      {
        get: (_target, method) => () => {
          calls.push(String(method));
          return Promise.resolve([]);
        },
      },
    ) as ConductorRpcApi;
    const manager = new ComputeManager(
      'cmp',
      config,
      createDriver(config, imageClientFromConfig(config)),
      new NoopNetworkDriver(),
      conductor,
    );
    await assert.rejects(
      manager.initHost(),
      (err: unknown) =>
        err instanceof ConfigError && /\[compute\] cpu_dedicated_set: CPUs 4-5 are not on this host/.test(err.message),
    );
    assert.deepEqual(calls, []);
  });
});
