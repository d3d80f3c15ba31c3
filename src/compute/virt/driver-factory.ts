/** Picks the virt driver named by `[DEFAULT] compute_driver`. */
import type { Config } from '../../common/config/load-config.ts';
import { ConfigError } from '../../common/errors.ts';
import type { VirtDriver } from './driver.ts';
import { FakeDriver } from './fake/fake-driver.ts';

export function createDriver(config: Config): VirtDriver {
  const f = config.fake_driver;
  switch (config.DEFAULT.compute_driver) {
    case 'fake':
      return new FakeDriver({
        nodeCount: f.node_count,
        vcpus: f.vcpus,
        memoryMb: f.memory_mb,
        localGb: f.local_gb,
        spawnDelayMs: f.spawn_delay_ms,
        powerDelayMs: f.power_delay_ms,
        spawnFailureRate: f.spawn_failure_rate,
      });
    default:
      throw new ConfigError(
        `[DEFAULT] compute_driver: unknown driver '${config.DEFAULT.compute_driver}'; expected fake`,
      );
  }
}
