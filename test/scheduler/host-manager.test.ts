/** loadFleet: what the scheduler's view holds of each node besides its resources. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { addAggregateHost, createAggregate, setAggregateMetadata } from '../../src/objects/aggregates.ts';
import { aggregateMetadata } from '../../src/scheduler/host-state.ts';
import { loadFleet } from '../../src/scheduler/host-manager.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { addComputeHost } from '../helpers/scheduler-fixtures.ts';

const opened: TestDatabase[] = [];

describe('loadFleet', () => {
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.close();
  });

  async function fleet() {
    const database = await openTestDatabase('sqlite');
    opened.push(database);
    const config = loadConfig([], { DEFAULT: { default_availability_zone: 'home' } });
    return { db: database.db, config };
  }

  it("gives each host its aggregates' zone and metadata, and the default zone to the others", async () => {
    const { db, config } = await fleet();
    for (const host of ['a', 'b', 'c']) await addComputeHost(db, config, host);
    const zoned = await createAggregate(db, 'rack1', 'az1');
    const tagged = await createAggregate(db, 'fast');
    await addAggregateHost(db, zoned.id, 'a');
    await addAggregateHost(db, tagged.id, 'a');
    await addAggregateHost(db, tagged.id, 'b');
    await setAggregateMetadata(db, tagged.id, { ssd: 'true', tier: 'gold, silver' });

    const states = new Map((await loadFleet(db, config)).hosts.map((s) => [s.host, s]));
    assert.deepEqual(
      [...states.values()].map((s) => [s.host, s.availabilityZone]),
      [
        ['a', 'az1'],
        ['b', 'home'],
        ['c', 'home'],
      ],
    );
    assert.deepEqual(
      states.get('a')!.aggregates.map((a) => a.name),
      ['rack1', 'fast'],
    );
    assert.deepEqual(states.get('c')!.aggregates, []);
    const metadata = aggregateMetadata(states.get('a')!);
    assert.deepEqual([...metadata.get('availability_zone')!], ['az1']);
    assert.deepEqual([...metadata.get('tier')!], ['gold', 'silver'], 'comma-separated values split and trimmed');
    assert.equal(metadata.get('gpu'), undefined);
  });

  it('reads the supported instances and the failed builds the node reported', async () => {
    const { db, config } = await fleet();
    await addComputeHost(db, config, 'multi', {
      supportedInstances: [
        ['x86_64', 'qemu', 'hvm'],
        ['aarch64', 'qemu', 'hvm'],
      ],
      failedBuilds: 4,
    });
    await addComputeHost(db, config, 'plain');
    const [multi, plain] = (await loadFleet(db, config)).hosts;
    assert.deepEqual(multi!.supportedInstances, [
      ['x86_64', 'qemu', 'hvm'],
      ['aarch64', 'qemu', 'hvm'],
    ]);
    assert.equal(multi!.failedBuilds, 4);
    assert.deepEqual(multi!.stats, { failed_builds: '4' });
    assert.equal(plain!.failedBuilds, 0);
  });

  it('treats a node that never reported them (a row from before the upgrade) as supporting nothing, with no failures', async () => {
    const { db, config } = await fleet();
    await addComputeHost(db, config, 'old');
    await db.updateTable('compute_nodes').set({ supported_instances: null, stats: null }).execute();
    const [old] = (await loadFleet(db, config)).hosts;
    assert.deepEqual(old!.supportedInstances, []);
    assert.equal(old!.failedBuilds, 0);
  });
});
