/**
 * objects/quotas.ts on every engine: where limits come from, what is counted, the generic check with a
 * plugged-in counter, the settable ranges, and the race guard: many creates from separate connections
 * (separate API processes) against a quota with room for exactly N, of which exactly N must pass.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { serversAllowed } from '../../src/api/compute/quotas/enforce.ts';
import { loadConfig, type Config } from '../../src/common/config/load-config.ts';
import { userContext } from '../../src/common/context.ts';
import { openDatabase, type Database } from '../../src/common/db/database.ts';
import { now } from '../../src/common/db/schema.ts';
import { QuotaExceeded } from '../../src/common/errors.ts';
import { recordCheckedBuildRequest } from '../../src/objects/build-requests.ts';
import { createFlavor, getFlavor, type Flavor } from '../../src/objects/flavors.ts';
import { flavorChanges, getInstance, updateInstance, type NewInstance } from '../../src/objects/instances.ts';
import { createMigration, MigrationStatus, updateMigration } from '../../src/objects/migrations.ts';
import { beginMove } from '../../src/objects/resize-records.ts';
import { addServerGroupMembers, createServerGroup } from '../../src/objects/server-groups.ts';
import { VmState } from '../../src/wire/messages/instance-states.ts';
import {
  checkDeltas,
  classLimits,
  createQuotaSnapshot,
  defaultLimits,
  deleteLimits,
  displayedUsage,
  effectiveLimits,
  findOverQuota,
  perUser,
  registerUsageCounter,
  setClassLimits,
  setLimits,
  settableRanges,
} from '../../src/objects/quotas.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';
import { testSpec } from '../helpers/request-spec.ts';

function config(quota: Record<string, string> = {}): Config {
  return loadConfig([], { quota });
}

function newInstance(flavor: Flavor, projectId: string, userId: string): NewInstance {
  const uuid = randomUUID();
  return {
    uuid,
    display_name: 'race',
    display_description: null,
    hostname: 'race',
    user_id: userId,
    project_id: projectId,
    image_ref: 'img',
    flavor,
    availability_zone: null,
    key_name: null,
    config_drive: '',
    user_data: null,
    reservation_id: 'r-race',
    launch_index: 0,
    access_ip_v4: null,
    access_ip_v6: null,
    metadata: {},
    storage_tier: 'hdd',
  };
}

/** Records one server of `flavor` for the project with the quota check, as POST /servers does. */
function createOne(database: Database, cfg: Config, flavor: Flavor, projectId: string, userId = 'u1') {
  const ctx = userContext({ userId, projectId, roles: ['member'] });
  return recordCheckedBuildRequest(database.db, ctx, {
    maxCount: 1,
    build: (count) => ({
      instances: Array.from({ length: count }, () => newInstance(flavor, projectId, userId)),
      spec: testSpec(),
    }),
    quota: {
      config: cfg,
      // The decision POST /servers makes, for one server without metadata or group.
      decide: (snapshot) =>
        serversAllowed(snapshot, {
          vcpus: flavor.vcpus,
          memoryMb: flavor.memory_mb,
          minCount: 1,
          maxCount: 1,
          metadataItems: 0,
          inGroup: false,
        }),
    },
  });
}

for (const dialect of ['sqlite', 'mysql', 'postgres'] as const) {
  describe(`quotas on ${dialect}`, { concurrency: 1 }, () => {
    let database: TestDatabase;
    let flavor: Flavor;
    before(async () => {
      database = await openTestDatabase(dialect);
      flavor = await createFlavor(database.db, { flavorid: 'q1', name: 'q1', vcpus: 2, memory_mb: 256, root_gb: 1 });
    });
    after(() => database.close());

    it('reads limits: user over project over the default class over [quota]', async () => {
      const db = database.db;
      const cfg = config({ instances: '10', cores: '20' });
      assert.equal((await defaultLimits(db, cfg)).instances, 10);
      await setClassLimits(db, 'default', { instances: 8 });
      await setClassLimits(db, 'gold', { cores: 99 });
      assert.equal((await defaultLimits(db, cfg)).instances, 8);
      // Another class falls back to [quota], as Nova's get_class_quotas does.
      assert.deepEqual(
        [(await classLimits(db, cfg, 'gold')).cores, (await classLimits(db, cfg, 'gold')).instances],
        [99, 10],
      );
      await setLimits(db, 'limits-p', null, { instances: 6, cores: 12 });
      await setLimits(db, 'limits-p', 'u2', { instances: 3, fixed_ips: 4 });
      const project = await effectiveLimits(db, cfg, 'limits-p');
      assert.deepEqual([project.instances, project.cores, project.ram, project.floating_ips], [6, 12, 51200, -1]);
      // fixed_ips is a per-project resource: a user-scoped update sets the project's.
      assert.equal(project.fixed_ips, 4);
      const user = await effectiveLimits(db, cfg, 'limits-p', 'u2');
      assert.deepEqual([user.instances, user.cores], [3, 12]);
      // An update replaces, it does not add a second row.
      await setLimits(db, 'limits-p', null, { instances: 7 });
      assert.equal((await effectiveLimits(db, cfg, 'limits-p')).instances, 7);
      assert.equal(await deleteLimits(db, 'limits-p', 'u2'), true);
      assert.equal((await effectiveLimits(db, cfg, 'limits-p', 'u2')).instances, 7);
      assert.equal(await deleteLimits(db, 'limits-p', null), true);
      assert.equal(await deleteLimits(db, 'limits-p', null), false);
      assert.equal((await effectiveLimits(db, cfg, 'limits-p')).instances, 8);
      await db.deleteFrom('quota_classes').execute();
    });

    it('counts live servers only, across the project and the user, in one snapshot with the limits', async () => {
      const db = database.db;
      const cfg = config();
      await insertTestInstance(db, { project: 'count-p' });
      await insertTestInstance(db, { project: 'count-p' });
      await insertTestInstance(db, { project: 'count-p', deleted: true });
      const soft = await insertTestInstance(db, { project: 'count-p' });
      await updateInstance(db, soft, { vm_state: VmState.SOFT_DELETED });
      await db.updateTable('instances').set({ user_id: 'u9' }).where('uuid', '=', soft).execute();
      await setLimits(db, 'count-p', null, { instances: 5 });
      await setLimits(db, 'count-p', 'u1', { cores: 3 });
      await setClassLimits(db, 'default', { ram: 1000 });

      const usage = await displayedUsage(db, cfg, 'count-p', null);
      assert.deepEqual([usage.instances, usage.cores, usage.ram], [2, 2, 1024]);
      const snapshot = await createQuotaSnapshot(db, cfg, { projectId: 'count-p', userId: 'u1' });
      assert.deepEqual(snapshot.usage.project, { instances: 2, cores: 2, ram: 1024 });
      assert.deepEqual(snapshot.usage.user, { instances: 2, cores: 2, ram: 1024 });
      assert.deepEqual(
        [snapshot.projectLimits.instances, snapshot.projectLimits.cores, snapshot.projectLimits.ram],
        [5, 20, 1000],
      );
      assert.deepEqual([snapshot.userLimits.instances, snapshot.userLimits.cores], [5, 3]);
      assert.equal(snapshot.userLimited, true);
      const other = await createQuotaSnapshot(db, cfg, { projectId: 'count-p', userId: 'nobody' });
      assert.deepEqual(other.usage.user, { instances: 0, cores: 0, ram: 0 });
      assert.equal(other.userLimited, false);
      // The user's live members of a group, in the same query.
      const group = await createServerGroup(db, { name: 'g', userId: 'u1', projectId: 'count-p', policy: 'affinity' });
      const members = await db.selectFrom('instances').select('uuid').where('project_id', '=', 'count-p').execute();
      await addServerGroupMembers(
        db,
        group.id,
        members.map((m) => m.uuid),
      );
      const grouped = await createQuotaSnapshot(db, cfg, { projectId: 'count-p', userId: 'u1', groupId: group.id });
      assert.equal(grouped.groupMembers, 2);
      assert.equal(grouped.usage.project.instances, 2);
      const empty = await createQuotaSnapshot(db, cfg, { projectId: 'nothing-here', userId: 'u1' });
      assert.deepEqual(empty.usage.project, { instances: 0, cores: 0, ram: 0 });
      assert.equal(empty.projectLimits.instances, 10);
      await db.deleteFrom('quota_classes').execute();
    });

    it('skips the count when no limit applies to servers, cores or ram', async () => {
      const db = database.db;
      const unlimited = config({ instances: '-1', cores: '-1', ram: '-1' });
      await insertTestInstance(db, { project: 'free-p' });
      const free = await createQuotaSnapshot(db, unlimited, { projectId: 'free-p', userId: 'u1' });
      assert.deepEqual(free.usage.project, { instances: 0, cores: 0, ram: 0 });
      assert.equal(free.projectLimits.instances, -1);
      // A stored limit on any of the three (the project's, the user's or the default class's) counts.
      for (const [where, set, undo] of [
        ['project', () => setLimits(db, 'free-p', null, { ram: 4096 }), () => deleteLimits(db, 'free-p', null)],
        ['user', () => setLimits(db, 'free-p', 'u1', { cores: 4 }), () => deleteLimits(db, 'free-p', 'u1')],
        [
          'class',
          () => setClassLimits(db, 'default', { instances: 9 }),
          () => db.deleteFrom('quota_classes').execute(),
        ],
      ] as const) {
        await set();
        const counted = await createQuotaSnapshot(db, unlimited, { projectId: 'free-p', userId: 'u1' });
        assert.deepEqual(counted.usage.project, { instances: 1, cores: 1, ram: 512 }, where);
        await undo();
      }
    });

    it('counts cores and ram from placement allocations when asked to', async () => {
      const db = database.db;
      const cfg = config({ count_usage_from_placement: 'true' });
      const placed = await insertTestInstance(db, { project: 'placement-p' });
      await insertTestInstance(db, { project: 'placement-p' }); // never scheduled: holds nothing
      await db
        .insertInto('allocations')
        .values([
          { resource_provider_id: 1, consumer_id: placed, resource_class: 'VCPU', used: 1, created_at: now() },
          { resource_provider_id: 1, consumer_id: placed, resource_class: 'MEMORY_MB', used: 512, created_at: now() },
          { resource_provider_id: 1, consumer_id: placed, resource_class: 'DISK_GB', used: 1, created_at: now() },
        ])
        .execute();
      const usage = await displayedUsage(db, cfg, 'placement-p', null);
      assert.deepEqual([usage.instances, usage.cores, usage.ram], [2, 1, 512]);
      const snapshot = await createQuotaSnapshot(db, cfg, { projectId: 'placement-p', userId: 'u1' });
      assert.deepEqual(snapshot.usage.user, { instances: 2, cores: 1, ram: 512 });
    });

    it('counts a server being resized at the larger of its two flavors until the move ends', async () => {
      const db = database.db;
      const cfg = config();
      const up = await insertTestInstance(db, { project: 'move-p' });
      const small = await getFlavor(db, 'rows.tiny'); // 1 vCPU, 512 MB
      const large = await createFlavor(db, { flavorid: 'mv-l', name: 'mv-l', vcpus: 4, memory_mb: 256, root_gb: 1 });
      const counted = async (userId: string | null = null) => {
        const usage = await displayedUsage(db, cfg, 'move-p', userId);
        return [usage.instances, usage.cores, usage.ram];
      };
      const moveOf = (uuid: string, from: Flavor, to: Flavor) =>
        createMigration(db, {
          instance_uuid: uuid,
          migration_type: 'resize',
          source_compute: 'h1',
          source_node: 'h1',
          old_flavor: from,
          new_flavor: to,
          user_id: 'u1',
          project_id: 'move-p',
        });
      assert.deepEqual(await counted(), [1, 1, 512]);
      // Accepted (pre-migrating, the server still on its old flavor): the bigger of each already counts.
      const upMove = await moveOf(up, small, large);
      assert.deepEqual(await counted(), [1, 4, 512]);
      assert.deepEqual(await counted('u1'), [1, 4, 512]);
      assert.deepEqual(await counted('u2'), [0, 0, 0]);
      // Finished on the destination (VERIFY_RESIZE, the server on its new flavor): the same.
      await updateMigration(db, upMove.uuid, { status: MigrationStatus.FINISHED, dest_compute: 'h2' });
      await updateInstance(db, up, flavorChanges(large));
      assert.deepEqual(await counted(), [1, 4, 512]);
      // Confirmed: only the flavor it has.
      await updateMigration(db, upMove.uuid, { status: MigrationStatus.CONFIRMED });
      assert.deepEqual(await counted(), [1, 4, 256]);

      // A resize down keeps counting the old size while a revert could give it back; a failed move or
      // a deleted server counts as the server it leaves.
      const down = await insertTestInstance(db, { project: 'move-p' });
      await updateInstance(db, down, flavorChanges(large));
      const downMove = await moveOf(down, large, small);
      await updateMigration(db, downMove.uuid, { status: MigrationStatus.FINISHED, dest_compute: 'h2' });
      await updateInstance(db, down, flavorChanges(small));
      assert.deepEqual(await counted(), [2, 8, 768]);
      await updateMigration(db, downMove.uuid, { status: MigrationStatus.REVERTING });
      assert.deepEqual(await counted(), [2, 8, 768]);
      await updateMigration(db, downMove.uuid, { status: MigrationStatus.ERROR });
      assert.deepEqual(await counted(), [2, 5, 768]);
      const gone = await insertTestInstance(db, { project: 'move-p', deleted: true });
      await moveOf(gone, small, large);
      assert.deepEqual(await counted(), [2, 5, 768]);
      // The check a resize up makes counts other servers' unfinished moves the same way.
      await moveOf(down, small, large);
      await setLimits(db, 'move-p', null, { cores: 8 });
      assert.equal(await findOverQuota(db, cfg, { cores: 0 }, { projectId: 'move-p', userId: 'u1' }), null);
      assert.deepEqual((await findOverQuota(db, cfg, { cores: 1 }, { projectId: 'move-p', userId: 'u1' }))?.overs, [
        'cores',
      ]);
      const snapshot = await createQuotaSnapshot(db, cfg, { projectId: 'move-p', userId: 'u1' });
      assert.deepEqual(snapshot.usage.project, { instances: 2, cores: 8, ram: 768 });
    });

    it('counts both allocations of a server being moved from placement, and growth not yet claimed', async () => {
      const db = database.db;
      const cfg = config({ count_usage_from_placement: 'true' });
      const uuid = await insertTestInstance(db, { project: 'pmove-p' });
      const small = await getFlavor(db, 'rows.tiny');
      const large = await createFlavor(db, { flavorid: 'mv-p', name: 'mv-p', vcpus: 3, memory_mb: 1024, root_gb: 1 });
      const hold = (consumer: string, vcpus: number, ram: number) =>
        db
          .insertInto('allocations')
          .values([
            { resource_provider_id: 1, consumer_id: consumer, resource_class: 'VCPU', used: vcpus, created_at: now() },
            {
              resource_provider_id: 1,
              consumer_id: consumer,
              resource_class: 'MEMORY_MB',
              used: ram,
              created_at: now(),
            },
          ])
          .execute();
      const counted = async () => {
        const usage = await displayedUsage(db, cfg, 'pmove-p', null);
        return [usage.cores, usage.ram];
      };
      const move = await createMigration(db, {
        instance_uuid: uuid,
        migration_type: 'resize',
        source_compute: 'h1',
        source_node: 'h1',
        old_flavor: small,
        new_flavor: large,
        user_id: 'u1',
        project_id: 'pmove-p',
      });
      // The source's share under the migration, the destination not yet claimed: its growth counts.
      await hold(move.uuid, 1, 512);
      assert.deepEqual(await counted(), [3, 1024]);
      // Claimed on the destination: both allocations, as Nova counts them from placement.
      await hold(uuid, 3, 1024);
      await updateMigration(db, move.uuid, { dest_compute: 'h2' });
      assert.deepEqual(await counted(), [4, 1536]);
      const user = await displayedUsage(db, cfg, 'pmove-p', 'u1');
      assert.deepEqual([user.cores, user.ram], [4, 1536]);
      // Confirmed: the migration's share freed.
      await db.deleteFrom('allocations').where('consumer_id', '=', move.uuid).execute();
      await updateMigration(db, move.uuid, { status: MigrationStatus.CONFIRMED });
      assert.deepEqual(await counted(), [3, 1024]);
    });

    it('checks deltas with a counter plugged in for a resource (as key pairs will be)', async () => {
      const db = database.db;
      const cfg = config({ key_pairs: '2' });
      const owned = new Map([['kp-user', 2]]);
      registerUsageCounter('key_pairs', async (_db, scope) => perUser('key_pairs', owned.get(scope.userId) ?? 0));
      const scope = { projectId: 'kp-p', userId: 'kp-user' };
      const found = await findOverQuota(db, cfg, { key_pairs: 1 }, scope);
      assert.deepEqual(found?.overs, ['key_pairs']);
      await assert.rejects(
        checkDeltas(db, cfg, { key_pairs: 1 }, scope, 'Quota exceeded, too many key pairs.'),
        (err: Error) => err instanceof QuotaExceeded && err.message === 'Quota exceeded, too many key pairs.',
      );
      assert.equal(await findOverQuota(db, cfg, { key_pairs: 1 }, { ...scope, userId: 'someone-else' }), null);
      // Resizing up: deltas on cores and ram against what the project's servers use.
      await insertTestInstance(db, { project: 'kp-p' });
      await setLimits(db, 'kp-p', null, { cores: 2 });
      assert.equal(await findOverQuota(db, cfg, { cores: 1 }, scope), null);
      assert.deepEqual((await findOverQuota(db, cfg, { cores: 2 }, scope))?.overs, ['cores']);
    });

    it('gives the settable range of a project and of a user', async () => {
      const db = database.db;
      const cfg = config({ cores: '20' });
      await insertTestInstance(db, { project: 'range-p' });
      await setLimits(db, 'range-p', 'a', { cores: 5 });
      await setLimits(db, 'range-p', 'b', { cores: 4 });
      const project = await settableRanges(db, cfg, 'range-p', null);
      assert.deepEqual(project.cores, { minimum: 9, maximum: -1 });
      assert.deepEqual(project.instances, { minimum: 1, maximum: -1 });
      const user = await settableRanges(db, cfg, 'range-p', 'a');
      assert.deepEqual(user.cores, { minimum: 0, maximum: 16 });
    });

    if (dialect !== 'sqlite') {
      it('lets exactly N of many racing creates from separate connections pass a quota with room for N', async () => {
        const room = 5;
        const racers = 24;
        const cfg = config({ instances: String(room) });
        // Two more "API processes", each with a pool of its own, beside this one.
        const apis = [database, await openDatabase(database.url, { maxPoolSize: 4 })];
        apis.push(await openDatabase(database.url, { maxPoolSize: 4 }));
        try {
          // The project's first create ever also races to add its lock row.
          const outcomes = await Promise.allSettled(
            Array.from({ length: racers }, (_, i) => createOne(apis[i % apis.length]!, cfg, flavor, 'race-p')),
          );
          const passed = outcomes.filter((o) => o.status === 'fulfilled').length;
          const refused = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof QuotaExceeded).length;
          const other = outcomes.find((o) => o.status === 'rejected' && !(o.reason instanceof QuotaExceeded));
          assert.equal(other, undefined, String((other as PromiseRejectedResult | undefined)?.reason));
          assert.deepEqual([passed, refused], [room, racers - room]);
          const rows = await database.db
            .selectFrom('instances')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('project_id', '=', 'race-p')
            .executeTakeFirstOrThrow();
          assert.equal(Number(rows.n), room);

          // Options that leave servers unlimited, and a limit stored for the project: the creates read
          // first, find the limit, and start again under the lock.
          const unlimited = config({ instances: '-1', cores: '-1', ram: '-1' });
          await setLimits(database.db, 'race-stored', null, { instances: room });
          const stored = await Promise.allSettled(
            Array.from({ length: racers }, (_, i) =>
              createOne(apis[i % apis.length]!, unlimited, flavor, 'race-stored'),
            ),
          );
          const failure = stored.find((o) => o.status === 'rejected' && !(o.reason instanceof QuotaExceeded));
          assert.equal(failure, undefined, String((failure as PromiseRejectedResult | undefined)?.reason));
          assert.equal(stored.filter((o) => o.status === 'fulfilled').length, room);
          // Without any limit every create passes, without the lock.
          const free = await Promise.allSettled(
            Array.from({ length: racers }, (_, i) => createOne(apis[i % apis.length]!, unlimited, flavor, 'race-free')),
          );
          assert.equal(free.filter((o) => o.status === 'fulfilled').length, racers);
          const locks = await database.db.selectFrom('quota_project_locks').select('project_id').execute();
          assert.deepEqual(locks.map((l) => l.project_id).sort(), ['race-p', 'race-stored']);

          // Again with room made by raising the quota: the lock row exists now.
          const more = config({ instances: String(room * 2) });
          const second = await Promise.allSettled(
            Array.from({ length: racers }, (_, i) => createOne(apis[i % apis.length]!, more, flavor, 'race-p')),
          );
          assert.equal(second.filter((o) => o.status === 'fulfilled').length, room);
        } finally {
          await Promise.all(apis.slice(1).map((d) => d.close()));
        }
      });

      it('lets exactly N of racing resizes up and creates pass a quota with room for N', async () => {
        const room = 3;
        const servers = 8;
        const cfg = config({ cores: '-1', instances: '-1', ram: '-1' });
        const wider = await createFlavor(database.db, {
          flavorid: 'q2',
          name: 'q2',
          vcpus: 3,
          memory_mb: 256,
          root_gb: 1,
        });
        const apis = [database, await openDatabase(database.url, { maxPoolSize: 4 })];
        apis.push(await openDatabase(database.url, { maxPoolSize: 4 }));
        try {
          // Servers of `flavor` (2 vCPUs): each resize to `wider` adds 1, as each create of a 1-vCPU flavor does.
          const one = await createFlavor(database.db, {
            flavorid: 'q3',
            name: 'q3',
            vcpus: 1,
            memory_mb: 64,
            root_gb: 1,
          });
          const built = await Promise.all(
            Array.from({ length: servers }, () => createOne(database, cfg, flavor, 'race-rs')),
          );
          const uuids = built.flatMap((b) => b.instances.map((i) => i.uuid));
          for (const uuid of uuids) {
            await updateInstance(database.db, uuid, {
              vm_state: VmState.ACTIVE,
              task_state: null,
              host: 'h1',
              node: 'h1',
            });
          }
          await setLimits(database.db, 'race-rs', null, { cores: servers * flavor.vcpus + room });
          const ctx = userContext({ userId: 'u1', projectId: 'race-rs', roles: ['member'] });
          const resizes = uuids.map(async (uuid, i) => {
            const db = apis[i % apis.length]!.db;
            return beginMove(db, ctx, await getInstance(db, uuid), {
              type: 'resize',
              flavor: wider,
              changes: { task_state: 'resize_prep' },
              expected: { vmState: [VmState.ACTIVE], taskState: [null] },
              action: 'resize',
              config: cfg,
              overQuota: () => 'over',
            });
          });
          const creates = uuids.map((_, i) => createOne(apis[(i + 1) % apis.length]!, cfg, one, 'race-rs'));
          const outcomes = await Promise.allSettled([...resizes, ...creates]);
          const other = outcomes.find((o) => o.status === 'rejected' && !(o.reason instanceof QuotaExceeded));
          assert.equal(other, undefined, String((other as PromiseRejectedResult | undefined)?.reason));
          assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, room);
          const usage = await displayedUsage(database.db, cfg, 'race-rs', null);
          assert.equal(usage.cores, servers * flavor.vcpus + room);
        } finally {
          await Promise.all(apis.slice(1).map((d) => d.close()));
        }
      });
    }
  });
}
