/** Fake driver options for tests: one small node with one hdd pool, no delays, no failures, unless told. */
import type { FakeDriverOptions } from '../../src/compute/virt/fake/fake-driver.ts';

export function fakeDriverOptions(overrides: Partial<FakeDriverOptions> = {}): FakeDriverOptions {
  return {
    nodeCount: 1,
    vcpus: 4,
    memoryMb: 4096,
    storagePools: [{ tier: 'hdd', totalGb: 10 }],
    spawnDelayMs: 0,
    powerDelayMs: 0,
    spawnFailureRate: 0,
    ...overrides,
  };
}
