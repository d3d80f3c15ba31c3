/**
 * The scheduler over a real (SQLite) database: compute nodes reported through upsertComputeNode with
 * inventories from the configuration, then filters, weighers, alternates, claims and NoValidHost.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import { loadConfig, type Config, type RawOverrides } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { FILTERS, WEIGHERS } from '../../src/common/config/options.ts';
import { ConfigError, NoValidHost } from '../../src/common/errors.ts';
import { updateService } from '../../src/objects/services.ts';
import { providerUsages } from '../../src/placement/providers.ts';
import { releaseAllocations, resourcesForFlavor } from '../../src/placement/claims.ts';
import {
  AvailabilityZoneFilter,
  ComputeFilter,
  CoreFilter,
  DiskFilter,
  RamFilter,
  RetryFilter,
} from '../../src/scheduler/filters/core-filters.ts';
import type { FilterRequest } from '../../src/scheduler/filters/filter.ts';
import { FILTER_FACTORIES, loadFilters } from '../../src/scheduler/filters/registry.ts';
import { loadFleet } from '../../src/scheduler/host-manager.ts';
import { HostStateCache } from '../../src/scheduler/host-state-cache.ts';
import { free } from '../../src/scheduler/host-state.ts';
import { SchedulerManager } from '../../src/scheduler/manager.ts';
import { NO_HINTS } from '../../src/scheduler/request-hints.ts';
import type { RequestSpec, Selection } from '../../src/wire/messages/request-spec.ts';
import { loadWeighers, WEIGHER_NAMES } from '../../src/scheduler/weighers/weigher.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testSpec } from '../helpers/request-spec.ts';
import { addComputeHost, assertColumnsInStep, type HostSize } from '../helpers/scheduler-fixtures.ts';

interface Cloud {
  database: TestDatabase;
  config: Config;
  scheduler: SchedulerManager;
  /** Registers a compute service for `host`, heartbeats it and reports one node named like the host. */
  addHost(host: string, size?: HostSize): Promise<void>;
  select(flavor: Partial<RequestSpec['flavor']>, uuids: string[], extra?: Partial<RequestSpec>): Promise<Selection[][]>;
  allocations(): Promise<{ consumer_id: string; resource_class: string; used: number }[]>;
}

const opened: TestDatabase[] = [];
let serial = 0;

async function cloud(overrides: RawOverrides = {}): Promise<Cloud> {
  const database = await openTestDatabase('sqlite');
  opened.push(database);
  const config = loadConfig([], overrides);
  const c: Cloud = {
    database,
    config,
    scheduler: new SchedulerManager(database, config),
    addHost: (host, size = {}) => addComputeHost(database.db, config, host, size),
    select(flavor, uuids, extra = {}) {
      return c.scheduler.selectDestinations(
        adminContext(),
        spec(flavor, { num_instances: uuids.length, ...extra }),
        uuids,
      );
    },
    allocations() {
      return database.db
        .selectFrom('allocations')
        .select(['consumer_id', 'resource_class', 'used'])
        .orderBy('id')
        .execute();
    },
  };
  return c;
}

const spec = testSpec;

const uuids = (n: number) =>
  Array.from({ length: n }, () => `00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`);
const hostsOf = (selections: Selection[][]) => selections.map((s) => s[0]!.service_host);
const noValidHost = (err: unknown) => err instanceof NoValidHost && /No valid host was found/.test(err.message);

describe('scheduler', () => {
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.close();
  });

  describe('ComputeFilter', () => {
    it('excludes hosts whose service is down, disabled or forced down', async () => {
      const c = await cloud();
      for (const h of ['up', 'stale', 'disabled', 'forced'])
        await c.addHost(h, { memoryMb: h === 'up' ? 4096 : 65536 });
      const stale = new Date(Date.now() - (c.config.DEFAULT.service_down_time + 1) * 1000).toISOString();
      await c.database.db.updateTable('services').set({ last_seen_up: stale }).where('host', '=', 'stale').execute();
      const ids = new Map(
        (await c.database.db.selectFrom('services').select(['id', 'host']).execute()).map((s) => [s.host, s.id]),
      );
      await updateService(c.database.db, ids.get('disabled')!, { disabled: 1, disabled_reason: 'test' });
      await updateService(c.database.db, ids.get('forced')!, { forced_down: 1 });

      const states = (await loadFleet(c.database.db, c.config)).hosts;
      const request: FilterRequest = {
        spec: spec({}),
        resources: resourcesForFlavor(spec({}).flavor),
        hints: NO_HINTS,
      };
      assert.deepEqual(
        states.filter((h) => ComputeFilter.passes(h, request)).map((h) => h.host),
        ['up'],
      );
      // The bigger hosts would win on RAM, but only 'up' may take instances.
      assert.deepEqual(hostsOf(await c.select({}, uuids(3))), ['up', 'up', 'up']);
    });

    it('leaves NoValidHost when every host is down', async () => {
      const c = await cloud({ DEFAULT: { service_down_time: '5' } });
      await c.addHost('old');
      const stale = new Date(Date.now() - 6000).toISOString();
      await c.database.db.updateTable('services').set({ last_seen_up: stale }).execute();
      await assert.rejects(c.select({}, uuids(1)), noValidHost);
      assert.deepEqual(await c.allocations(), []);
    });
  });

  describe('resource filters with allocation ratios and reserved amounts', () => {
    async function fits(c: Cloud, flavor: Partial<RequestSpec['flavor']>, filter: typeof RamFilter): Promise<boolean> {
      const [host] = (await loadFleet(c.database.db, c.config)).hosts;
      const s = spec(flavor);
      return filter.passes(host!, { spec: s, resources: resourcesForFlavor(s.flavor), hints: NO_HINTS });
    }

    it('RamFilter: (memory - reserved_host_memory_mb) * ram_allocation_ratio', async () => {
      const c = await cloud({ DEFAULT: { ram_allocation_ratio: '1.5', reserved_host_memory_mb: '512' } });
      await c.addHost('h', { memoryMb: 2048 });
      // Capacity floor((2048 - 512) * 1.5) = 2304 MB.
      assert.equal(await fits(c, { memory_mb: 2304 }, RamFilter), true);
      assert.equal(await fits(c, { memory_mb: 2305 }, RamFilter), false);
      assert.deepEqual(hostsOf(await c.select({ memory_mb: 768 }, uuids(3))), ['h', 'h', 'h']);
      assert.equal(await fits(c, { memory_mb: 1 }, RamFilter), false, 'full after three');
      await assert.rejects(c.select({ memory_mb: 768 }, uuids(1)), noValidHost);

      const strict = await cloud({ DEFAULT: { reserved_host_memory_mb: '512' } }); // initial ratio 1.0
      await strict.addHost('h', { memoryMb: 2048 });
      assert.equal(await fits(strict, { memory_mb: 1536 }, RamFilter), true);
      assert.equal(await fits(strict, { memory_mb: 1537 }, RamFilter), false);
    });

    it('CoreFilter: (vcpus - reserved_host_cpus) * cpu_allocation_ratio', async () => {
      const c = await cloud({ DEFAULT: { cpu_allocation_ratio: '2.0', reserved_host_cpus: '1' } });
      await c.addHost('h', { vcpus: 4 });
      assert.equal(await fits(c, { vcpus: 4 }, CoreFilter), true);
      assert.deepEqual(hostsOf(await c.select({ vcpus: 2 }, uuids(3))), ['h', 'h', 'h']);
      assert.equal(await fits(c, { vcpus: 1 }, CoreFilter), false, '(4 - 1) * 2 = 6 VCPU, all taken');
      await assert.rejects(c.select({ vcpus: 1 }, uuids(1)), noValidHost);
    });

    it('DiskFilter: (local_gb - reserved_host_disk_mb / 1024) * disk_allocation_ratio', async () => {
      const c = await cloud({ DEFAULT: { reserved_host_disk_mb: '2048', disk_allocation_ratio: '1.0' } });
      await c.addHost('h', { localGb: 10 });
      assert.equal(await fits(c, { root_gb: 8 }, DiskFilter), true);
      assert.equal(await fits(c, { root_gb: 9 }, DiskFilter), false);
      assert.equal(
        await fits(c, { root_gb: 4, ephemeral_gb: 4, swap: 1024 }, DiskFilter),
        false,
        'ephemeral and swap count too',
      );
      assert.deepEqual(hostsOf(await c.select({ root_gb: 4 }, uuids(2))), ['h', 'h']);
      await assert.rejects(c.select({ root_gb: 1 }, uuids(1)), noValidHost);
    });

    it('NoValidHost when nothing or only some instances of a request fit, with no claim left behind', async () => {
      const c = await cloud({ DEFAULT: { reserved_host_memory_mb: '0' } });
      await c.addHost('a', { memoryMb: 2048 });
      await c.addHost('b', { memoryMb: 1024 });
      await assert.rejects(c.select({ memory_mb: 4096 }, uuids(1)), noValidHost);
      assert.deepEqual(await c.allocations(), []);
      await assert.rejects(c.select({ memory_mb: 1024 }, uuids(4)), noValidHost);
      assert.deepEqual(await c.allocations(), []);
      for (const usage of (await providerUsages(c.database.db)).values()) assert.deepEqual(usage.usages, {});
      // Three do fit, spread by free RAM.
      const chosen = await c.select({ memory_mb: 1024 }, uuids(3));
      assert.deepEqual(hostsOf(chosen).sort(), ['a', 'a', 'b']);
    });
  });

  describe('AvailabilityZoneFilter and RetryFilter', () => {
    it('AvailabilityZoneFilter keeps hosts of the requested zone only', async () => {
      const c = await cloud({ DEFAULT: { default_availability_zone: 'az1' } });
      await c.addHost('h');
      const [state] = (await loadFleet(c.database.db, c.config)).hosts;
      const pass = (zone: string | null) =>
        AvailabilityZoneFilter.passes(state!, {
          spec: spec({}, { availability_zone: zone }),
          resources: {},
          hints: NO_HINTS,
        });
      assert.equal(pass(null), true);
      assert.equal(pass('az1'), true);
      assert.equal(pass('az2'), false);
      const [selection] = await c.select({}, uuids(1), { availability_zone: 'az1' });
      assert.equal(selection![0]!.availability_zone, 'az1');
      await assert.rejects(c.select({}, uuids(1), { availability_zone: 'nova' }), noValidHost);
    });

    it('RetryFilter skips the [host, node] pairs already tried', async () => {
      const c = await cloud();
      await c.addHost('a', { memoryMb: 65536 });
      await c.addHost('b');
      const [state] = (await loadFleet(c.database.db, c.config)).hosts.filter((h) => h.host === 'a');
      assert.equal(
        RetryFilter.passes(state!, {
          spec: spec({}, { ignore_hosts: [['a', 'other-node']] }),
          resources: {},
          hints: NO_HINTS,
        }),
        true,
      );
      assert.deepEqual(hostsOf(await c.select({}, uuids(1), { ignore_hosts: [['a', 'a']] })), ['b']);
      await assert.rejects(
        c.select({}, uuids(1), {
          ignore_hosts: [
            ['a', 'a'],
            ['b', 'b'],
          ],
        }),
        noValidHost,
      );
    });
  });

  describe('RAMWeigher', () => {
    async function threeHosts(multiplier: string): Promise<Cloud> {
      const c = await cloud({
        DEFAULT: { reserved_host_memory_mb: '0' },
        filter_scheduler: { ram_weight_multiplier: multiplier, weight_classes: 'RAMWeigher' },
      });
      await c.addHost('mid', { memoryMb: 4096 });
      await c.addHost('big', { memoryMb: 8192 });
      await c.addHost('small', { memoryMb: 2048 });
      return c;
    }

    it('spreads with a positive multiplier: most free RAM first, alternates in weight order', async () => {
      const c = await threeHosts('1.0');
      const [selection] = await c.select({ memory_mb: 512 }, uuids(1));
      assert.deepEqual(
        selection!.map((s) => s.service_host),
        ['big', 'mid', 'small'],
      );
      // Instances of one request spread: each choice counts the ones before it.
      const spread = await cloud({ DEFAULT: { reserved_host_memory_mb: '0' } });
      await spread.addHost('x', { memoryMb: 4096 });
      await spread.addHost('y', { memoryMb: 4096 });
      assert.deepEqual(hostsOf(await spread.select({ memory_mb: 1024 }, uuids(4))).sort(), ['x', 'x', 'y', 'y']);
    });

    it('stacks with a negative multiplier: least free RAM first', async () => {
      const c = await threeHosts('-1.0');
      const [selection] = await c.select({ memory_mb: 512 }, uuids(1));
      assert.deepEqual(
        selection!.map((s) => s.service_host),
        ['small', 'mid', 'big'],
      );
      assert.deepEqual(hostsOf(await c.select({ memory_mb: 512 }, uuids(3))), ['small', 'small', 'small']);
    });
  });

  describe('selections', () => {
    it('returns the claimed host and max_attempts - 1 unclaimed alternates', async () => {
      const c = await cloud({ scheduler: { max_attempts: '3' } });
      for (const h of ['h1', 'h2', 'h3', 'h4', 'h5']) await c.addHost(h);
      const ids = uuids(2);
      const selections = await c.select({ vcpus: 2, memory_mb: 1024, root_gb: 10 }, ids);
      assert.equal(selections.length, 2);
      for (const selection of selections) {
        assert.equal(selection.length, 3);
        assert.equal(new Set(selection.map((s) => s.compute_node_uuid)).size, 3, 'alternates are distinct hosts');
        for (const s of selection) assert.equal(s.nodename, s.service_host);
      }
      // Only the chosen host is claimed, for each instance.
      const claims = await c.allocations();
      assert.deepEqual(
        claims.map((a) => [a.consumer_id, a.resource_class, a.used]).sort(),
        ids
          .flatMap((id) => [
            [id, 'DISK_GB', 10],
            [id, 'MEMORY_MB', 1024],
            [id, 'VCPU', 2],
          ])
          .sort(),
      );
      const usages = await providerUsages(c.database.db);
      for (const selection of selections) {
        assert.ok(
          (usages.get(selection[0]!.compute_node_uuid)!.usages['MEMORY_MB'] ?? 0) >= 1024,
          'the chosen host holds the claim',
        );
        for (const alternate of selection.slice(1)) {
          if (!selections.some((other) => other[0]!.compute_node_uuid === alternate.compute_node_uuid)) {
            assert.deepEqual(usages.get(alternate.compute_node_uuid)!.usages, {}, 'alternates are not claimed');
          }
        }
      }
    });

    it('returns fewer alternates when fewer hosts pass, and none with max_attempts 1', async () => {
      const few = await cloud({ scheduler: { max_attempts: '5' } });
      await few.addHost('a');
      await few.addHost('b');
      assert.equal((await few.select({}, uuids(1)))[0]!.length, 2);
      const one = await cloud({ scheduler: { max_attempts: '1' } });
      await one.addHost('a');
      await one.addHost('b');
      assert.equal((await one.select({}, uuids(1)))[0]!.length, 1);
    });
  });

  describe('the in-memory view of the hosts', () => {
    // A long interval, so only the scheduler's own rules (not the clock) make it reload.
    const cached = { scheduler: { host_state_refresh_interval: '3600' } };
    // 512 MB left after reserved_host_memory_mb: one instance of the default 512 MB flavor.
    const oneSlot = { memoryMb: 1024 };

    it('applies its own placements at once, and reloads when no host fits in the view', async () => {
      const c = await cloud(cached);
      await c.addHost('first', oneSlot);
      assert.deepEqual(hostsOf(await c.select({}, uuids(1))), ['first']);
      // Not in the view yet: the view says 'first' is full, so the scheduler looks again before NoValidHost.
      await c.addHost('second', oneSlot);
      assert.deepEqual(hostsOf(await c.select({}, uuids(1))), ['second']);
      await assert.rejects(c.select({}, uuids(1)), noValidHost);
    });

    it('sees capacity freed behind its back once no host fits in the view', async () => {
      const c = await cloud(cached);
      await c.addHost('only', oneSlot);
      const [first] = uuids(1);
      await c.select({}, [first!]);
      await releaseAllocations(c.database.db, first!);
      assert.deepEqual(hostsOf(await c.select({}, uuids(1))), ['only']);
    });

    /** Two hosts, the view loaded, then the RAM weigher's favourite disabled behind the view's back. */
    async function favouriteDisabledAfterLoad(interval: string): Promise<Cloud> {
      const c = await cloud({ scheduler: { host_state_refresh_interval: interval } });
      await c.addHost('disabled', { memoryMb: 65536 });
      await c.addHost('enabled');
      await c.select({}, uuids(0)); // loads the view
      const id = (await c.database.db.selectFrom('services').select('id').where('host', '=', 'disabled').execute())[0]!
        .id;
      await updateService(c.database.db, id, { disabled: 1, disabled_reason: 'maintenance' });
      return c;
    }

    it('works from its view until host_state_refresh_interval has passed; 0 reads the database every time', async () => {
      for (const [interval, expected] of [
        ['3600', 'disabled'],
        ['0', 'enabled'],
      ] as const) {
        const c = await favouriteDisabledAfterLoad(interval);
        assert.deepEqual(hostsOf(await c.select({}, uuids(1))), [expected], `interval ${interval}`);
      }
    });

    it('serves a view up to twice the interval old while the next loads; an older one is waited for', async () => {
      mock.timers.enable({ apis: ['Date'], now: Date.now() });
      try {
        for (const [idleMs, expected] of [
          [15_000, 'disabled'], // 1.5 intervals: the old view, at once
          [25_000, 'enabled'], // 2.5 intervals: the new view, waited for
        ] as const) {
          const c = await favouriteDisabledAfterLoad('10');
          mock.timers.tick(idleMs);
          assert.deepEqual(hostsOf(await c.select({}, uuids(1))), [expected], `after ${idleMs} ms`);
        }
      } finally {
        mock.timers.reset();
      }
    });

    it('a claim the database refuses (another scheduler took the host) moves on, and never overcommits', async () => {
      const c = await cloud(cached);
      await c.addHost('a', oneSlot);
      await c.addHost('b', oneSlot);
      await c.select({}, uuids(0)); // loads the view: both hosts free
      const other = new SchedulerManager(c.database, c.config);
      const taken = hostsOf(await other.selectDestinations(adminContext(), spec({}), uuids(1)));
      const mine = hostsOf(await c.select({}, uuids(1)));
      assert.notDeepEqual(mine, taken, 'the stale view offered the taken host first, or the claim was not re-checked');
      await assert.rejects(c.select({}, uuids(1)), noValidHost);
      for (const usage of (await providerUsages(c.database.db)).values()) {
        if (!usage.parentUuid) assert.equal(usage.usages['MEMORY_MB'], 512);
      }
    });
    it('places concurrent requests of one scheduler on different hosts, each with its own alternates', async () => {
      const c = await cloud(cached);
      const names = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
      // One slot each, h6 the roomiest: every request's ranking differs once the others took their hosts.
      for (const [i, name] of names.entries()) await c.addHost(name, { memoryMb: 1024 + 64 * i });
      const cache = new HostStateCache(c.database.db, c.config);
      const mine = new SchedulerManager(c.database, c.config, cache);
      const select = () => mine.selectDestinations(adminContext(), spec({}), uuids(1));
      await cache.reload();
      const results = await Promise.all(names.map(select));
      assert.deepEqual(results.map((r) => r[0]![0]!.service_host).sort(), names);
      // Alternates: hosts that had room when the request was filtered, never its own, none twice.
      for (const result of results) {
        const [own, ...alternates] = result[0]!;
        const hosts = [own!, ...alternates].map((a) => a.service_host);
        assert.ok(alternates.length <= 2);
        assert.equal(new Set(hosts).size, hosts.length);
        assert.ok(hosts.every((h) => names.includes(h)));
      }
      assertColumnsInStep((await cache.view()).columns);
    });

    it('keeps its typed arrays in step with its hosts through placements, a rollback and a refused claim', async () => {
      const c = await cloud(cached);
      await c.addHost('a', oneSlot);
      await c.addHost('b', oneSlot);
      const cache = new HostStateCache(c.database.db, c.config);
      const mine = new SchedulerManager(c.database, c.config, cache);
      const select = (n: number) => mine.selectDestinations(adminContext(), spec({}, { num_instances: n }), uuids(n));
      const { columns } = await cache.view();
      const freeRam = (host: string) => columns.freeRam[columns.hosts.findIndex((h) => h.host === host)];
      assertColumnsInStep(columns, 'loaded');

      // Another scheduler takes 'a' behind this view's back: the claim there is refused, 'a' read again.
      await new SchedulerManager(c.database, c.config).selectDestinations(adminContext(), spec({}), uuids(1));
      assert.deepEqual(hostsOf(await select(1)), ['b']);
      assertColumnsInStep(columns, 'after a placement and a refused claim');
      assert.deepEqual([freeRam('a'), freeRam('b')], [0, 0]);
      assert.equal(freeRam('a'), free(columns.hosts[0]!, 'MEMORY_MB'));

      // Two instances where none fits after a release of one slot: the first is placed, then taken back.
      await releaseAllocations(c.database.db, (await c.allocations())[0]!.consumer_id);
      await assert.rejects(select(2), noValidHost);
      const view = (await cache.view()).columns;
      assertColumnsInStep(view, 'after the rollback and the reload it made');
      assertColumnsInStep(columns, 'the view the request started from');
    });
  });

  describe('filter and weigher names', () => {
    it('config validation refuses an unknown filter, naming the option', () => {
      assert.throws(
        () => loadConfig([], { filter_scheduler: { enabled_filters: 'ComputeFilter,NoSuchFilter' } }),
        (err: unknown) =>
          err instanceof ConfigError &&
          /\[filter_scheduler\] enabled_filters/.test(err.message) &&
          /NoSuchFilter/.test(err.message),
      );
      assert.throws(
        () => loadConfig([], { filter_scheduler: { weight_classes: 'RAMWeigher,NoSuchWeigher' } }),
        (err: unknown) =>
          err instanceof ConfigError &&
          /\[filter_scheduler\] weight_classes/.test(err.message) &&
          /NoSuchWeigher/.test(err.message),
      );
    });

    it('a Nova filter Stratus does not implement yet is refused with the configuration, naming the option', () => {
      assert.throws(
        () => loadConfig([], { filter_scheduler: { enabled_filters: 'ComputeFilter,NUMATopologyFilter' } }),
        (err: unknown) =>
          err instanceof ConfigError &&
          /\[filter_scheduler\] enabled_filters/.test(err.message) &&
          /unknown entry 'NUMATopologyFilter'/.test(err.message),
      );
    });

    it('the configuration accepts exactly the filters and weighers the scheduler implements', () => {
      assert.deepEqual([...FILTERS].sort(), Object.keys(FILTER_FACTORIES).sort());
      assert.deepEqual([...WEIGHERS].sort(), [...WEIGHER_NAMES].sort());
    });

    it('loadFilters and loadWeighers resolve names in order and refuse unknown ones', () => {
      const withFilters = (names: string[]) => ({
        ...loadConfig([]),
        filter_scheduler: { ...loadConfig([]).filter_scheduler, enabled_filters: names },
      });
      assert.deepEqual(
        loadFilters(withFilters(['RetryFilter', 'ComputeFilter'])).map((f) => f.name),
        ['RetryFilter', 'ComputeFilter'],
      );
      assert.throws(
        () => loadFilters(withFilters(['Bogus'])),
        (err: unknown) =>
          err instanceof ConfigError && /'Bogus' is not implemented; available: ComputeFilter/.test(err.message),
      );
      assert.deepEqual(
        loadWeighers(['CPUWeigher', 'RAMWeigher']).map((w) => w.name),
        ['CPUWeigher', 'RAMWeigher'],
      );
      assert.throws(
        () => loadWeighers(['Bogus']),
        (err: unknown) =>
          err instanceof ConfigError && /weight_classes: weigher 'Bogus' is not implemented/.test(err.message),
      );
    });
  });
});
