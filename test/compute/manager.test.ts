/**
 * The compute host's count of consecutive failed builds per node (Nova's failed_builds stat): reported
 * when it changes, reset by a success, and steering the scheduler's BuildFailureWeigher away from the node.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { ComputeManager } from '../../src/compute/manager.ts';
import { FakeDriver, type FakeDriverOptions } from '../../src/compute/virt/fake/fake-driver.ts';
import type { ConductorRpcApi } from '../../src/wire/contracts/conductor.ts';
import type { NodeReport } from '../../src/placement/providers.ts';
import { VmState } from '../../src/wire/messages/instance-states.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';
import { instancePayload } from '../helpers/instance-payload.ts';
import { fakeDriverOptions } from '../helpers/fake-driver-options.ts';
import { NoopNetworkDriver } from '../../src/compute/network/noop-driver.ts';

/** A conductor that accepts everything and keeps the failed_builds of every node report it gets. */
function recordingConductor() {
  const reported: string[] = [];
  const conductor = {
    instanceUpdate: async () => undefined,
    actionEvent: async () => undefined,
    rescheduleBuild: async () => undefined,
    reportNodes: async (_ctx: unknown, _host: string, nodes: NodeReport[]) => {
      reported.push(...nodes.map((n) => n.stats['failed_builds'] ?? 'none'));
    },
  };
  return { conductor: conductor as unknown as ConductorRpcApi, reported };
}

/** A one-node fake driver whose every spawn fails until the test changes `spawnFailureRate`. */
function failingOptions(): FakeDriverOptions {
  return fakeDriverOptions({ spawnFailureRate: 1 });
}

describe('compute: failed builds', () => {
  it('counts consecutive failures per node, reports each change, and resets on a success', async () => {
    const options = failingOptions();
    const driver = new FakeDriver(options);
    await driver.init('h');
    const { conductor, reported } = recordingConductor();
    const manager = new ComputeManager('h', loadConfig([]), driver, new NoopNetworkDriver(), conductor);
    const build = (uuid: string) => manager.buildAndRunInstance(adminContext(), instancePayload(uuid), 'h', [], 1);

    await build('i1');
    await build('i2');
    assert.deepEqual(reported, ['1', '2']);
    options.spawnFailureRate = 0;
    await build('i3');
    await build('i4');
    assert.deepEqual(reported, ['1', '2', '0'], 'reported once when reset, not on every success');
    await manager.reportResources();
    assert.deepEqual(reported.at(-1), '0');
  });

  it('counts nothing with [compute] consecutive_build_service_disable_threshold 0', async () => {
    const driver = new FakeDriver(failingOptions());
    await driver.init('h');
    const { conductor, reported } = recordingConductor();
    const config = loadConfig([], { compute: { consecutive_build_service_disable_threshold: '0' } });
    const manager = new ComputeManager('h', config, driver, new NoopNetworkDriver(), conductor);
    await manager.buildAndRunInstance(adminContext(), instancePayload('i1'), 'h', [], 1);
    await manager.reportResources();
    assert.deepEqual(reported, ['0']);
  });
});

describe('BuildFailureWeigher over a cloud', () => {
  let cloud: TestCloud | undefined;
  afterEach(async () => {
    await cloud?.stop();
    cloud = undefined;
  });

  it('steers builds away from a node whose builds keep failing, though it has the most free RAM', async () => {
    cloud = await startTestCloud({
      computeHosts: [],
      overrides: { scheduler: { host_state_refresh_interval: '0', max_attempts: '2' } },
    });
    await cloud.startComputeHost('broken', { fake_driver: { memory_mb: '65536', spawn_failure_rate: '1' } });
    await cloud.startComputeHost('sound', { fake_driver: { memory_mb: '8192' } });
    const flavor = await smallFlavor(cloud.database);
    const failedBuilds = async () => {
      const row = await cloud!.database.db
        .selectFrom('compute_nodes')
        .select('stats')
        .where('host', '=', 'broken')
        .executeTakeFirstOrThrow();
      return (JSON.parse(row.stats ?? '{}') as Record<string, string>)['failed_builds'];
    };

    const [first] = await cloud.boot(flavor);
    const settled = await cloud.waitFor(first!, (i) => i.vm_state === VmState.ACTIVE);
    assert.equal(settled.host, 'sound', 'rescheduled after failing on the RAM favourite');
    assert.equal(await failedBuilds(), '1');

    const [second] = await cloud.boot(flavor);
    const next = await cloud.waitFor(second!, (i) => i.vm_state === VmState.ACTIVE);
    assert.equal(next.host, 'sound');
    assert.equal(await failedBuilds(), '1', 'the broken node was not tried again');
  });
});
