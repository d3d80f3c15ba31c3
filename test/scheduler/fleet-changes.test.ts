/**
 * The incremental reload of the scheduler's view: after each kind of change, the reloaded view is the
 * one a full load gives, and what only changes usage, heartbeats or reports is read without a full load
 * (the hosts are then the very objects of the previous view, patched; a full load builds new ones).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadConfig, type Config } from '../../src/common/config/load-config.ts';
import type { Dialect } from '../../src/common/db/connection-url.ts';
import type { Db } from '../../src/common/db/database.ts';
import { addAggregateHost, createAggregate, setAggregateMetadata } from '../../src/objects/aggregates.ts';
import { deleteService, getService, recordHeartbeat, updateService } from '../../src/objects/services.ts';
import { claimResources, releaseAllocations, resourcesForFlavor } from '../../src/placement/claims.ts';
import { FULL_RELOAD_MS, refreshFleet } from '../../src/scheduler/fleet-changes.ts';
import { loadFleet, type Fleet } from '../../src/scheduler/host-manager.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testSpec } from '../helpers/request-spec.ts';
import { addComputeHost } from '../helpers/scheduler-fixtures.ts';

const opened: TestDatabase[] = [];

async function fleetOf(dialect: Dialect, hosts: string[]): Promise<{ db: Db; config: Config; fleet: Fleet }> {
  const database = await openTestDatabase(dialect);
  opened.push(database);
  const config = loadConfig([], {});
  for (const host of hosts) await addComputeHost(database.db, config, host);
  return { db: database.db, config, fleet: await loadFleet(database.db, config) };
}

/** Reloads, checks the result against a full load, and tells which hosts are new objects (read in full). */
async function reload(db: Db, config: Config, previous: Fleet): Promise<{ fleet: Fleet; replaced: string[] }> {
  const fleet = await refreshFleet(db, config, previous);
  const full = await loadFleet(db, config);
  assert.deepEqual(fleet.hosts, full.hosts);
  // The typed arrays were patched with the hosts: what columns built afresh from the full load hold.
  assert.deepEqual(fleet.columns, full.columns);
  const replaced = fleet.hosts.filter((h, i) => h !== previous.hosts[i]).map((h) => h.host);
  return { fleet, replaced };
}

const byHost = (fleet: Fleet, host: string) => fleet.hosts.find((h) => h.host === host)!;
const flavor = testSpec({ vcpus: 2, memory_mb: 1024, root_gb: 10 }).flavor;

// On every engine: the fingerprint's aggregates and the stamp comparisons are SQL each engine reads its way.
for (const dialect of ['sqlite', 'mysql', 'postgres'] as const)
  describe(`refreshFleet on ${dialect}`, () => {
    afterEach(async () => {
      for (const d of opened.splice(0)) await d.close();
    });

    it('patches the usage claims and releases changed, without a full load', async () => {
      const { db, config, fleet } = await fleetOf(dialect, ['a', 'b', 'c']);
      await claimResources(db, 'i1', byHost(fleet, 'b').uuid, resourcesForFlavor(flavor), 'hdd');
      let next = await reload(db, config, fleet);
      assert.deepEqual(next.replaced, []);
      assert.equal(next.fleet.fullyLoadedAt, fleet.fullyLoadedAt);
      assert.equal(byHost(next.fleet, 'b').usages['VCPU'], 2);
      assert.equal(byHost(next.fleet, 'b').storagePools['hdd']!.used, 10);

      await releaseAllocations(db, 'i1');
      next = await reload(db, config, next.fleet);
      assert.equal(byHost(next.fleet, 'b').usages['MEMORY_MB'], 0);
      assert.equal(byHost(next.fleet, 'b').storagePools['hdd']!.used, 0);
    });

    it('sees a service disabled, forced down, silent or back, and a node reporting new stats, without a full load', async () => {
      const { db, config, fleet } = await fleetOf(dialect, ['a', 'b', 'c', 'd']);
      await updateService(db, (await getService(db, 'a', 'stratus-compute')).id, { disabled: 1 });
      await updateService(db, (await getService(db, 'b', 'stratus-compute')).id, { forced_down: 1 });
      // The same report with a failed build: the node row changes, its inventories do not.
      await addComputeHost(db, config, 'd', { failedBuilds: 3 });
      const next = await reload(db, config, fleet);
      assert.deepEqual(next.replaced, []);
      assert.equal(next.fleet.fullyLoadedAt, fleet.fullyLoadedAt);
      assert.deepEqual(
        next.fleet.hosts.map((h) => [h.host, h.serviceUp, h.serviceDisabled, h.failedBuilds]),
        [
          ['a', true, true, 0],
          ['b', false, false, 0],
          ['c', true, false, 0],
          ['d', true, false, 3],
        ],
      );

      // Silent for longer than service_down_time: down, though no row changed. (0 s, below the option's
      // minimum, stands in for waiting a minute.)
      const impatient: Config = { ...config, DEFAULT: { ...config.DEFAULT, service_down_time: 0 } };
      const later = await reload(db, impatient, next.fleet);
      assert.deepEqual(later.replaced, []);
      assert.deepEqual(
        later.fleet.hosts.map((h) => h.serviceUp),
        [false, false, false, false],
      );

      // Back up: a heartbeat is enough.
      await recordHeartbeat(db, 'c', 'stratus-compute');
      const again = await reload(db, config, later.fleet);
      assert.deepEqual(again.replaced, []);
      assert.equal(byHost(again.fleet, 'c').serviceUp, true);
    });

    it('reads the fleet in full when a host is added or deleted, inventories or aggregates change', async () => {
      const { db, config, fleet } = await fleetOf(dialect, ['a', 'b']);
      const changes: [string, () => Promise<unknown>][] = [
        ['a host added', () => addComputeHost(db, config, 'c')],
        ['a host deleted', async () => deleteService(db, (await getService(db, 'b', 'stratus-compute')).id)],
        ['an inventory changed', () => addComputeHost(db, config, 'a', { memoryMb: 32768 })],
        ['a host put in a zone', async () => addAggregateHost(db, (await createAggregate(db, 'rack', 'az1')).id, 'a')],
        ['aggregate metadata set', async () => setAggregateMetadata(db, 1, { ssd: 'true' })],
      ];
      let previous = fleet;
      for (const [change, make] of changes) {
        await make();
        const next = await reload(db, config, previous);
        assert.ok(
          next.fleet.hosts.every((h) => !previous.hosts.includes(h)),
          `${change}: every host read again`,
        );
        previous = next.fleet;
      }
      assert.deepEqual(
        previous.hosts.map((h) => [h.host, h.availabilityZone, h.inventories['MEMORY_MB']!.total]),
        [
          ['a', 'az1', 32768],
          ['c', 'nova', 16384],
        ],
      );
    });

    it('reads the fleet in full when the last full load is too old, whatever changed', async () => {
      const { db, config, fleet } = await fleetOf(dialect, ['a']);
      const old = { ...fleet, fullyLoadedAt: Date.now() - FULL_RELOAD_MS };
      const next = await reload(db, config, old);
      assert.deepEqual(next.replaced, ['a']);
    });
  });
