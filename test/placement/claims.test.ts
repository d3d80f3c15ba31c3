/**
 * Atomic resource claims on every engine: capacity is (total - reserved) * allocation_ratio, units are
 * checked, releases and redelivered claims are harmless, and schedulers racing through separate
 * connections for the last capacity of a host never overcommit it, nor the storage pool of a tier.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Dialect } from '../../src/common/db/connection-url.ts';
import { openDatabase, type Database, type Db } from '../../src/common/db/database.ts';
import { syncSchema } from '../../src/common/db/migrator.ts';
import { ClaimFailed } from '../../src/common/errors.ts';
import { addServerGroupMembers, createServerGroup } from '../../src/objects/server-groups.ts';
import { claimResources, releaseAllocations } from '../../src/placement/claims.ts';
import { providerUsages, setInventories } from '../../src/placement/providers.ts';
import { capacity, type Inventory } from '../../src/placement/resource-classes.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';

const inv = (total: number, extra: Partial<Inventory> = {}): Inventory => ({
  total,
  reserved: 0,
  min_unit: 1,
  max_unit: total,
  step_size: 1,
  allocation_ratio: 1.0,
  ...extra,
});

async function newProvider(db: Db, inventories: Record<string, Inventory>): Promise<string> {
  const uuid = randomUUID();
  await setInventories(db, uuid, `node-${uuid.slice(0, 8)}`, inventories);
  return uuid;
}

/** A node provider with `inventories` and a storage pool provider per tier of `pools` (tier -> GB). */
async function newNodeWithPools(
  db: Db,
  inventories: Record<string, Inventory>,
  pools: Record<string, number>,
): Promise<{ node: string; pools: Record<string, string> }> {
  const node = randomUUID();
  const rootId = await setInventories(db, node, `node-${node.slice(0, 8)}`, inventories);
  const poolUuids: Record<string, string> = {};
  for (const [tier, gb] of Object.entries(pools)) {
    poolUuids[tier] = randomUUID();
    await setInventories(
      db,
      poolUuids[tier],
      `node-${node.slice(0, 8)}_${tier}`,
      { DISK_GB: inv(gb) },
      { rootId, tier },
    );
  }
  return { node, pools: poolUuids };
}

async function usageOf(db: Db, uuid: string) {
  const usage = (await providerUsages(db, [uuid])).get(uuid);
  assert.ok(usage, `provider ${uuid} has no usage record`);
  return usage;
}

async function allocationsOf(db: Db, consumer: string) {
  return db
    .selectFrom('allocations')
    .select(['resource_class', 'used'])
    .where('consumer_id', '=', consumer)
    .orderBy('resource_class')
    .execute();
}

/** Asserts used <= (total - reserved) * allocation_ratio for every inventory of the database. */
async function assertNoOvercommit(db: Db): Promise<void> {
  for (const [uuid, usage] of await providerUsages(db)) {
    for (const [rc, inventory] of Object.entries(usage.inventories)) {
      const used = usage.usages[rc] ?? 0;
      assert.ok(
        used <= (inventory.total - inventory.reserved) * inventory.allocation_ratio,
        `${uuid} ${rc}: ${used} used of ${capacity(inventory)}`,
      );
    }
  }
}

const claimFailed = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ClaimFailed, `expected ClaimFailed, got ${String(err)}`);
  assert.match(err.message, pattern);
  return true;
};

/**
 * A migrated database that other connections can open too: a scratch database on MariaDB/PostgreSQL,
 * a temporary file for SQLite (an in-memory one is private to its connection).
 */
async function shareableDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect !== 'sqlite') return openTestDatabase(dialect);
  const dir = mkdtempSync(join(tmpdir(), 'stratus-claims-'));
  const url = `sqlite:///${dir}/claims.sqlite`;
  const database = await openDatabase(url);
  await syncSchema(database);
  return {
    ...database,
    url,
    close: async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The engines run side by side; the steps of each engine run in order.
describe('claims', { concurrency: true }, () => {
  for (const dialect of ['sqlite', 'mysql', 'postgres'] as const) {
    describe(`on ${dialect}`, { concurrency: 1 }, () => {
      let database: TestDatabase;
      let db: Db;
      before(async () => {
        database = await shareableDatabase(dialect);
        db = database.db;
      });
      after(() => database?.close());

      it('claims within capacity: (total - reserved) * allocation_ratio, leaving the generation to inventory changes', async () => {
        const rp = await newProvider(db, {
          VCPU: inv(4, { max_unit: 8, allocation_ratio: 2.0 }),
          MEMORY_MB: inv(2048, { reserved: 512 }),
        });
        const before = (await usageOf(db, rp)).generation;
        const a = randomUUID();
        await claimResources(db, a, rp, { VCPU: 6, MEMORY_MB: 1024 });
        const usage = await usageOf(db, rp);
        assert.deepEqual(usage.usages, { VCPU: 6, MEMORY_MB: 1024 });
        assert.equal(usage.generation, before, 'claims queue on row locks, not on the generation');
        assert.deepEqual(await allocationsOf(db, a), [
          { resource_class: 'MEMORY_MB', used: 1024 },
          { resource_class: 'VCPU', used: 6 },
        ]);
        // Exactly up to capacity is allowed: 8 VCPU, 1536 MB.
        await claimResources(db, randomUUID(), rp, { VCPU: 2, MEMORY_MB: 512 });
        assert.deepEqual((await usageOf(db, rp)).usages, { VCPU: 8, MEMORY_MB: 1536 });
      });

      it('refuses beyond capacity, writing nothing and leaving the generation alone', async () => {
        const rp = await newProvider(db, {
          VCPU: inv(3, { reserved: 1, allocation_ratio: 1.5 }),
          MEMORY_MB: inv(1024, { reserved: 512 }),
        });
        await claimResources(db, randomUUID(), rp, { VCPU: 2, MEMORY_MB: 256 });
        const generation = (await usageOf(db, rp)).generation;
        const b = randomUUID();
        await assert.rejects(
          claimResources(db, b, rp, { VCPU: 1, MEMORY_MB: 512 }),
          claimFailed(/MEMORY_MB: 512 requested, 256 free/),
        );
        await assert.rejects(
          claimResources(db, b, rp, { VCPU: 2, MEMORY_MB: 1 }),
          claimFailed(/VCPU: 2 requested, 1 free/),
        );
        await assert.rejects(claimResources(db, b, rp, { DISK_GB: 1 }), claimFailed(/no DISK_GB inventory/));
        await assert.rejects(
          claimResources(db, b, randomUUID(), { VCPU: 1 }),
          claimFailed(/resource provider .* not found/),
        );
        assert.deepEqual(await allocationsOf(db, b), []);
        const usage = await usageOf(db, rp);
        assert.deepEqual(usage.usages, { VCPU: 2, MEMORY_MB: 256 });
        assert.equal(usage.generation, generation);
        // Zero of a class the provider lacks asks for nothing, and writes no row for it.
        await claimResources(db, b, rp, { VCPU: 1, MEMORY_MB: 256, DISK_GB: 0 });
        assert.deepEqual(await allocationsOf(db, b), [
          { resource_class: 'MEMORY_MB', used: 256 },
          { resource_class: 'VCPU', used: 1 },
        ]);
        await assertNoOvercommit(db);
      });

      it('enforces min_unit, max_unit and step_size', async () => {
        const rp = await newProvider(db, { DISK_GB: inv(100, { min_unit: 2, max_unit: 10, step_size: 2 }) });
        const c = randomUUID();
        await assert.rejects(claimResources(db, c, rp, { DISK_GB: 1 }), claimFailed(/DISK_GB 1 below min_unit 2/));
        await assert.rejects(claimResources(db, c, rp, { DISK_GB: 12 }), claimFailed(/DISK_GB 12 above max_unit 10/));
        await assert.rejects(
          claimResources(db, c, rp, { DISK_GB: 5 }),
          claimFailed(/DISK_GB 5 not a multiple of step_size 2/),
        );
        await claimResources(db, c, rp, { DISK_GB: 10 });
        assert.deepEqual((await usageOf(db, rp)).usages, { DISK_GB: 10 });
      });

      it('checks against the inventory as last reported, and mends usage rows that lost their limits', async () => {
        const rp = await newProvider(db, { VCPU: inv(4), MEMORY_MB: inv(1024) });
        await claimResources(db, randomUUID(), rp, { VCPU: 2, MEMORY_MB: 256 });
        // The host shrinks: the claim's limits follow its inventory, reserved and ratio included.
        await setInventories(db, rp, 'shrunk', {
          VCPU: inv(4, { reserved: 1, allocation_ratio: 1.25 }),
          MEMORY_MB: inv(1024),
        });
        await assert.rejects(
          claimResources(db, randomUUID(), rp, { VCPU: 2, MEMORY_MB: 1 }),
          claimFailed(/VCPU: 2 requested, 1 free/),
        );
        await claimResources(db, randomUUID(), rp, { VCPU: 1, MEMORY_MB: 1 });
        // Ratios a float cannot hold exactly: the claim's capacity is the one readers of the inventory compute.
        const odd = await newProvider(db, {
          VCPU: inv(10, { allocation_ratio: 0.9 }),
          MEMORY_MB: inv(1000, { reserved: 1, allocation_ratio: 1.1, max_unit: 2000 }),
        });
        const read = (await usageOf(db, odd)).inventories;
        await claimResources(db, randomUUID(), odd, {
          VCPU: capacity(read['VCPU']!),
          MEMORY_MB: capacity(read['MEMORY_MB']!),
        });
        await assert.rejects(
          claimResources(db, randomUUID(), odd, { VCPU: 1 }),
          claimFailed(/VCPU: 1 requested, 0 free/),
        );
        // An inventory removed: its usage row stays (it still counts) but refuses every claim.
        await setInventories(db, rp, 'shrunk', { MEMORY_MB: inv(1024) });
        await assert.rejects(claimResources(db, randomUUID(), rp, { VCPU: 1 }), claimFailed(/no VCPU inventory/));
        // Usage rows that lost their limits or their row (written by something other than setInventories)
        // would refuse everything: the refused claim's second look mends them, and the claim goes through.
        const { id } = await db
          .selectFrom('resource_providers')
          .select('id')
          .where('uuid', '=', rp)
          .executeTakeFirstOrThrow();
        await db
          .updateTable('resource_usages')
          .set({ capacity: null })
          .where('resource_provider_id', '=', id)
          .execute();
        await claimResources(db, randomUUID(), rp, { MEMORY_MB: 256 });
        await db.deleteFrom('resource_usages').where('resource_provider_id', '=', id).execute();
        await claimResources(db, randomUUID(), rp, { MEMORY_MB: 256 });
        assert.deepEqual(
          (await usageOf(db, rp)).usages,
          { MEMORY_MB: 256 + 1 + 256 + 256 },
          'a re-created row counts what is allocated',
        );
      });

      it('claims on a provider deleted and re-created under the same uuid land on the new one', async () => {
        const rp = await newProvider(db, { VCPU: inv(4) });
        await claimResources(db, randomUUID(), rp, { VCPU: 1 }); // its id is remembered now
        const remove = async () => {
          const { id } = await db
            .selectFrom('resource_providers')
            .select('id')
            .where('uuid', '=', rp)
            .executeTakeFirstOrThrow();
          for (const table of ['resource_usages', 'allocations', 'inventories'] as const) {
            await db.deleteFrom(table).where('resource_provider_id', '=', id).execute();
          }
          await db.deleteFrom('resource_providers').where('id', '=', id).execute();
        };
        await remove();
        await setInventories(db, rp, 'again', { VCPU: inv(2) });
        await claimResources(db, randomUUID(), rp, { VCPU: 2 });
        assert.deepEqual((await usageOf(db, rp)).usages, { VCPU: 2 });
        await remove();
        await assert.rejects(claimResources(db, randomUUID(), rp, { VCPU: 1 }), claimFailed(/not found/));
      });

      it('releaseAllocations frees everything the consumer holds, and is idempotent', async () => {
        const rp1 = await newProvider(db, { VCPU: inv(4) });
        const rp2 = await newProvider(db, { VCPU: inv(4) });
        const keep = randomUUID();
        const gone = randomUUID();
        await claimResources(db, keep, rp1, { VCPU: 1 });
        await claimResources(db, gone, rp1, { VCPU: 2 });
        // A second provider's allocation for the same consumer, with its usage (written as a move would).
        const rp2Id = (
          await db.selectFrom('resource_providers').select('id').where('uuid', '=', rp2).executeTakeFirstOrThrow()
        ).id;
        await db
          .insertInto('allocations')
          .values({
            resource_provider_id: rp2Id,
            consumer_id: gone,
            resource_class: 'VCPU',
            used: 3,
            created_at: new Date().toISOString(),
          })
          .execute();
        await db.updateTable('resource_usages').set({ used: 3 }).where('resource_provider_id', '=', rp2Id).execute();
        assert.deepEqual((await usageOf(db, rp2)).usages, { VCPU: 3 });
        await releaseAllocations(db, gone);
        assert.deepEqual(await allocationsOf(db, gone), []);
        assert.deepEqual((await usageOf(db, rp1)).usages, { VCPU: 1 });
        assert.deepEqual((await usageOf(db, rp2)).usages, {});
        await releaseAllocations(db, gone);
        await releaseAllocations(db, randomUUID());
        assert.deepEqual((await usageOf(db, rp1)).usages, { VCPU: 1 }, 'a release of nothing changes nothing');
        assert.deepEqual(await allocationsOf(db, keep), [{ resource_class: 'VCPU', used: 1 }]);
      });

      it('a claim delivered twice does not double-count, even on a full host', async () => {
        const rp = await newProvider(db, { VCPU: inv(2), MEMORY_MB: inv(1024) });
        const d = randomUUID();
        await claimResources(db, d, rp, { VCPU: 2, MEMORY_MB: 1024 });
        await claimResources(db, d, rp, { VCPU: 2, MEMORY_MB: 1024 });
        assert.deepEqual((await usageOf(db, rp)).usages, { VCPU: 2, MEMORY_MB: 1024 });
        assert.deepEqual(await allocationsOf(db, d), [
          { resource_class: 'MEMORY_MB', used: 1024 },
          { resource_class: 'VCPU', used: 2 },
        ]);
        // A new claim of the same consumer replaces its allocations.
        await claimResources(db, d, rp, { VCPU: 1, MEMORY_MB: 512 });
        assert.deepEqual((await usageOf(db, rp)).usages, { VCPU: 1, MEMORY_MB: 512 });
        await assert.rejects(claimResources(db, randomUUID(), rp, { VCPU: 2 }), ClaimFailed);
        await assertNoOvercommit(db);
      });

      it('racing claims through separate connections: exactly N of 3N win, the rest get ClaimFailed', async () => {
        const N = 8;
        // Four schedulers' worth of connections: this one and three more Database objects on the same URL.
        const others: Database[] = [];
        for (let i = 0; i < 3; i++) others.push(await openDatabase(database.url, { maxPoolSize: 4 }));
        const all = [database, ...others];
        try {
          const rp = await newProvider(db, {
            VCPU: inv(N * 2, { allocation_ratio: 0.5 }),
            MEMORY_MB: inv(N * 512 + 256, { reserved: 256 }),
            DISK_GB: inv(1000),
          });
          const consumers = Array.from({ length: 3 * N }, () => randomUUID());
          const outcomes = await Promise.allSettled(
            consumers.map((c, i) =>
              claimResources(all[i % all.length]!.db, c, rp, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 10 }),
            ),
          );
          const failures = outcomes
            .filter((o) => o.status === 'rejected')
            .map((o) => (o as PromiseRejectedResult).reason as unknown);
          const unexpected = failures.filter((e) => !(e instanceof ClaimFailed));
          assert.deepEqual(unexpected.map(String), [], 'every loser gets ClaimFailed');
          assert.equal(
            outcomes.filter((o) => o.status === 'fulfilled').length,
            N,
            `winners; failures: ${failures.map(String).join('; ')}`,
          );
          const usage = await usageOf(db, rp);
          assert.deepEqual(usage.usages, { VCPU: N, MEMORY_MB: N * 512, DISK_GB: N * 10 });
          const holders = await db
            .selectFrom('allocations')
            .select('consumer_id')
            .distinct()
            .where('consumer_id', 'in', consumers)
            .execute();
          assert.equal(holders.length, N);
          await assertNoOvercommit(db);
        } finally {
          for (const d of others) await d.close();
        }
      });

      it('an anti-affinity guard refuses a node holding the most members of the group, even to racing claims', async () => {
        const nodes = [await newProvider(db, { VCPU: inv(64), MEMORY_MB: inv(65536) })];
        nodes.push(await newProvider(db, { VCPU: inv(64), MEMORY_MB: inv(65536) }));
        const members = Array.from({ length: 6 }, () => randomUUID());
        const group = await createServerGroup(db, {
          name: 'spread',
          userId: 'u',
          projectId: 'p',
          policy: 'anti-affinity',
        });
        await addServerGroupMembers(db, group.id, members);
        const guard = { groupUuid: group.uuid, maxPerHost: 1 };
        const small = { VCPU: 1, MEMORY_MB: 64 };

        await claimResources(db, members[0]!, nodes[0]!, small, null, guard);
        await claimResources(db, members[0]!, nodes[0]!, small, null, guard); // its own claim again: not a second member
        await assert.rejects(claimResources(db, members[1]!, nodes[0]!, small, null, guard), ClaimFailed);
        await claimResources(db, members[1]!, nodes[0]!, small, null, { ...guard, maxPerHost: 2 });
        await releaseAllocations(db, members[0]!);
        await releaseAllocations(db, members[1]!);

        // Four members race for two nodes through separate connections: one member per node wins.
        const others: Database[] = [];
        for (let i = 0; i < 3; i++) others.push(await openDatabase(database.url, { maxPoolSize: 2 }));
        try {
          const all = [database, ...others];
          const racers = members.slice(2);
          const outcomes = await Promise.allSettled(
            racers.flatMap((m, i) =>
              nodes.map((node) => claimResources(all[i % all.length]!.db, m, node, small, null, guard)),
            ),
          );
          const refused = outcomes.filter((o) => o.status === 'rejected');
          assert.ok(refused.every((o) => (o as PromiseRejectedResult).reason instanceof ClaimFailed));
          const perNode = await db
            .selectFrom('allocations')
            .select(['resource_provider_id'])
            .select((eb) => eb.fn.count<number | string>('consumer_id').distinct().as('members'))
            .where('consumer_id', 'in', racers)
            .groupBy('resource_provider_id')
            .execute();
          assert.ok(perNode.length >= 1, 'someone won');
          for (const row of perNode) assert.equal(Number(row.members), 1, 'one member per node');
        } finally {
          for (const d of others) await d.close();
        }
      });

      it('takes the disk from the pool of the requested tier, with the rest from the node, all or nothing', async () => {
        const { node, pools } = await newNodeWithPools(
          db,
          { VCPU: inv(8), MEMORY_MB: inv(4096) },
          { hdd: 100, ssd: 20 },
        );
        const a = randomUUID();
        await claimResources(db, a, node, { VCPU: 2, MEMORY_MB: 1024, DISK_GB: 15 }, 'ssd');
        assert.deepEqual((await usageOf(db, node)).usages, { VCPU: 2, MEMORY_MB: 1024 });
        assert.deepEqual((await usageOf(db, pools.ssd!)).usages, { DISK_GB: 15 });
        assert.deepEqual((await usageOf(db, pools.hdd!)).usages, {});

        // The ssd pool has 5 GB left: refused, and the VCPU and memory it would have taken stay free.
        const b = randomUUID();
        await assert.rejects(
          claimResources(db, b, node, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 6 }, 'ssd'),
          claimFailed(/ssd pool: DISK_GB: 6 requested, 5 free/),
        );
        assert.deepEqual(await allocationsOf(db, b), []);
        assert.deepEqual((await usageOf(db, node)).usages, { VCPU: 2, MEMORY_MB: 1024 });
        await assert.rejects(
          claimResources(db, b, node, { VCPU: 1, DISK_GB: 1 }, 'pcie_ssd'),
          claimFailed(/no pcie_ssd storage pool/),
        );

        // The same disk fits the hdd pool; a redelivered claim moves nothing.
        await claimResources(db, b, node, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 6 }, 'hdd');
        await claimResources(db, b, node, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 6 }, 'hdd');
        assert.deepEqual((await usageOf(db, pools.hdd!)).usages, { DISK_GB: 6 });
        assert.deepEqual((await usageOf(db, node)).usages, { VCPU: 3, MEMORY_MB: 1536 });

        await releaseAllocations(db, a);
        await releaseAllocations(db, b);
        for (const uuid of [node, pools.hdd!, pools.ssd!]) assert.deepEqual((await usageOf(db, uuid)).usages, {});
      });

      it('racing claims for the last space of a tier through separate connections: exactly N win, no pool overcommitted', async () => {
        const N = 6;
        const others: Database[] = [];
        for (let i = 0; i < 3; i++) others.push(await openDatabase(database.url, { maxPoolSize: 4 }));
        const all = [database, ...others];
        try {
          // Plenty of CPU, memory and hdd: the ssd pool (N disks of 10 GB) is what runs out.
          const { node, pools } = await newNodeWithPools(
            db,
            { VCPU: inv(100), MEMORY_MB: inv(100_000) },
            { hdd: 10_000, ssd: N * 10 + 5 },
          );
          const consumers = Array.from({ length: 3 * N }, () => randomUUID());
          const outcomes = await Promise.allSettled(
            consumers.map((c, i) =>
              claimResources(all[i % all.length]!.db, c, node, { VCPU: 1, MEMORY_MB: 256, DISK_GB: 10 }, 'ssd'),
            ),
          );
          const failures = outcomes
            .filter((o) => o.status === 'rejected')
            .map((o) => (o as PromiseRejectedResult).reason as unknown);
          assert.deepEqual(
            failures.filter((e) => !(e instanceof ClaimFailed)).map(String),
            [],
            'every loser gets ClaimFailed',
          );
          assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, N);
          assert.deepEqual((await usageOf(db, pools.ssd!)).usages, { DISK_GB: N * 10 });
          assert.deepEqual((await usageOf(db, pools.hdd!)).usages, {});
          // The losers' VCPU and memory were never counted: the node holds exactly the winners'.
          assert.deepEqual((await usageOf(db, node)).usages, { VCPU: N, MEMORY_MB: N * 256 });
          await assertNoOvercommit(db);
        } finally {
          for (const d of others) await d.close();
        }
      });

      it('releases racing new claims through separate connections: no error, no overcommit, freed capacity reused', async () => {
        const N = 6;
        const others: Database[] = [];
        for (let i = 0; i < 3; i++) others.push(await openDatabase(database.url, { maxPoolSize: 4 }));
        const all = [database, ...others];
        try {
          const rp = await newProvider(db, { VCPU: inv(N), MEMORY_MB: inv(N * 256) });
          const holders = Array.from({ length: N }, () => randomUUID());
          for (const h of holders) await claimResources(db, h, rp, { VCPU: 1, MEMORY_MB: 256 });
          const newcomers = Array.from({ length: 2 * N }, () => randomUUID());
          const outcomes = await Promise.allSettled([
            ...holders.map((h, i) => releaseAllocations(all[i % all.length]!.db, h)),
            ...newcomers.map((c, i) =>
              claimResources(all[(i + 1) % all.length]!.db, c, rp, { VCPU: 1, MEMORY_MB: 256 }),
            ),
          ]);
          const releases = outcomes.slice(0, N);
          const claims = outcomes.slice(N);
          const reasons = (list: PromiseSettledResult<void>[]) =>
            list.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as unknown);
          assert.deepEqual(reasons(releases).map(String), [], 'releases never fail');
          assert.deepEqual(
            reasons(claims)
              .filter((e) => !(e instanceof ClaimFailed))
              .map(String),
            [],
            'losers get ClaimFailed',
          );
          const won = claims.filter((o) => o.status === 'fulfilled').length;
          assert.ok(won >= 1 && won <= N, `${won} claims won`);
          const usage = await usageOf(db, rp);
          assert.deepEqual(usage.usages, { VCPU: won, MEMORY_MB: won * 256 });
          await assertNoOvercommit(db);
        } finally {
          for (const d of others) await d.close();
        }
      });
    });
  }
});
