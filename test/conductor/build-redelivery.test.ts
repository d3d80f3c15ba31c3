/**
 * build_instances delivered more than once (a broker restart or a conductor killed before the
 * acknowledgement): each copy does only what is left, so no instance is scheduled twice or built on two
 * hosts. The conductor here is a manager of the test's own whose compute casts are recorded, not sent,
 * so what each copy would have built is seen exactly; scheduling and claims are the real ones.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { SelectQueryNode, TableNode, type KyselyPlugin } from 'kysely';
import { adminContext } from '../../src/common/context.ts';
import { ConductorManager } from '../../src/conductor/manager.ts';
import { getInstance } from '../../src/objects/instances.ts';
import { getRequestSpec } from '../../src/objects/request-specs.ts';
import type { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { SchedulerRpcApi } from '../../src/wire/contracts/scheduler.ts';
import { TaskState } from '../../src/wire/messages/instance-states.ts';
import type { Selection } from '../../src/wire/messages/request-spec.ts';
import { InstanceInvalidState } from '../../src/common/errors.ts';
import { MessageDeliveryFailure } from '../../src/common/rpc/errors.ts';
import { latestFaults } from '../../src/objects/instance-faults.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';

/** A compute API whose build casts are recorded (the instances' uuids), not sent. */
function recordingCompute(builds: string[]): ComputeRpcApi {
  return {
    buildAndRunInstance: async (_ctx: unknown, _host: string, request: { instance: { uuid: string } }) => {
      builds.push(request.instance.uuid);
    },
    followsRemoteGroups: async () => true,
  } as unknown as ComputeRpcApi;
}

describe('build_instances delivered again', () => {
  let cloud: TestCloud;
  let manager: ConductorManager;
  const builds: { uuid: string; host: string; node: string; alternates: Selection[] }[] = [];
  const ctx = adminContext();

  before(async () => {
    cloud = await startTestCloud({ computeHosts: ['host-a', 'host-b'] });
    // The cloud's own conductor is stopped: the casts of cloud.boot() wait in its queue, unhandled.
    await cloud.services[0]!.stop();
    const compute = {
      buildAndRunInstance: async (
        _ctx: unknown,
        host: string,
        request: { instance: { uuid: string }; node: string; alternates: Selection[] },
      ) => {
        builds.push({ uuid: request.instance.uuid, host, node: request.node, alternates: request.alternates });
      },
      followsRemoteGroups: async () => true,
    } as unknown as ComputeRpcApi;
    manager = new ConductorManager(cloud.database, cloud.config, new SchedulerRpcApi(cloud.bus.rpc), compute);
  });
  after(() => cloud.stop());

  async function claims(uuid: string): Promise<string[]> {
    const rows = await cloud.database.db
      .selectFrom('allocations')
      .select('resource_provider_id')
      .where('consumer_id', '=', uuid)
      .execute();
    return rows.map((r) => String(r.resource_provider_id)).sort();
  }

  it('casts a placed build that never started again to the same host, without scheduling it again', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.again');
    const uuids = await cloud.boot(flavor, 3, 'again');
    await manager.buildInstances(ctx, uuids);
    assert.equal(builds.length, 3);
    const first = new Map(builds.map((b) => [b.uuid, b.host]));
    const claimed = await Promise.all(uuids.map(claims));
    builds.length = 0;

    await manager.buildInstances(ctx, uuids);
    // The compute hosts take a build only from `scheduling`, so whichever copy arrives second is dropped.
    assert.deepEqual(new Map(builds.map((b) => [b.uuid, b.host])), first);
    assert.deepEqual(await Promise.all(uuids.map(claims)), claimed, 'scheduled (and claimed) again');
    for (const uuid of uuids) assert.equal((await getInstance(cloud.database.db, uuid)).host, first.get(uuid));
    builds.length = 0;
  });

  it('leaves alone builds that started, ended or were deleted', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.done');
    const uuids = await cloud.boot(flavor, 3, 'done');
    await manager.buildInstances(ctx, uuids);
    builds.length = 0;
    const [spawning, active, deleted] = uuids as [string, string, string];
    const db = cloud.database.db;
    await db.updateTable('instances').set({ task_state: 'spawning' }).where('uuid', '=', spawning).execute();
    await db
      .updateTable('instances')
      .set({ vm_state: 'active', task_state: null })
      .where('uuid', '=', active)
      .execute();
    await db.updateTable('instances').set({ deleted: 1 }).where('uuid', '=', deleted).execute();

    await manager.buildInstances(ctx, uuids);
    assert.deepEqual(builds, []);
  });

  it('schedules once when two copies are handled at the same time by one conductor', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.twice');
    const uuids = await cloud.boot(flavor, 4, 'twice');
    await Promise.all([manager.buildInstances(ctx, uuids), manager.buildInstances(ctx, uuids)]);
    assert.deepEqual(builds.map((b) => b.uuid).sort(), [...uuids].sort());
    builds.length = 0;
  });

  it('resumes builds left in scheduling long after their last change, and only those', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.resume');
    const [lost, placedLost, recent] = (await cloud.boot(flavor, 3, 'resume')) as [string, string, string];
    await manager.buildInstances(ctx, [placedLost]);
    const host = builds[0]!.host;
    builds.length = 0;
    const long = new Date(Date.now() - 3600_000).toISOString();
    await cloud.database.db
      .updateTable('instances')
      .set({ updated_at: long, created_at: long })
      .where('uuid', 'in', [lost, placedLost])
      .execute();

    await manager.resumeInterruptedBuilds(ctx);
    assert.deepEqual(
      builds.map((b) => b.uuid).sort(),
      [lost, placedLost].sort(),
      'the recent build is left to its own message',
    );
    assert.equal(builds.find((b) => b.uuid === placedLost)?.host, host);
    assert.ok(!builds.some((b) => b.uuid === recent));
    builds.length = 0;
  });

  it('after a reschedule, neither a redelivered build_instances nor a late cast builds on the old host', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.moved');
    const [uuid] = (await cloud.boot(flavor, 1, 'moved')) as [string];
    await manager.buildInstances(ctx, [uuid]);
    const first = builds.at(-1)!;
    assert.equal(first.alternates.length, 1, 'the other host is the alternate');
    // The first host starts the build, fails it and asks for a reschedule: it goes to the alternate.
    await manager.instanceUpdate(ctx, uuid, { task_state: TaskState.SPAWNING }, [TaskState.SCHEDULING]);
    await manager.rescheduleBuild(ctx, {
      uuid,
      host: first.host,
      node: first.node,
      attempt: 1,
      alternates: first.alternates,
      error: { message: 'spawn failed', traceback: '' },
    });
    const moved = builds.at(-1)!;
    assert.notEqual(moved.host, first.host);
    const claimed = await claims(uuid);
    builds.length = 0;

    // A copy of build_instances delivered again now casts to the host the build is on, never the old one.
    await manager.buildInstances(ctx, [uuid]);
    assert.deepEqual(
      builds.map((b) => b.host),
      [moved.host],
    );
    assert.equal((await getInstance(cloud.database.db, uuid)).host, moved.host);
    assert.deepEqual(await claims(uuid), claimed, 'the claim on the new host is kept');

    // A late copy of the first cast, delivered again to the old host: its start is refused there
    // (instance_update guarded on the host), and accepted on the host the build is placed on.
    const start = (host: string) =>
      manager.instanceUpdate(
        ctx,
        uuid,
        { task_state: TaskState.SPAWNING },
        [TaskState.SCHEDULING],
        undefined,
        undefined,
        host,
      );
    await assert.rejects(start(first.host), InstanceInvalidState);
    await start(moved.host);
    const now = await getInstance(cloud.database.db, uuid);
    assert.deepEqual([now.host, now.task_state], [moved.host, TaskState.SPAWNING]);
    builds.length = 0;
  });
});

describe('build_instances delivered again after its scheduling claimed but was not answered', () => {
  let cloud: TestCloud;
  let manager: ConductorManager;
  const builds: string[] = [];
  const ctx = adminContext();

  before(async () => {
    // Room for four one-vCPU servers in all, so that a claim counted twice is felt at once.
    cloud = await startTestCloud({
      computeHosts: ['host-a', 'host-b'],
      overrides: { DEFAULT: { cpu_allocation_ratio: '1' }, fake_driver: { vcpus: '2' } },
    });
    await cloud.services[0]!.stop();
    const compute = recordingCompute(builds);
    manager = new ConductorManager(cloud.database, cloud.config, new SchedulerRpcApi(cloud.bus.rpc), compute);
  });
  after(() => cloud.stop());

  it('gives back the claims of the lost answer first, so a full cloud places them all again', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.full');
    const uuids = await cloud.boot(flavor, 4, 'full');
    // The first copy's select_destinations claimed all four; its answer never reached a conductor.
    const spec = await getRequestSpec(cloud.database.db, uuids[0]!);
    await new SchedulerRpcApi(cloud.bus.rpc).selectDestinations(ctx, { ...spec, num_instances: 4 }, uuids);

    await manager.buildInstances(ctx, uuids);
    assert.deepEqual([...builds].sort(), [...uuids].sort(), 'every one placed and cast, none in ERROR');
    for (const uuid of uuids) assert.equal((await getInstance(cloud.database.db, uuid)).vm_state, 'building');
    const usage = await cloud.database.db
      .selectFrom('resource_usages')
      .select(['used', 'capacity'])
      .where('resource_class', '=', 'VCPU')
      .execute();
    assert.equal(
      usage.reduce((sum, u) => sum + u.used, 0),
      4,
      'one claim each',
    );
  });
});

describe('select_destinations sent again after its answer was lost', () => {
  it('gives back what the lost call claimed before calling again, so a full cloud still fits', async () => {
    const cloud = await startTestCloud({
      computeHosts: ['host-a', 'host-b'],
      overrides: { DEFAULT: { cpu_allocation_ratio: '1' }, fake_driver: { vcpus: '2' } },
    });
    try {
      await cloud.services[0]!.stop();
      const builds: string[] = [];
      const compute = recordingCompute(builds);
      // The first call is handled (its claims made) and its reply lost, as across a broker restart.
      const real = new SchedulerRpcApi(cloud.bus.rpc);
      let calls = 0;
      const scheduler = {
        selectDestinations: async (...args: Parameters<SchedulerRpcApi['selectDestinations']>) => {
          const answer = await real.selectDestinations(...args);
          if (++calls === 1) throw new MessageDeliveryFailure('Lost the connection to RabbitMQ');
          return answer;
        },
      } as unknown as SchedulerRpcApi;
      const manager = new ConductorManager(cloud.database, cloud.config, scheduler, compute);
      const flavor = await smallFlavor(cloud.database, 'm1.lost');
      const uuids = await cloud.boot(flavor, 4, 'lost');
      await manager.buildInstances(adminContext(), uuids);
      assert.equal(calls, 2);
      assert.deepEqual([...builds].sort(), [...uuids].sort(), 'every one placed and cast, none in ERROR');
    } finally {
      await cloud.stop();
    }
  });
});

describe('a build whose network allocation lost its database connection', () => {
  it('stays placed and scheduling, not ERROR, and is resumed once quiet', async () => {
    const cloud = await startTestCloud({ computeHosts: ['host-a'] });
    try {
      await cloud.services[0]!.stop();
      const builds: string[] = [];
      const compute = recordingCompute(builds);
      // The allocation's first statement (reading the instance's NICs) meets the connection MariaDB's
      // restart reset, as mysql2 reports it: a socket error it marks fatal.
      let cut = 1;
      const restart: KyselyPlugin = {
        transformQuery({ node }) {
          const from = SelectQueryNode.is(node) ? node.from?.froms[0] : undefined;
          if (cut > 0 && from && TableNode.is(from) && from.table.identifier.name === 'instance_networks') {
            cut -= 1;
            throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', fatal: true });
          }
          return node;
        },
        transformResult: async ({ result }) => result,
      };
      const database = { ...cloud.database, db: cloud.database.db.withPlugin(restart) };
      const manager = new ConductorManager(database, cloud.config, new SchedulerRpcApi(cloud.bus.rpc), compute);
      const flavor = await smallFlavor(cloud.database, 'm1.cut');
      const [uuid] = (await cloud.boot(flavor, 1, 'cut')) as [string];

      await assert.rejects(manager.buildInstances(adminContext(), [uuid]), /ECONNRESET/);
      assert.equal(cut, 0, 'the network allocation met the reset');
      assert.deepEqual(builds, []);
      const cutOff = await getInstance(cloud.database.db, uuid);
      assert.deepEqual([cutOff.vm_state, cutOff.task_state, cutOff.host], ['building', 'scheduling', 'host-a']);
      assert.equal((await latestFaults(cloud.database.db, [uuid])).get(uuid), undefined, 'no fault recorded');

      // Quiet for longer than twice rpc_response_timeout: the interrupted-build check casts it again.
      const long = new Date(Date.now() - 3600_000).toISOString();
      await cloud.database.db.updateTable('instances').set({ updated_at: long }).where('uuid', '=', uuid).execute();
      await manager.resumeInterruptedBuilds(adminContext());
      assert.deepEqual(builds, [uuid]);
      const resumed = await getInstance(cloud.database.db, uuid);
      assert.deepEqual([resumed.vm_state, resumed.host], ['building', 'host-a']);
    } finally {
      await cloud.stop();
    }
  });
});
