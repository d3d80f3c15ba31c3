/**
 * The scheduler with hints over a real (SQLite) database: server groups (strict and soft, with the picks
 * of one multi-instance request counted), same_host / different_host, zones and metadata of aggregates.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadConfig, type RawOverrides } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { NoValidHost } from '../../src/common/errors.ts';
import { addAggregateHost, createAggregate, setAggregateMetadata } from '../../src/objects/aggregates.ts';
import { updateInstance } from '../../src/objects/instances.ts';
import {
  addServerGroupMembers,
  createServerGroup,
  type ServerGroupPolicy,
  type ServerGroupRules,
} from '../../src/objects/server-groups.ts';
import { SchedulerManager } from '../../src/scheduler/manager.ts';
import type { RequestSpec, Selection } from '../../src/wire/messages/request-spec.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';
import { addComputeHost, requestSpec } from '../helpers/scheduler-fixtures.ts';

const opened: TestDatabase[] = [];

async function setup(hosts: string[], overrides: RawOverrides = {}) {
  const database = await openTestDatabase('sqlite');
  opened.push(database);
  const config = loadConfig([], overrides);
  for (const host of hosts) await addComputeHost(database.db, config, host);
  const scheduler = new SchedulerManager(database, config);
  const db = database.db;
  return {
    db,
    scheduler,
    /** Records `count` instances (in `group`, if given) as the API does, schedules them in one request, places them. */
    async boot(count: number, spec: Partial<RequestSpec> = {}, groupId?: number): Promise<string[]> {
      const uuids: string[] = [];
      for (let i = 0; i < count; i++) uuids.push(await insertTestInstance(db));
      if (groupId !== undefined) await addServerGroupMembers(db, groupId, uuids);
      const selections = await scheduler.selectDestinations(
        adminContext(),
        requestSpec({ num_instances: count, ...spec }),
        uuids,
      );
      // What the conductor does with each choice: the instance is now on that host.
      for (const [i, uuid] of uuids.entries()) {
        const chosen = selections[i]![0]!;
        await updateInstance(db, uuid, { host: chosen.service_host, node: chosen.nodename });
      }
      return selections.map((s: Selection[]) => s[0]!.service_host);
    },
    async group(policy: ServerGroupPolicy, rules: ServerGroupRules = {}) {
      return createServerGroup(db, { name: 'g', userId: 'u1', projectId: 'p1', policy, rules });
    },
    async allocations() {
      return db.selectFrom('allocations').select('consumer_id').execute();
    },
  };
}

const sorted = (hosts: string[]) => [...hosts].sort();
const noValidHost = (err: unknown) => err instanceof NoValidHost;

describe('scheduling with hints', () => {
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.close();
  });

  describe('strict server groups', () => {
    it('anti-affinity spreads the instances of one request over hosts, and refuses what cannot spread', async () => {
      const c = await setup(['h1', 'h2', 'h3']);
      const g = await c.group('anti-affinity');
      const hint = { scheduler_hints: { group: g.uuid } };
      const first = await c.boot(2, hint, g.id);
      assert.equal(new Set(first).size, 2, `two members, two hosts: ${first.join(', ')}`);
      // One host is left for the group: a request for two fails whole, claiming nothing.
      const before = (await c.allocations()).length;
      await assert.rejects(c.boot(2, hint, g.id), noValidHost);
      assert.equal((await c.allocations()).length, before, 'no claim left behind');
      const [last] = await c.boot(1, hint, g.id);
      assert.ok(!first.includes(last!), `the third member goes to the third host, not ${last}`);
    });

    it('anti-affinity with max_server_per_host puts at most that many on a host', async () => {
      const c = await setup(['h1', 'h2']);
      const g = await c.group('anti-affinity', { max_server_per_host: 2 });
      const placed = await c.boot(4, { scheduler_hints: { group: [g.uuid] } }, g.id);
      assert.deepEqual(sorted(placed), ['h1', 'h1', 'h2', 'h2']);
      await assert.rejects(c.boot(1, { scheduler_hints: { group: g.uuid } }, g.id), noValidHost);
    });

    it('affinity stacks the instances of one request on one host, and later members join them', async () => {
      // Every resource weigher spreads by default; affinity overrides them.
      const c = await setup(['h1', 'h2', 'h3']);
      const g = await c.group('affinity');
      const first = await c.boot(3, { scheduler_hints: { group: g.uuid } }, g.id);
      assert.equal(new Set(first).size, 1, `one host for all: ${first.join(', ')}`);
      const later = await c.boot(2, { scheduler_hints: { group: g.uuid } }, g.id);
      assert.deepEqual(later, [first[0], first[0]]);
    });
  });

  describe('alternates of a multi-instance request', () => {
    it('still obey the group once every instance of the request is placed', async () => {
      const c = await setup(['h1', 'h2', 'h3', 'h4'], { scheduler: { max_attempts: '3' } });
      const anti = await c.group('anti-affinity');
      const uuids = [await insertTestInstance(c.db), await insertTestInstance(c.db)];
      await addServerGroupMembers(c.db, anti.id, uuids);
      const selections = await c.scheduler.selectDestinations(
        adminContext(),
        requestSpec({ num_instances: 2, scheduler_hints: { group: anti.uuid } }),
        uuids,
      );
      const chosen = selections.map((s) => s[0]!.service_host);
      for (const [first, ...alternates] of selections) {
        assert.equal(alternates.length, 2, `${first!.service_host}: two alternates`);
        for (const alternate of alternates) assert.ok(!chosen.includes(alternate.service_host), alternate.service_host);
      }

      // An affinity group's members all went to one host: no other host may take a rescheduled one.
      const aff = await c.group('affinity');
      const more = [await insertTestInstance(c.db), await insertTestInstance(c.db)];
      await addServerGroupMembers(c.db, aff.id, more);
      const stacked = await c.scheduler.selectDestinations(
        adminContext(),
        requestSpec({ num_instances: 2, scheduler_hints: { group: aff.uuid } }),
        more,
      );
      assert.deepEqual(
        stacked.map((s) => s.length),
        [1, 1],
      );
    });
  });

  describe('soft server groups', () => {
    it('soft-anti-affinity spreads even when the resource weighers would stack', async () => {
      const c = await setup(['h1', 'h2', 'h3'], {
        filter_scheduler: {
          ram_weight_multiplier: '-1',
          cpu_weight_multiplier: '-1',
          disk_weight_multiplier: '-1',
          soft_anti_affinity_weight_multiplier: '10',
        },
      });
      const g = await c.group('soft-anti-affinity');
      assert.deepEqual(sorted(await c.boot(3, { scheduler_hints: { group: g.uuid } }, g.id)), ['h1', 'h2', 'h3']);
      // A fourth still finds a host: soft policies never exclude one.
      assert.equal((await c.boot(1, { scheduler_hints: { group: g.uuid } }, g.id)).length, 1);
      // Without the group, the same weighers stack.
      const stacked = await c.boot(2);
      assert.equal(new Set(stacked).size, 1);
    });

    it('soft-affinity stacks even when the resource weighers would spread', async () => {
      const c = await setup(['h1', 'h2', 'h3'], { filter_scheduler: { soft_affinity_weight_multiplier: '10' } });
      const g = await c.group('soft-affinity');
      const placed = await c.boot(3, { scheduler_hints: { group: g.uuid } }, g.id);
      assert.equal(new Set(placed).size, 1, `stacked: ${placed.join(', ')}`);
    });
  });

  describe('same_host and different_host', () => {
    it('place next to, or away from, the named instances (filters an operator enables)', async () => {
      const c = await setup(['h1', 'h2', 'h3'], {
        filter_scheduler: { enabled_filters: 'ComputeFilter,RamFilter,SameHostFilter,DifferentHostFilter' },
      });
      const [a, b] = [await insertTestInstance(c.db, { host: 'h2' }), await insertTestInstance(c.db, { host: 'h3' })];
      assert.deepEqual(await c.boot(2, { scheduler_hints: { same_host: a } }), ['h2', 'h2']);
      assert.deepEqual(await c.boot(1, { scheduler_hints: { different_host: [a, b] } }), ['h1']);
      assert.deepEqual(await c.boot(1, { scheduler_hints: { same_host: [b], different_host: [a] } }), ['h3']);
      await assert.rejects(c.boot(1, { scheduler_hints: { same_host: a, different_host: a } }), noValidHost);
      const deleted = await insertTestInstance(c.db, { host: 'h1', deleted: true });
      await assert.rejects(c.boot(1, { scheduler_hints: { same_host: deleted } }), noValidHost);
    });
  });

  describe('aggregates', () => {
    it("places a server into an aggregate's zone, found after the view was loaded", async () => {
      const c = await setup(['h1', 'h2'], { scheduler: { host_state_refresh_interval: '3600' } });
      assert.equal((await c.boot(1)).length, 1); // loads the view: both hosts in `nova`
      const rack = await createAggregate(c.db, 'rack1', 'az1');
      await addAggregateHost(c.db, rack.id, 'h2');
      assert.deepEqual(await c.boot(2, { availability_zone: 'az1' }), ['h2', 'h2']);
      assert.deepEqual(await c.boot(1, { availability_zone: 'nova' }), ['h1']);
    });

    it('AggregateInstanceExtraSpecsFilter steers a flavor onto the hosts whose aggregate metadata it asks for', async () => {
      const c = await setup(['h1', 'h2', 'h3'], {
        filter_scheduler: { enabled_filters: 'ComputeFilter,RamFilter,AggregateInstanceExtraSpecsFilter' },
      });
      const fast = await createAggregate(c.db, 'fast');
      await addAggregateHost(c.db, fast.id, 'h3');
      await setAggregateMetadata(c.db, fast.id, { ssd: 'true' });
      const flavor = { ...requestSpec().flavor, extra_specs: { 'aggregate_instance_extra_specs:ssd': 'true' } };
      assert.deepEqual(await c.boot(2, { flavor }), ['h3', 'h3']);
      const missing = { ...flavor, extra_specs: { 'aggregate_instance_extra_specs:gpu': 'true' } };
      await assert.rejects(c.boot(1, { flavor: missing }), noValidHost);
    });
  });
});
