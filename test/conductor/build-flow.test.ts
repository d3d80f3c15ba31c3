import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { latestFaults } from '../../src/objects/instance-faults.ts';
import { markInstanceDeleted } from '../../src/objects/instances.ts';
import { listActions } from '../../src/objects/instance-actions.ts';
import { providerUsages } from '../../src/placement/providers.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';

const settled = (i: { vm_state: string; task_state: string | null }) =>
  i.task_state === null && ['active', 'error'].includes(i.vm_state);

describe('build flow (api -> conductor -> scheduler -> compute)', () => {
  let cloud: TestCloud;
  before(async () => {
    cloud = await startTestCloud({ computeHosts: ['host-a', 'host-b'] });
  });
  after(() => cloud.stop());

  it('boots instances to ACTIVE, spread over the hosts, with claims and action events', async () => {
    const flavor = await smallFlavor(cloud.database);
    const uuids = await cloud.boot(flavor, 6);
    const instances = await Promise.all(uuids.map((u) => cloud.waitFor(u, settled)));
    for (const instance of instances) {
      assert.equal(instance.vm_state, 'active');
      assert.equal(instance.power_state, 1);
      assert.ok(instance.launched_at);
    }
    assert.deepEqual(new Set(instances.map((i) => i.host)), new Set(['host-a', 'host-b']));
    const usage = [...(await providerUsages(cloud.database.db)).values()];
    assert.equal(
      usage.reduce((sum, u) => sum + (u.usages['VCPU'] ?? 0), 0),
      6,
    );
    // Like Nova, compute finishes its action event just after the instance turns ACTIVE: wait for it.
    const deadline = Date.now() + 10_000;
    let [action] = await listActions(cloud.database.db, uuids[0]!);
    while (action?.events.some((e) => e.finish_time === null) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      [action] = await listActions(cloud.database.db, uuids[0]!);
    }
    assert.equal(action?.action, 'create');
    assert.deepEqual(action?.events.map((e) => [e.event, e.result]).sort(), [
      ['compute_build_and_run_instance', 'Success'],
      ['conductor_schedule_and_build_instances', 'Success'],
    ]);
  });

  it("answers a compute host's question for one of its instances with that instance alone", async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.asked');
    const [uuid] = await cloud.boot(flavor, 1, 'asked-for');
    const instance = await cloud.waitFor(uuid!, settled);
    const other = instance.host === 'host-a' ? 'host-b' : 'host-a';
    const ctx = adminContext();
    assert.deepEqual(
      (await cloud.conductor.instancesOnHost(ctx, instance.host!, uuid)).map((i) => i.uuid),
      [uuid],
    );
    assert.deepEqual(await cloud.conductor.instancesOnHost(ctx, other, uuid), [], 'not live on the other host');
    await markInstanceDeleted(cloud.database.db, uuid!);
    assert.deepEqual(await cloud.conductor.instancesOnHost(ctx, instance.host!, uuid), [], 'deleted: not live');
  });

  it('ends in ERROR with "No valid host" when nothing fits, and frees any claim', async () => {
    const huge = await smallFlavor(cloud.database, 'huge', { memory_mb: 10_000_000 });
    const [uuid] = await cloud.boot(huge);
    const instance = await cloud.waitFor(uuid!, settled);
    assert.equal(instance.vm_state, 'error');
    const fault = (await latestFaults(cloud.database.db, [uuid!])).get(uuid!);
    assert.match(fault?.message ?? '', /No valid host was found/);
    const held = await cloud.database.db
      .selectFrom('allocations')
      .selectAll()
      .where('consumer_id', '=', uuid!)
      .execute();
    assert.equal(held.length, 0);
  });
});

describe('rescheduling', () => {
  let cloud: TestCloud;
  before(async () => {
    // The last test disables a host and boots at once: the scheduler must not work from a view of the
    // hosts older than that (by default it may, for up to a second).
    cloud = await startTestCloud({ computeHosts: [], overrides: { scheduler: { host_state_refresh_interval: '0' } } });
    await cloud.startComputeHost('bad-host', { fake_driver: { spawn_failure_rate: '1' } });
    await cloud.startComputeHost('good-host');
  });
  after(() => cloud.stop());

  it('moves a failed build to another host and never back to the failed one', async () => {
    const flavor = await smallFlavor(cloud.database);
    const uuids = await cloud.boot(flavor, 4);
    const instances = await Promise.all(uuids.map((u) => cloud.waitFor(u, settled)));
    for (const instance of instances) {
      assert.equal(instance.vm_state, 'active');
      assert.equal(instance.host, 'good-host');
    }
    const held = await cloud.database.db.selectFrom('allocations').select('consumer_id').distinct().execute();
    assert.equal(held.length, 4, 'one claim per instance, none left on the failed host');
  });

  it('goes to ERROR with a fault once every host failed', async () => {
    await cloud.stopComputeHost('good-host');
    await cloud.database.db.updateTable('services').set({ disabled: 1 }).where('host', '=', 'good-host').execute();
    const flavor = await smallFlavor(cloud.database, 'm1.other');
    const [uuid] = await cloud.boot(flavor);
    const instance = await cloud.waitFor(uuid!, settled);
    assert.equal(instance.vm_state, 'error');
    const fault = (await latestFaults(cloud.database.db, [uuid!])).get(uuid!);
    assert.match(fault?.message ?? '', /Exceeded maximum number of retries|No valid host/);
    assert.match(fault?.details ?? '', /injected spawn failure/);
  });
});

describe('rescheduling within a storage tier', () => {
  let cloud: TestCloud;
  before(async () => {
    cloud = await startTestCloud({ computeHosts: [], overrides: { scheduler: { host_state_refresh_interval: '0' } } });
    // The RAM weigher ranks the failing ssd host first; the hdd host, with the most RAM, has no ssd.
    await cloud.startComputeHost('ssd-bad', {
      fake_driver: { spawn_failure_rate: '1', memory_mb: '200000', storage_pools: 'ssd:50' },
    });
    await cloud.startComputeHost('ssd-good', { fake_driver: { memory_mb: '100000', storage_pools: 'ssd:50' } });
    await cloud.startComputeHost('hdd-only', { fake_driver: { memory_mb: '400000', storage_pools: 'hdd:1000' } });
  });
  after(() => cloud.stop());

  it('an alternate is of the same tier, and its pool holds the disk', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.disk', { root_gb: 10 });
    const [uuid] = await cloud.boot(flavor, 1, 'vm', { storageTier: 'ssd' });
    const instance = await cloud.waitFor(uuid!, settled);
    assert.equal(instance.vm_state, 'active');
    assert.equal(instance.host, 'ssd-good');
    assert.equal(instance.storage_tier, 'ssd');
    const actions = await listActions(cloud.database.db, uuid!);
    assert.ok(
      actions[0]?.events.some((e) => e.event === 'compute_build_and_run_instance' && e.result === 'Error'),
      'the build failed on ssd-bad first',
    );
    const usages = await providerUsages(cloud.database.db);
    const disk = [...usages.values()]
      .filter((u) => u.storageTier)
      .map((u) => [u.storageTier, u.usages['DISK_GB'] ?? 0])
      .sort();
    assert.deepEqual(disk, [
      ['hdd', 0],
      ['ssd', 0],
      ['ssd', 10],
    ]);
  });
});
